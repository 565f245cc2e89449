//! The OpenAPI document (generated from the handlers' annotations) and the interactive docs
//! page. Swagger UI's files are vendored in `backend/assets/swagger-ui/` and compiled into the
//! binary, so nothing is fetched at build or run time.

use axum::{
    Json,
    http::{HeaderValue, header},
    response::{Html, IntoResponse, Response},
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

use super::{
    account_admin, auth, blog, career, catalog, certificate, contract, course_admin, course_staff,
    lookup_admin, ops, purchase, report, review, submission, teacher_profile,
};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Lyceum API",
        description = "Online education: catalog, accounts and staff tools. Errors are RFC 9457 \
                       problem documents (`application/problem+json`) with a stable `code`. \
                       Authenticate with `Authorization: Bearer <token>` from register or login."
    ),
    paths(
        ops::healthz, ops::readyz, ops::metrics,
        auth::register, auth::login, auth::refresh, auth::logout, auth::me, auth::update_me,
        auth::change_password, auth::change_email,
        account_admin::list_accounts, account_admin::get_account, account_admin::create_staff,
        account_admin::set_role, account_admin::deactivate, account_admin::reactivate,
        catalog::specializations, catalog::difficulty_levels, catalog::list_courses,
        catalog::course, catalog::teachers, catalog::teacher, catalog::plans,
        teacher_profile::put_profile,
        lookup_admin::create_specialization, lookup_admin::update_specialization,
        lookup_admin::delete_specialization, lookup_admin::create_difficulty_level,
        lookup_admin::update_difficulty_level, lookup_admin::delete_difficulty_level,
        course_admin::create_course, course_admin::update_course, course_admin::delete_course,
        course_admin::add_topic, course_admin::update_topic, course_admin::delete_topic,
        course_admin::add_run, course_admin::update_run, course_admin::delete_run,
        course_staff::assign, course_staff::remove,
        purchase::create, purchase::list_own, purchase::get_one,
        purchase::pay, purchase::cancel, purchase::refund,
        review::course_reviews, review::create_review, review::update_review,
        review::delete_review, review::my_reviews,
        certificate::issue, certificate::mine, certificate::of_user, certificate::verify,
        submission::submit, submission::my_progress, submission::claim, submission::accept,
        submission::send_back, submission::get_one, submission::comment,
        submission::course_submissions,
        career::companies, career::create_company, career::update_company,
        career::tracks, career::create_track, career::update_track,
        career::applications, career::apply, career::set_status,
        blog::feed, blog::post, blog::create_post, blog::update_post, blog::delete_post,
        blog::tags,
        report::top_courses, report::revenue, report::employment, report::learning,
        openapi_json,
    ),
    components(schemas(
        crate::entity::catalog::CourseSort,
        crate::entity::course_staff::CourseRole,
    )),
    modifiers(&BearerAuth, &CommonErrors),
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

/// Answers that follow from an operation's shape rather than from its handler, added to every
/// operation that can give them (a handler's own, more specific description wins):
/// - 500 `internal` and 503 `request_timeout` (the per-route timeout): any operation;
/// - 400 `invalid_path` / `invalid_query`: a path or query parameter of the wrong type
///   (`/courses/abc`, `page=x`, an id past `i64`), rejected by the extractor before the handler;
/// - 400 `malformed_json`, 413, 415 and 422 `invalid_body`: any operation with a JSON body;
/// - 401 `missing_token` / `invalid_token` / `token_expired`: any operation with a security
///   requirement.
///
/// Schema-based fuzzing (`scripts/tests/fuzz_test.sh`) found these answers undocumented on a
/// dozen operations; deriving them here keeps new operations truthful too.
#[derive(Debug)]
struct CommonErrors;

impl CommonErrors {
    /// (status, description) pairs this operation can answer whatever its handler does.
    fn answers(op: &utoipa::openapi::path::Operation) -> Vec<(&'static str, &'static str)> {
        use utoipa::openapi::path::ParameterIn;
        let mut answers = vec![
            (
                "500",
                "Unexpected failure (`internal`); details only in the server log",
            ),
            (
                "503",
                "The database is failing over (`service_unavailable`) or the request took too \
                 long (`request_timeout`); retry after `Retry-After`",
            ),
        ];
        let typed = op
            .parameters
            .iter()
            .flatten()
            .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query));
        if op.request_body.is_some() {
            answers.extend([
                (
                    "400",
                    "Malformed JSON (`malformed_json`), or a path or query value of the wrong type",
                ),
                ("413", "Body too large (`payload_too_large`)"),
                ("415", "Body not sent as `application/json`"),
                (
                    "422",
                    "The body does not match the schema (`invalid_body`) or fails validation",
                ),
            ]);
        } else if typed {
            answers.push((
                "400",
                "A path or query value of the wrong type (`invalid_path`, `invalid_query`)",
            ));
        }
        if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
            answers.push(("401", "Missing, invalid or expired token"));
        }
        answers
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for (status, description) in Self::answers(op) {
                    op.responses
                        .responses
                        .entry(status.into())
                        .or_insert_with(|| problem(description).into());
                }
            }
        }
    }
}

/// The version of the API contract in `info.version`: a client generated from a document of
/// the same major version works with this server (docs/API.md).
pub const API_VERSION: &str = "1.4.0";

/// The document as served: the annotations, then the limits, `Location` headers and links of
/// [`contract`].
pub fn document() -> serde_json::Value {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    doc["info"]["version"] = API_VERSION.into();
    let missing = contract::apply(&mut doc);
    if !missing.is_empty() {
        tracing::error!(?missing, "OpenAPI contract entries without a target");
    }
    doc
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json() -> Json<serde_json::Value> {
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
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("document");
        assert_eq!(contract::apply(&mut doc), Vec::<String>::new());
        let password = &doc["components"]["schemas"]["RegisterRequest"]["properties"]["password"];
        assert_eq!(password["minLength"], crate::entity::user::Password::MIN);
        let run = &doc["paths"]["/api/v1/courses/{id}/runs"]["post"]["responses"]["201"];
        assert_eq!(run["links"]["UpdateRun"]["operationId"], "update_run");
        assert!(run["headers"]["Location"].is_object());
    }
}
