//! Admin edits of the lookup tables: create, change and delete specializations and difficulty
//! levels; duplicates and rows in use are refused with 409, bad input with 4xx, and a rename
//! is on the cached course pages and lists at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_change_and_delete_specializations() {
    let app = spawn_app("lookups_specializations").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@lookups.test", "admin").await;

    let created = app
        .post(
            "/api/v1/specializations",
            Some(&admin),
            json!({"slug": "devops", "name": "DevOps", "description": "Pipelines"}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_i64().expect("id");
    assert_eq!(
        created.headers["location"],
        format!("/api/v1/specializations/{id}").as_str()
    );
    assert_eq!(created.body["slug"], "devops");
    let listed = app.get("/api/v1/specializations").await;
    assert!(
        listed
            .body
            .as_array()
            .expect("array")
            .iter()
            .any(|s| s["slug"] == "devops"),
        "the cached lookups were dropped: {}",
        listed.body
    );

    // Duplicates: slug, then name.
    app.post(
        "/api/v1/specializations",
        Some(&admin),
        json!({"slug": "devops", "name": "Other"}),
    )
    .await
    .assert_problem(409, "name_taken");
    app.post(
        "/api/v1/specializations",
        Some(&admin),
        json!({"slug": "other", "name": "DevOps"}),
    )
    .await
    .assert_problem(409, "name_taken");
    app.patch(
        &format!("/api/v1/specializations/{id}"),
        Some(&admin),
        json!({"slug": "backend"}),
    )
    .await
    .assert_problem(409, "name_taken");

    // Bad input.
    for body in [
        json!({"slug": "Dev Ops", "name": "x"}),
        json!({"slug": "a--b", "name": "x"}),
        json!({"slug": "ok", "name": "   "}),
        json!({"slug": "ok", "name": "x".repeat(101)}),
    ] {
        app.post("/api/v1/specializations", Some(&admin), body.clone())
            .await
            .assert_problem(422, "validation_failed");
    }
    app.post(
        "/api/v1/specializations",
        Some(&admin),
        json!({"slug": "ok", "name": "x", "extra": 1}),
    )
    .await
    .assert_problem(422, "invalid_body");
    app.patch("/api/v1/specializations/abc", Some(&admin), json!({}))
        .await
        .assert_problem(400, "invalid_path");
    app.patch(
        "/api/v1/specializations/99999999999",
        Some(&admin),
        json!({}),
    )
    .await
    .assert_problem(400, "invalid_path");
    app.patch(
        "/api/v1/specializations/999999",
        Some(&admin),
        json!({"name": "N"}),
    )
    .await
    .assert_problem(404, "not_found");

    let changed = app
        .patch(
            &format!("/api/v1/specializations/{id}"),
            Some(&admin),
            json!({"name": "Platform engineering", "description": ""}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["slug"], "devops");
    assert_eq!(changed.body["name"], "Platform engineering");
    assert_eq!(changed.body["description"], "");

    // In use by courses and a teacher profile: refused, with what uses it.
    let backend = app
        .scalar_i64("SELECT id::bigint FROM specializations WHERE slug = 'backend'")
        .await;
    let refused = app
        .delete(&format!("/api/v1/specializations/{backend}"), Some(&admin))
        .await;
    refused.assert_problem(409, "in_use");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("courses or teacher profiles use this specialization"),
        "{}",
        refused.body
    );

    let deleted = app
        .delete(&format!("/api/v1/specializations/{id}"), Some(&admin))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    app.delete(&format!("/api/v1/specializations/{id}"), Some(&admin))
        .await
        .assert_problem(404, "not_found");

    // Demoted while the token lives: the position is re-read inside the edit.
    app.sql("UPDATE users SET staff_position = 'teacher' WHERE email = 'admin@lookups.test'")
        .await;
    app.post(
        "/api/v1/specializations",
        Some(&admin),
        json!({"slug": "late", "name": "Late"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_change_and_delete_difficulty_levels() {
    let app = spawn_app("lookups_levels").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@levels.test", "admin").await;

    let created = app
        .post(
            "/api/v1/difficulty-levels",
            Some(&admin),
            json!({"code": "expert", "name": "Expert", "sort_order": 4}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.body["id"].as_i64().expect("id");
    let levels = app.get("/api/v1/difficulty-levels").await;
    let codes: Vec<&str> = levels
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|l| l["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["beginner", "intermediate", "advanced", "expert"]);

    app.post(
        "/api/v1/difficulty-levels",
        Some(&admin),
        json!({"code": "expert", "name": "Again", "sort_order": 5}),
    )
    .await
    .assert_problem(409, "name_taken");
    app.post(
        "/api/v1/difficulty-levels",
        Some(&admin),
        json!({"code": "master", "name": "Master", "sort_order": 4}),
    )
    .await
    .assert_problem(409, "name_taken");
    for body in [
        json!({"code": "2x", "name": "x", "sort_order": 5}),
        json!({"code": "ok", "name": "x", "sort_order": 0}),
        json!({"code": "ok", "name": "x", "sort_order": 1001}),
    ] {
        app.post("/api/v1/difficulty-levels", Some(&admin), body)
            .await
            .assert_problem(422, "validation_failed");
    }
    app.post(
        "/api/v1/difficulty-levels",
        Some(&admin),
        json!({"code": "ok", "name": "x", "sort_order": "high"}),
    )
    .await
    .assert_problem(422, "invalid_body");

    let changed = app
        .patch(
            &format!("/api/v1/difficulty-levels/{id}"),
            Some(&admin),
            json!({"sort_order": 10}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["sort_order"], 10);

    let beginner = app
        .scalar_i64("SELECT id::bigint FROM difficulty_levels WHERE code = 'beginner'")
        .await;
    app.delete(
        &format!("/api/v1/difficulty-levels/{beginner}"),
        Some(&admin),
    )
    .await
    .assert_problem(409, "in_use");
    let deleted = app
        .delete(&format!("/api/v1/difficulty-levels/{id}"), Some(&admin))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_is_on_cached_course_pages_and_lists_at_once() {
    let app = spawn_app("lookups_rename").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@rename.test", "admin").await;
    let course = app.course_id("Rust for backend engineers").await;
    // Cache the page and a list page.
    let page = app.get(&format!("/api/v1/courses/{course}")).await;
    assert_eq!(page.body["specialization"]["name"], "Backend development");
    let list = app.get("/api/v1/courses?specialization=backend").await;
    assert_eq!(
        list.body["items"][0]["specialization"]["name"],
        "Backend development"
    );
    assert_eq!(
        app.get(&format!("/api/v1/courses/{course}")).await.body["specialization"]["name"],
        "Backend development"
    );

    let backend = app
        .scalar_i64("SELECT id::bigint FROM specializations WHERE slug = 'backend'")
        .await;
    let level = app
        .scalar_i64("SELECT id::bigint FROM difficulty_levels WHERE code = 'intermediate'")
        .await;
    let r = app
        .patch(
            &format!("/api/v1/specializations/{backend}"),
            Some(&admin),
            json!({"slug": "server-side", "name": "Server-side development"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app
        .patch(
            &format!("/api/v1/difficulty-levels/{level}"),
            Some(&admin),
            json!({"name": "Middle"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let page = app.get(&format!("/api/v1/courses/{course}")).await;
    assert_eq!(page.body["specialization"]["slug"], "server-side");
    assert_eq!(
        page.body["specialization"]["name"],
        "Server-side development"
    );
    assert_eq!(page.body["difficulty"]["name"], "Middle");
    let list = app.get("/api/v1/courses?specialization=server-side").await;
    assert_eq!(
        list.body["items"].as_array().expect("items").len(),
        2,
        "{}",
        list.body
    );
    let old = app.get("/api/v1/courses?specialization=backend").await;
    assert_eq!(
        old.body["items"].as_array().expect("items").len(),
        0,
        "{}",
        old.body
    );
    app.stop().await;
}
