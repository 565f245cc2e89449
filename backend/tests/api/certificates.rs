//! Certificates against the real stack: who issues, buyers only, one per course, who lists,
//! public verification.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::fixtures::{buy, purchase, user_id};
use crate::support::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_issue_certificates_to_buyers_once_and_anyone_verifies_them() {
    let app = spawn_app("certs_issue").await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    let holder = app.register("holder@example.com").await;
    buy(&app, "holder@example.com", course).await;
    let holder_id = user_id(&app, "holder@example.com").await;
    let refunded = app.register("refunded@example.com").await;
    purchase(&app, "refunded@example.com", course, "basic", "refunded").await;
    let refunded_id = user_id(&app, "refunded@example.com").await;
    let teacher = app.staff("teacher@example.com", "teacher").await;
    let admin = app.staff("admin@example.com", "admin").await;
    let smm = app.staff("smm@example.com", "smm").await;
    let body = json!({"user_id": holder_id, "course_id": course});

    app.post("/api/v1/certificates", None, body.clone())
        .await
        .assert_problem(401, "missing_token");
    for token in [&holder, &smm] {
        app.post("/api/v1/certificates", Some(token), body.clone())
            .await
            .assert_problem(403, "forbidden");
    }
    // Only a paid purchase counts.
    let r = app
        .post(
            "/api/v1/certificates",
            Some(&teacher),
            json!({"user_id": refunded_id, "course_id": course}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "user_id");
    let r = app
        .post(
            "/api/v1/certificates",
            Some(&teacher),
            json!({"user_id": 999_999, "course_id": 999_999}),
        )
        .await;
    r.assert_problem(404, "unknown_reference");
    assert_eq!(r.body["errors"].as_array().unwrap().len(), 2);

    let r = app
        .post("/api/v1/certificates", Some(&teacher), body.clone())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let cert = r.body;
    assert_eq!(cert["user_id"], holder_id);
    assert_eq!(cert["course_id"], course);
    assert_eq!(cert["course_title"], "Rust for backend engineers");
    let serial = cert["serial_number"].as_str().unwrap().to_owned();
    assert_eq!(serial.len(), 36, "a UUID: {serial}");
    app.post("/api/v1/certificates", Some(&admin), body.clone())
        .await
        .assert_problem(409, "already_issued");

    // The holder sees it at once; staff see it; other students do not.
    let mine = app.get_as("/api/v1/me/certificates", &holder).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body["items"][0], cert);
    let own = app
        .get_as(&format!("/api/v1/users/{holder_id}/certificates"), &holder)
        .await;
    assert_eq!(own.body["items"][0], cert);
    app.get_as(
        &format!("/api/v1/users/{holder_id}/certificates"),
        &refunded,
    )
    .await
    .assert_problem(403, "forbidden");
    app.get_as("/api/v1/users/999999/certificates", &smm)
        .await
        .assert_problem(404, "not_found");
    crate::support::fixtures::replicated(&app, "certificates", 1).await;
    let staff_view = app
        .get_as(&format!("/api/v1/users/{holder_id}/certificates"), &smm)
        .await;
    assert_eq!(staff_view.status, StatusCode::OK, "{}", staff_view.body);
    assert_eq!(staff_view.body["items"][0], cert);

    // Public verification by serial number.
    let v = app.get(&format!("/api/v1/certificates/{serial}")).await;
    assert_eq!(v.status, StatusCode::OK, "{}", v.body);
    assert_eq!(v.body, cert);
    app.get("/api/v1/certificates/0b4f5a8e-8d0c-4a47-9b0e-3f1b2d6c9a11")
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/certificates/not%20a%20serial")
        .await
        .assert_problem(404, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demoted_teacher_cannot_issue_with_an_old_token() {
    let app = spawn_app("certs_demoted").await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    app.register("holder@example.com").await;
    buy(&app, "holder@example.com", course).await;
    let holder_id = user_id(&app, "holder@example.com").await;
    let teacher = app.staff("teacher@example.com", "teacher").await;
    app.sql("UPDATE users SET staff_position = 'support' WHERE email = 'teacher@example.com'")
        .await;
    app.post(
        "/api/v1/certificates",
        Some(&teacher),
        json!({"user_id": holder_id, "course_id": course}),
    )
    .await
    .assert_problem(403, "forbidden");
    assert_eq!(app.scalar_i64("SELECT count(*) FROM certificates").await, 0);
    app.stop().await;
}
