//! Teacher profile writes against the real stack: who may write, the field rules, and course
//! pages (cached) showing the new workplace and photo at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::fixtures::user_id;
use crate::support::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_and_the_teacher_write_a_profile_and_course_pages_follow() {
    let app = spawn_app("teacher_profiles").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@example.com", "admin").await;
    let course = app.course_id("Rust for backend engineers").await;
    let grace = user_id(&app, "grace@seed.test").await;
    // Fill the course page cache with the old workplace.
    let page = app.get(&format!("/api/v1/courses/{course}")).await;
    assert!(page.body.to_string().contains("US Navy"), "{}", page.body);

    let body = json!({"specialization": "backend", "workplace": "Harvard", "years_experience": 40,
                      "years_in_specialization": 30, "photo_url": "https://cdn.example/grace.png"});
    let r = app
        .put(&format!("/api/v1/teachers/{grace}"), Some(&admin), body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["workplace"], "Harvard");
    let page = app
        .get(&format!("/api/v1/courses/{course}"))
        .await
        .body
        .to_string();
    assert!(
        page.contains("Harvard") && page.contains("grace.png"),
        "{page}"
    );
    let t = app.get(&format!("/api/v1/teachers/{grace}")).await;
    assert_eq!(t.body["years_experience"], 40, "{}", t.body);

    // A new teacher creates their own profile; another teacher's is out of reach.
    let ann = app.staff("ann@example.com", "teacher").await;
    let ann_id = user_id(&app, "ann@example.com").await;
    let own = json!({"workplace": "Acme", "years_experience": 5, "years_in_specialization": 2});
    let r = app
        .put(
            &format!("/api/v1/teachers/{ann_id}"),
            Some(&ann),
            own.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["specialization"].is_null(), "{}", r.body);
    let r = app
        .put(
            &format!("/api/v1/teachers/{grace}"),
            Some(&ann),
            own.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Only teachers have profiles; unknown ids and specializations are 404.
    app.register("student@example.com").await;
    let student = user_id(&app, "student@example.com").await;
    let r = app
        .put(
            &format!("/api/v1/teachers/{student}"),
            Some(&admin),
            own.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let r = app
        .put("/api/v1/teachers/999999", Some(&admin), own.clone())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let mut unknown = own.clone();
    unknown["specialization"] = json!("basket-weaving");
    let r = app
        .put(&format!("/api/v1/teachers/{ann_id}"), Some(&ann), unknown)
        .await;
    assert_eq!(r.body["code"], "unknown_reference", "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_fields_are_validated() {
    let app = spawn_app("teacher_profile_rules").await;
    let ann = app.staff("ann@example.com", "teacher").await;
    let id = user_id(&app, "ann@example.com").await;
    let base = json!({"workplace": "Acme", "years_experience": 5, "years_in_specialization": 2});
    for (field, value) in [
        ("photo_url", json!("ftp://cdn.example/p.png")),
        ("photo_url", json!("javascript:alert(1)")),
        ("years_in_specialization", json!(6)),
        ("years_experience", json!(-1)),
        ("years_experience", json!(1000)),
        ("workplace", json!("  ")),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let r = app
            .put(&format!("/api/v1/teachers/{id}"), Some(&ann), body)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            r.body
        );
    }
    let r = app.put(&format!("/api/v1/teachers/{id}"), None, base).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}
