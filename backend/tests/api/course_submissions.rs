//! A course's submission list against the real stack: who may read it, the status filter,
//! the order and the pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::submissions::{assign, claim, reviewer, rust_course};
use crate::support::fixtures::buy;
use crate::support::spawn_app;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn course_staff_list_a_course_s_submissions() {
    let app = spawn_app("course_submissions").await;
    let (course, p) = rust_course(&app).await;
    let admin = app.staff("admin@list.test", "admin").await;
    let rev = reviewer(&app, &admin, "rev@list.test", course).await;
    let mentor = app.staff("mentor@list.test", "mentor").await;
    let students = app.students("lister", 3).await;
    for (i, (_, token)) in students.iter().enumerate() {
        buy(&app, &format!("lister{i}@example.com"), course).await;
        let r = app
            .post(
                &format!("/api/v1/courses/{course}/submissions"),
                Some(token),
                json!({"project_id": p[i], "repository_url": format!("https://git.example/{i}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let held = claim(&app, &rev).await.unwrap();
    let path = format!("/api/v1/courses/{course}/submissions");

    // Not on the course's staff: a student, and a mentor of no course; no token; no course.
    app.get_as(&path, &students[0].1)
        .await
        .assert_problem(403, "forbidden");
    app.get_as(&path, &mentor)
        .await
        .assert_problem(403, "forbidden");
    app.get(&path).await.assert_problem(401, "missing_token");
    app.get_as("/api/v1/courses/999999/submissions", &admin)
        .await
        .assert_problem(404, "not_found");
    app.get_as(&format!("{path}?status=lost"), &admin)
        .await
        .assert_problem(400, "invalid_query");
    app.get_as(&format!("{path}?page_size=0"), &admin)
        .await
        .assert_problem(422, "validation_failed");

    // Assigned, the mentor reads them: newest first, filtered, in pages.
    assign(&app, &admin, course, "mentor", "mentor@list.test").await;
    let all = app.get_as(&path, &mentor).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let ids: Vec<i64> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let in_review = app.get_as(&format!("{path}?status=in_review"), &rev).await;
    assert_eq!(in_review.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(in_review.body["items"][0]["id"], held["id"]);
    let waiting = app
        .get_as(
            &format!("{path}?status=submitted&page_size=1&page=2"),
            &admin,
        )
        .await;
    assert_eq!(waiting.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(waiting.body["has_more"], Value::Bool(false));
    app.stop().await;
}
