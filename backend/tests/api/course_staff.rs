//! Course staff against the real stack: who may assign whom, the position rule, idempotent
//! assignment, and the (cached) course page following every change, including a position
//! change and a deactivation elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::fixtures::user_id;
use crate::support::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The (user id, role) pairs the public course page lists.
async fn listed(app: &TestApp, course: i64) -> Vec<(i64, String)> {
    let page = app.get(&format!("/api/v1/courses/{course}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    staff_of(&page.body)
}

fn staff_of(page: &Value) -> Vec<(i64, String)> {
    page["staff"]
        .as_array()
        .expect("staff")
        .iter()
        .map(|m| {
            (
                m["user_id"].as_i64().expect("id"),
                m["role"].as_str().expect("role").to_owned(),
            )
        })
        .collect()
}

fn holds(staff: &[(i64, String)], id: i64, role: &str) -> bool {
    staff.iter().any(|(u, r)| *u == id && r == role)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_and_the_course_teacher_staff_a_course_and_its_page_follows() {
    let app = spawn_app("course_staff").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@example.com", "admin").await;
    let course = app.course_id("Rust for backend engineers").await;
    let other = app.course_id("Distributed systems").await;
    let tom = app.staff("tom@example.com", "teacher").await;
    let tom_id = user_id(&app, "tom@example.com").await;
    app.staff("mia@example.com", "mentor").await;
    let mia = user_id(&app, "mia@example.com").await;
    app.staff("rita@example.com", "reviewer").await;
    let rita = user_id(&app, "rita@example.com").await;
    // Fill the page cache before the changes.
    assert!(!holds(&listed(&app, course).await, tom_id, "teacher"));

    // An admin makes Tom a teacher of the course; again changes nothing.
    let path = format!("/api/v1/courses/{course}/staff/teacher/{tom_id}");
    for _ in 0..2 {
        let r = app.put(&path, Some(&admin), Value::Null).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let staff = staff_of(&r.body);
        assert_eq!(
            staff
                .iter()
                .filter(|(u, r)| *u == tom_id && r == "teacher")
                .count(),
            1,
            "{staff:?}"
        );
    }
    assert!(holds(&listed(&app, course).await, tom_id, "teacher"));

    // Tom manages his course's mentors and reviewers, not its teachers or other courses.
    for (role, id) in [("mentor", mia), ("reviewer", rita)] {
        let r = app
            .put(
                &format!("/api/v1/courses/{course}/staff/{role}/{id}"),
                Some(&tom),
                Value::Null,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{role}: {}", r.body);
    }
    let staff = listed(&app, course).await;
    assert!(holds(&staff, mia, "mentor") && holds(&staff, rita, "reviewer"));
    app.put(&path, Some(&tom), Value::Null)
        .await
        .assert_problem(403, "forbidden");
    app.put(
        &format!("/api/v1/courses/{other}/staff/mentor/{mia}"),
        Some(&tom),
        Value::Null,
    )
    .await
    .assert_problem(403, "forbidden");
    let mia_token = app.login("mia@example.com").await;
    app.put(
        &format!("/api/v1/courses/{course}/staff/reviewer/{rita}"),
        Some(&mia_token),
        Value::Null,
    )
    .await
    .assert_problem(403, "forbidden");

    // A person holds a course role only with the matching position.
    app.put(
        &format!("/api/v1/courses/{course}/staff/reviewer/{mia}"),
        Some(&admin),
        Value::Null,
    )
    .await
    .assert_problem(409, "conflict");
    app.register("student@example.com").await;
    let student = user_id(&app, "student@example.com").await;
    app.put(
        &format!("/api/v1/courses/{course}/staff/mentor/{student}"),
        Some(&admin),
        Value::Null,
    )
    .await
    .assert_problem(409, "conflict");

    // Tom removes Mia; removing her again is 404.
    let mia_path = format!("/api/v1/courses/{course}/staff/mentor/{mia}");
    let r = app.delete(&mia_path, Some(&tom)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!holds(&staff_of(&r.body), mia, "mentor"));
    assert!(!holds(&listed(&app, course).await, mia, "mentor"));
    app.delete(&mia_path, Some(&tom))
        .await
        .assert_problem(404, "not_found");

    // A new position ends the course roles it cannot hold, and the page follows.
    let r = app
        .put(
            &format!("/api/v1/users/{rita}/role"),
            Some(&admin),
            json!({"role": "staff", "position": "support"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!holds(&listed(&app, course).await, rita, "reviewer"));
    let kept = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM course_staff WHERE user_id = {rita}"
        ))
        .await;
    assert_eq!(kept, 0, "the reviewer role is gone, not hidden");

    // A deactivated teacher leaves the page and the teacher list, and cannot be assigned;
    // reactivated, they are back.
    let r = app
        .post(
            &format!("/api/v1/users/{tom_id}/deactivate"),
            Some(&admin),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(!holds(&listed(&app, course).await, tom_id, "teacher"));
    app.put(
        &format!("/api/v1/courses/{other}/staff/teacher/{tom_id}"),
        Some(&admin),
        Value::Null,
    )
    .await
    .assert_problem(409, "conflict");
    let r = app
        .post(
            &format!("/api/v1/users/{tom_id}/reactivate"),
            Some(&admin),
            Value::Null,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(holds(&listed(&app, course).await, tom_id, "teacher"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_course_staff_requests_are_4xx() {
    let app = spawn_app("course_staff_input").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@example.com", "admin").await;
    let course = app.course_id("Rust for backend engineers").await;
    app.staff("mia@example.com", "mentor").await;
    let mia = user_id(&app, "mia@example.com").await;
    app.put(
        &format!("/api/v1/courses/999999/staff/mentor/{mia}"),
        Some(&admin),
        Value::Null,
    )
    .await
    .assert_problem(404, "not_found");
    app.put(
        &format!("/api/v1/courses/{course}/staff/mentor/999999"),
        Some(&admin),
        Value::Null,
    )
    .await
    .assert_problem(404, "not_found");
    app.put(
        &format!("/api/v1/courses/{course}/staff/janitor/{mia}"),
        Some(&admin),
        Value::Null,
    )
    .await
    .assert_problem(400, "invalid_path");
    app.delete(
        &format!("/api/v1/courses/{course}/staff/mentor/{mia}"),
        Some(&admin),
    )
    .await
    .assert_problem(404, "not_found");
    let r = app
        .put(
            &format!("/api/v1/courses/{course}/staff/mentor/{mia}"),
            None,
            Value::Null,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}
