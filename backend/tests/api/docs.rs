//! The OpenAPI document covers every route, parameter and error answer, and the docs page
//! is served from vendored files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::spawn_app;
use reqwest::StatusCode;
use serde_json::Value;

/// Every route the router serves (method, OpenAPI path).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/me/password"),
    ("post", "/api/v1/me/email"),
    ("get", "/api/v1/me"),
    ("patch", "/api/v1/me"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users/{id}"),
    ("put", "/api/v1/users/{id}/role"),
    ("post", "/api/v1/users/{id}/deactivate"),
    ("post", "/api/v1/users/{id}/reactivate"),
    ("get", "/api/v1/specializations"),
    ("post", "/api/v1/specializations"),
    ("patch", "/api/v1/specializations/{id}"),
    ("delete", "/api/v1/specializations/{id}"),
    ("get", "/api/v1/difficulty-levels"),
    ("post", "/api/v1/difficulty-levels"),
    ("patch", "/api/v1/difficulty-levels/{id}"),
    ("delete", "/api/v1/difficulty-levels/{id}"),
    ("get", "/api/v1/plans"),
    ("get", "/api/v1/courses"),
    ("post", "/api/v1/courses"),
    ("get", "/api/v1/courses/{id}"),
    ("patch", "/api/v1/courses/{id}"),
    ("delete", "/api/v1/courses/{id}"),
    ("post", "/api/v1/courses/{id}/topics"),
    ("patch", "/api/v1/courses/{id}/topics/{topic_id}"),
    ("delete", "/api/v1/courses/{id}/topics/{topic_id}"),
    ("post", "/api/v1/courses/{id}/runs"),
    ("patch", "/api/v1/courses/{id}/runs/{run_id}"),
    ("delete", "/api/v1/courses/{id}/runs/{run_id}"),
    ("put", "/api/v1/courses/{id}/staff/{role}/{user_id}"),
    ("delete", "/api/v1/courses/{id}/staff/{role}/{user_id}"),
    ("get", "/api/v1/teachers"),
    ("get", "/api/v1/teachers/{id}"),
    ("put", "/api/v1/teachers/{id}"),
    ("get", "/api/v1/courses/{id}/reviews"),
    ("post", "/api/v1/courses/{id}/reviews"),
    ("patch", "/api/v1/reviews/{id}"),
    ("delete", "/api/v1/reviews/{id}"),
    ("get", "/api/v1/me/reviews"),
    ("post", "/api/v1/certificates"),
    ("get", "/api/v1/certificates/{serial_number}"),
    ("get", "/api/v1/me/certificates"),
    ("get", "/api/v1/users/{id}/certificates"),
    ("get", "/api/v1/career/companies"),
    ("post", "/api/v1/career/companies"),
    ("patch", "/api/v1/career/companies/{id}"),
    ("get", "/api/v1/career/tracks"),
    ("post", "/api/v1/career/tracks"),
    ("patch", "/api/v1/career/tracks/{id}"),
    ("get", "/api/v1/career/tracks/{id}/applications"),
    ("post", "/api/v1/career/tracks/{id}/applications"),
    ("patch", "/api/v1/career/applications/{id}"),
    ("get", "/api/v1/blog/posts"),
    ("post", "/api/v1/blog/posts"),
    ("get", "/api/v1/blog/posts/{id}"),
    ("patch", "/api/v1/blog/posts/{id}"),
    ("delete", "/api/v1/blog/posts/{id}"),
    ("get", "/api/v1/blog/tags"),
    ("get", "/api/v1/reports/top-courses"),
    ("get", "/api/v1/reports/revenue"),
    ("get", "/api/v1/reports/employment"),
    ("get", "/api/v1/reports/learning"),
    ("post", "/api/v1/purchases"),
    ("get", "/api/v1/purchases"),
    ("get", "/api/v1/purchases/{id}"),
    ("post", "/api/v1/purchases/{id}/pay"),
    ("post", "/api/v1/purchases/{id}/cancel"),
    ("post", "/api/v1/purchases/{id}/refund"),
    ("post", "/api/v1/courses/{id}/submissions"),
    ("get", "/api/v1/courses/{id}/submissions"),
    ("get", "/api/v1/me/courses/{id}/progress"),
    ("post", "/api/v1/review-queue/claim"),
    ("post", "/api/v1/submissions/{id}/accept"),
    ("post", "/api/v1/submissions/{id}/return"),
    ("get", "/api/v1/submissions/{id}"),
    ("post", "/api/v1/submissions/{id}/comments"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_covers_every_route_parameter_and_error() {
    let app = spawn_app("docs_openapi").await;
    let r = app.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.body;
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    let paths = doc["paths"].as_object().expect("paths");
    let documented: usize = paths
        .values()
        .map(|p| p.as_object().expect("ops").len())
        .sum();
    assert_eq!(
        documented,
        ROUTES.len(),
        "documented operations: {:?}",
        paths.keys()
    );
    // Every reference resolves (a schema used only in a path parameter is not collected by
    // utoipa unless listed in `components`; schemathesis then refuses the operation).
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    for reference in refs {
        let pointer = reference.trim_start_matches('#');
        assert!(
            doc.pointer(pointer).is_some(),
            "unresolvable reference {reference}"
        );
    }

    for (method, path) in ROUTES {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let responses = op["responses"].as_object().expect("responses");
        // Every path parameter is described.
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(|c| c == '{' || c == '}');
            let params = op["parameters"].as_array().expect("parameters");
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == name && p["in"] == "path"),
                "{method} {path}: parameter {name} undocumented"
            );
        }
        // Every /api/v1 operation documents its error answers as problem documents.
        if path.starts_with("/api/v1/") && *path != "/api/v1/openapi.json" {
            let errors: Vec<&String> = responses.keys().filter(|s| s.as_str() >= "400").collect();
            assert!(
                errors.iter().any(|s| s.as_str() == "503"),
                "{method} {path}: no 503"
            );
            assert!(
                errors.iter().any(|s| s.as_str() == "500"),
                "{method} {path}: no 500"
            );
            for status in errors {
                let content = &responses[status]["content"]["application/problem+json"];
                assert!(
                    content["schema"]["$ref"]
                        .as_str()
                        .unwrap_or("")
                        .ends_with("/Problem"),
                    "{method} {path} {status}: not a problem document"
                );
            }
        }
        // Status moves of a purchase or an account, logging out and claiming from the review
        // queue are POSTs without a body.
        let action = [
            "/review-queue/claim",
            "/pay",
            "/cancel",
            "/refund",
            "/auth/logout",
            "/deactivate",
            "/reactivate",
        ]
        .iter()
        .any(|a| path.ends_with(a));
        let writes_body = matches!(*method, "post" | "patch") && !action;
        if writes_body {
            assert!(
                op["requestBody"].is_object(),
                "{method} {path}: no request body"
            );
            assert!(responses.contains_key("422"), "{method} {path}: no 422");
            assert!(responses.contains_key("413"), "{method} {path}: no 413");
        }
        let needs_token = path.starts_with("/api/v1/me")
            || (*method != "get" && !path.starts_with("/api/v1/auth"));
        if needs_token {
            assert!(responses.contains_key("401"), "{method} {path}: no 401");
            assert!(op["security"].is_array(), "{method} {path}: no security");
        }
    }
    // The list query parameters.
    let params: Vec<&str> = doc["paths"]["/api/v1/courses"]["get"]["parameters"]
        .as_array()
        .expect("params")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for p in [
        "specialization",
        "difficulty",
        "min_price",
        "max_price",
        "q",
        "on_sale",
        "sort",
        "page",
        "page_size",
    ] {
        assert!(params.contains(&p), "{p} missing from {params:?}");
    }
    let schemes = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(schemes["scheme"], "bearer");
    for schema in [
        "Problem",
        "CourseDetail",
        "CourseSummary",
        "Plan",
        "PlanPrice",
        "User",
        "TokenResponse",
        "FieldError",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema} missing"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_is_served_from_vendored_assets() {
    let app = spawn_app("docs_page").await;
    let page = app.http.get(app.url("/docs")).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/html")
    );
    let html = page.text().await.expect("html");
    // Only local assets: nothing is loaded from another host.
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for (path, ct, min_len) in [
        ("/docs/swagger-ui-bundle.js", "text/javascript", 1_000_000),
        ("/docs/swagger-ui.css", "text/css", 100_000),
        ("/docs/init.js", "text/javascript", 100),
    ] {
        assert!(html.contains(path), "{path} not referenced");
        let r = app.http.get(app.url(path)).send().await.expect("asset");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .expect("ct")
                .starts_with(ct)
        );
        assert!(
            r.bytes().await.expect("bytes").len() >= min_len,
            "{path} too small"
        );
    }
    let init = app
        .http
        .get(app.url("/docs/init.js"))
        .send()
        .await
        .expect("init");
    assert!(
        init.text()
            .await
            .expect("js")
            .contains("/api/v1/openapi.json")
    );
    let _: Value = app.get("/api/v1/openapi.json").await.body;
    app.stop().await;
}

/// Every `$ref` value in `v`.
fn collect_refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child.as_str()) {
                    ("$ref", Some(r)) => out.push(r.to_owned()),
                    _ => collect_refs(child, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| collect_refs(i, out)),
        _ => {}
    }
}
