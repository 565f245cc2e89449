//! The service shell against the real stack: health, readiness, metrics by route template,
//! request ids, problem details for every kind of bad request, the request timeout, and
//! graceful shutdown (the command line is tested in the `binary` test binary).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::support::{spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_by_route_template() {
    let app = spawn_app("skeleton_health").await;
    let r = app.get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
    let r = app.get("/readyz").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "ready");

    app.get("/api/v1/courses/424242")
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/courses?page_size=5").await;

    let text = app.metrics().await;
    assert!(
        text.contains(r#"lyceum_http_requests_total{method="GET",route="/api/v1/courses/{id}",status="404"} 1"#),
        "{text}"
    );
    assert!(!text.contains("424242"), "raw paths never become labels");
    for needle in [
        r#"lyceum_http_request_duration_seconds_bucket{method="GET",route="/api/v1/courses""#,
        "lyceum_http_requests_in_flight",
        r#"lyceum_db_pool_connections{pool="read",state="idle"}"#,
        r#"lyceum_db_operation_duration_seconds_count{pool="read"}"#,
        r#"lyceum_db_pool_max_size{pool="write"}"#,
        r#"lyceum_cache_lookups_total{kind="course_list",result="miss"}"#,
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_a_request_id() {
    let app = spawn_app("skeleton_reqid").await;
    let resp = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("sent");
    let generated = resp.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let resp = app
        .http
        .get(app.url("/no/such/route"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.headers()["x-request-id"], "trace-me-123");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["request_id"], "trace-me-123");
    assert_eq!(body["instance"], "/no/such/route");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_methods_and_ids_get_problem_details() {
    let app = spawn_app("skeleton_routes").await;
    app.get("/nope")
        .await
        .assert_problem(404, "route_not_found");
    app.delete("/api/v1/specializations", None)
        .await
        .assert_problem(405, "method_not_allowed");
    app.get("/api/v1/courses/abc")
        .await
        .assert_problem(400, "invalid_path");
    app.get("/api/v1/courses?page=zero")
        .await
        .assert_problem(400, "invalid_query");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bodies_get_precise_client_errors() {
    let app = spawn_app_with("skeleton_bodies", |c| c.http.body_limit_bytes = 1024).await;
    let send = |body: String, content_type: Option<&'static str>| {
        let mut req = app.http.post(app.url("/api/v1/auth/login")).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        async move {
            let resp = req.send().await.expect("sent");
            let status = resp.status();
            let ct = resp.headers()["content-type"]
                .to_str()
                .expect("ascii")
                .to_owned();
            let body: serde_json::Value = resp.json().await.expect("problem json");
            (status, ct, body)
        }
    };
    let json_ct = Some("application/json");

    let (status, ct, body) = send("{\"email\": ".into(), json_ct).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("malformed_json"))
    );
    assert_eq!(ct, "application/problem+json");

    let (status, _, body) = send(r#"{"email": 5, "password": "x"}"#.into(), json_ct).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (422, Some("invalid_body")),
        "{body}"
    );
    assert!(
        body["detail"].as_str().unwrap_or("").contains("email"),
        "{body}"
    );

    let (status, _, body) = send(r#"{"email": "a@b.c"}"#.into(), json_ct).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (422, Some("invalid_body")),
        "missing field: {body}"
    );

    let (status, _, body) = send(
        r#"{"email": "a@b.c", "password": "x", "admin": true}"#.into(),
        json_ct,
    )
    .await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (422, Some("invalid_body")),
        "unknown field: {body}"
    );

    let (status, _, body) = send(r#"{"email": "a@b.c", "password": "x"}"#.into(), None).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );

    let big = format!(
        r#"{{"email": "a@b.c", "password": "{}"}}"#,
        "x".repeat(4096)
    );
    let (status, _, body) = send(big, json_ct).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (413, Some("payload_too_large"))
    );

    // Out-of-range values: valid JSON, valid types, invalid content.
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"email": "not-an-email", "password": "short", "first_name": " ",
                   "last_name": "L", "birth_date": "2999-01-01"}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for f in ["email", "password", "first_name", "birth_date"] {
        assert!(fields.contains(&f), "{f} missing in {fields:?}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_takes_too_long_is_answered_503() {
    let app = spawn_app_with("skeleton_timeout", |c| c.http.request_timeout_ms = 1).await;
    // The first catalog read must open a database connection, which takes well over 1 ms.
    let r = app.get("/api/v1/courses").await;
    r.assert_problem(503, "request_timeout");
    assert_eq!(r.headers["retry-after"], "1");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_in_flight_requests_finish() {
    // Expensive hashes make the login last long enough to be in flight when we stop.
    let app = spawn_app_with("skeleton_drain", |c| {
        c.auth.argon2_memory_kib = 64 * 1024;
        c.auth.argon2_iterations = 3;
    })
    .await;
    let url = app.url("/api/v1/auth/login");
    let http = app.http.clone();
    let in_flight = tokio::spawn(async move {
        http.post(url)
            .json(&json!({"email": "nobody@example.com", "password": "whatever-it-is"}))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(60)).await;
    let started = std::time::Instant::now();
    let crate::support::TestApp {
        app: running,
        database,
        base,
        http,
        ..
    } = app;
    running.stop().await.expect("graceful stop");
    let resp = in_flight
        .await
        .expect("task")
        .expect("the in-flight request was answered");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(started.elapsed() < Duration::from_secs(15));
    // And the listener is closed.
    assert!(http.get(format!("{base}/healthz")).send().await.is_err());
    database.drop_now().await;
}
