//! The OpenAPI document (the handlers' annotations, collected by the one list of operations,
//! [`super::operations`]) and the interactive docs page. Swagger UI's files are vendored in
//! `backend/assets/swagger-ui/` and compiled into the binary, so nothing is fetched at build or
//! run time.

use std::sync::LazyLock;

use axum::{
    Json,
    http::{HeaderValue, header},
    response::{Html, IntoResponse, Response},
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{contract, responses::CommonErrors};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Lyceum API",
        description = "Online education: catalog, accounts and staff tools. Errors are RFC 9457 \
                       problem documents (`application/problem+json`) with a stable `code`. \
                       Authenticate with `Authorization: Bearer <token>` from register or login."
    ),
    components(schemas(
        crate::entity::catalog::CourseSort,
        crate::entity::course_staff::CourseRole,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and access tokens"),
        (name = "accounts", description = "Account administration by admins: staff, roles, deactivation"),
        (name = "catalog", description = "Public catalog reads (cached)"),
        (name = "staff", description = "Catalog edits by admins and teachers; course staff; lookup edits by admins; teacher profiles"),
        (name = "purchases", description = "Buying course runs (idempotent), paying, cancelling, refunding"),
        (name = "reviews", description = "Course reviews by buyers"),
        (name = "certificates", description = "Certificates: issue, list, verify"),
        (name = "learning", description = "Project submissions, progress, and the review queue"),
        (name = "career", description = "Career center: partner companies, tracks, job applications"),
        (name = "blog", description = "Blog posts and tags"),
        (name = "reports", description = "Staff reports (cached)"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The version of the API contract in `info.version`: a client generated from a document of
/// the same major version works with this server (docs/API.md).
pub const API_VERSION: &str = "1.5.0";

/// The document as served: the operations' annotations with the common error answers, then
/// the limits, `Location` headers and links of [`contract`]. Built once: it depends only on
/// the code.
pub fn document() -> &'static serde_json::Value {
    static DOCUMENT: LazyLock<serde_json::Value> = LazyLock::new(|| {
        let mut doc = annotated();
        doc["info"]["version"] = API_VERSION.into();
        let missing = contract::apply(&mut doc);
        if !missing.is_empty() {
            tracing::error!(?missing, "OpenAPI contract entries without a target");
        }
        doc
    });
    &DOCUMENT
}

/// The operations' annotations with the common error answers, before [`contract`].
fn annotated() -> serde_json::Value {
    let mut api = super::operations().into_openapi();
    CommonErrors.modify(&mut api);
    serde_json::to_value(api).unwrap_or_default()
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json() -> Json<&'static serde_json::Value> {
    Json(document())
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Lyceum API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
"##;

const INIT: &str = r##"window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true
  });
};
"##;

static CSS: &str = include_str!("../../assets/swagger-ui/swagger-ui.css");
static BUNDLE: &str = include_str!("../../assets/swagger-ui/swagger-ui-bundle.js");

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

pub async fn page() -> Html<&'static str> {
    Html(PAGE)
}

pub async fn init_js() -> Response {
    asset(INIT, "text/javascript; charset=utf-8")
}

pub async fn css() -> Response {
    asset(CSS, "text/css; charset=utf-8")
}

pub async fn bundle_js() -> Response {
    asset(BUNDLE, "text/javascript; charset=utf-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_contract_entry_finds_its_target() {
        let mut doc = annotated();
        assert_eq!(contract::apply(&mut doc), Vec::<String>::new());
        let password = &doc["components"]["schemas"]["RegisterRequest"]["properties"]["password"];
        assert_eq!(password["minLength"], crate::entity::user::Password::MIN);
        let run = &doc["paths"]["/api/v1/courses/{id}/runs"]["post"]["responses"]["201"];
        assert_eq!(run["links"]["UpdateRun"]["operationId"], "update_run");
        assert!(run["headers"]["Location"].is_object());
    }
}
