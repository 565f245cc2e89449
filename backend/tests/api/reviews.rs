//! Reviews against the real stack: buyers only, one per course, author-only edits, admin
//! moderation, pagination, and the course page and lists showing a review at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::fixtures::{buy, purchase};
use crate::support::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_reviews_once_and_sees_it_everywhere_at_once() {
    let app = spawn_app("reviews_happy").await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    let token = app.register("ada@example.com").await;
    buy(&app, "ada@example.com", course).await;

    // Warm the course page cache: the review must replace it, not wait for its TTL.
    let before = app.get(&format!("/api/v1/courses/{course}")).await;
    assert_eq!(before.body["stats"]["review_count"], 2, "{}", before.body);

    let r = app
        .post(
            &format!("/api/v1/courses/{course}/reviews"),
            Some(&token),
            json!({"rating": 3, "body": "  Solid, a bit fast  "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let review = r.body;
    assert_eq!(review["rating"], 3);
    assert_eq!(review["body"], "Solid, a bit fast");
    assert_eq!(review["course_id"], course);
    assert_eq!(review["author_name"], "Ada Lovelace");
    for field in ["id", "user_id", "created_at", "updated_at"] {
        assert!(!review[field].is_null(), "{field} missing: {review}");
    }

    // The very next reads show it: the author's list, the course's list, the course page.
    let mine = app.get_as("/api/v1/me/reviews", &token).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.body["items"][0]["id"], review["id"]);
    let list = app.get(&format!("/api/v1/courses/{course}/reviews")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(list.body["items"][0]["id"], review["id"], "newest first");
    let page = app.get(&format!("/api/v1/courses/{course}")).await;
    assert_eq!(page.body["stats"]["review_count"], 3);
    let avg = page.body["stats"]["average_rating"].as_f64().unwrap();
    assert!((avg - 4.0).abs() < 1e-9, "(5 + 4 + 3) / 3, got {avg}");

    // One review per course.
    app.post(
        &format!("/api/v1/courses/{course}/reviews"),
        Some(&token),
        json!({"rating": 5}),
    )
    .await
    .assert_problem(409, "already_reviewed");
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM reviews WHERE course_id = {course}"
        ))
        .await,
        3
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_buyers_with_a_paid_purchase_review_and_bad_input_is_rejected() {
    let app = spawn_app("reviews_rules").await;
    app.seed_catalog().await;
    let rust = app.course_id("Rust for backend engineers").await;
    let draft = app.course_id("Secret draft course").await;
    let visitor = app.register("visitor@example.com").await;
    let refunded = app.register("refunded@example.com").await;
    purchase(&app, "refunded@example.com", rust, "basic", "refunded").await;
    let pending = app.register("pending@example.com").await;
    purchase(&app, "pending@example.com", rust, "basic", "pending").await;
    let buyer = app.register("buyer@example.com").await;
    buy(&app, "buyer@example.com", rust).await;
    let path = format!("/api/v1/courses/{rust}/reviews");
    let body = json!({"rating": 4, "body": "ok"});

    app.post(&path, None, body.clone())
        .await
        .assert_problem(401, "missing_token");
    for token in [&visitor, &refunded, &pending] {
        app.post(&path, Some(token), body.clone())
            .await
            .assert_problem(403, "not_a_buyer");
    }
    app.post("/api/v1/courses/999999/reviews", Some(&buyer), body.clone())
        .await
        .assert_problem(404, "not_found");
    app.post(
        &format!("/api/v1/courses/{draft}/reviews"),
        Some(&buyer),
        body.clone(),
    )
    .await
    .assert_problem(404, "not_found");
    app.get(&format!("/api/v1/courses/{draft}/reviews"))
        .await
        .assert_problem(404, "not_found");
    let r = app
        .post(
            &path,
            Some(&buyer),
            json!({"rating": 6, "body": "x".repeat(10_001)}),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    let fields: Vec<&str> = r.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["rating", "body"]);
    app.post(&path, Some(&buyer), json!({"rating": "five"}))
        .await
        .assert_problem(422, "invalid_body");
    app.post(&path, Some(&buyer), json!({"rating": 4, "stars": 4}))
        .await
        .assert_problem(422, "invalid_body");
    app.get("/api/v1/courses/abc/reviews")
        .await
        .assert_problem(400, "invalid_path");
    app.get(&format!("{path}?page_size=101"))
        .await
        .assert_problem(422, "validation_failed");
    app.get_as("/api/v1/me/reviews?page=0", &buyer)
        .await
        .assert_problem(422, "validation_failed");
    // Nothing was written by the refused requests.
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM reviews WHERE course_id = {rust}"
        ))
        .await,
        2
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_author_edits_and_the_author_or_an_admin_deletes() {
    let app = spawn_app("reviews_owner").await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    let author = app.register("author@example.com").await;
    let other = app.register("other@example.com").await;
    buy(&app, "author@example.com", course).await;
    buy(&app, "other@example.com", course).await;
    let admin = app.staff("admin@example.com", "admin").await;
    let teacher = app.staff("teacher@example.com", "teacher").await;
    let r = app
        .post(
            &format!("/api/v1/courses/{course}/reviews"),
            Some(&author),
            json!({"rating": 2, "body": "meh"}),
        )
        .await;
    let id = r.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/reviews/{id}");

    for token in [&other, &admin, &teacher] {
        app.patch(&path, Some(token), json!({"rating": 1}))
            .await
            .assert_problem(403, "forbidden");
    }
    for token in [&other, &teacher] {
        app.delete(&path, Some(token))
            .await
            .assert_problem(403, "forbidden");
    }
    app.patch(&path, None, json!({"rating": 1}))
        .await
        .assert_problem(401, "missing_token");
    app.patch(
        "/api/v1/reviews/999999",
        Some(&author),
        json!({"rating": 1}),
    )
    .await
    .assert_problem(404, "not_found");
    app.patch(&path, Some(&author), json!({"rating": 0}))
        .await
        .assert_problem(422, "validation_failed");

    let r = app.patch(&path, Some(&author), json!({"rating": 5})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["rating"], 5);
    assert_eq!(r.body["body"], "meh", "absent fields stay");
    let mine = app.get_as("/api/v1/me/reviews", &author).await;
    assert_eq!(mine.body["items"][0]["rating"], 5);
    let page = app.get(&format!("/api/v1/courses/{course}")).await;
    let avg = page.body["stats"]["average_rating"].as_f64().unwrap();
    assert!(
        (avg - 14.0 / 3.0).abs() < 1e-9,
        "(5 + 4 + 5) / 3, got {avg}"
    );

    // The author deletes their own; an admin deletes anyone's.
    let own = app.delete(&path, Some(&author)).await;
    assert_eq!(own.status, StatusCode::NO_CONTENT);
    app.delete(&path, Some(&author))
        .await
        .assert_problem(404, "not_found");
    let r = app
        .post(
            &format!("/api/v1/courses/{course}/reviews"),
            Some(&other),
            json!({"rating": 1, "body": "spam"}),
        )
        .await;
    let spam = r.body["id"].as_i64().unwrap();
    let moderated = app
        .delete(&format!("/api/v1/reviews/{spam}"), Some(&admin))
        .await;
    assert_eq!(moderated.status, StatusCode::NO_CONTENT);
    let page = app.get(&format!("/api/v1/courses/{course}")).await;
    assert_eq!(
        page.body["stats"]["review_count"], 2,
        "back to the seeded two"
    );

    // An admin demoted after login loses moderation at once.
    let r = app
        .post(
            &format!("/api/v1/courses/{course}/reviews"),
            Some(&other),
            json!({"rating": 3}),
        )
        .await;
    let again = r.body["id"].as_i64().unwrap();
    app.sql("UPDATE users SET staff_position = 'mentor' WHERE email = 'admin@example.com'")
        .await;
    app.delete(&format!("/api/v1/reviews/{again}"), Some(&admin))
        .await
        .assert_problem(403, "forbidden");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn review_lists_paginate_newest_first() {
    let app = spawn_app("reviews_pages").await;
    app.seed_catalog().await;
    let course = app.course_id("Python data analysis").await;
    app.sql("INSERT INTO course_runs (course_id, start_date, sales_end_date, seats_total, seats_left) \
             SELECT id, current_date + 10, current_date + 5, 50, 50 FROM courses WHERE title = 'Python data analysis'")
        .await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let email = format!("p{i}@example.com");
        let token = app.register(&email).await;
        buy(&app, &email, course).await;
        let r = app
            .post(
                &format!("/api/v1/courses/{course}/reviews"),
                Some(&token),
                json!({"rating": 1 + i}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        ids.push(r.body["id"].as_i64().unwrap());
    }
    ids.reverse();
    let mut seen = Vec::new();
    for page in 1..=3 {
        let r = app
            .get(&format!(
                "/api/v1/courses/{course}/reviews?page={page}&page_size=2"
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["page"], page);
        assert_eq!(r.body["page_size"], 2);
        assert_eq!(r.body["has_more"], page < 3);
        seen.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap()),
        );
    }
    assert_eq!(seen, ids, "every review once, newest first");
    app.stop().await;
}
