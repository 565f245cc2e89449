//! Purchases through the API: idempotency keys, the status machine, seats, ownership, and
//! the two races that matter (many buyers for few seats; one request sent many times).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use crate::support::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

async fn rust_run(app: &TestApp, seats: i32) -> (i64, i64) {
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    (course, app.run_with_seats(course, seats).await)
}

#[tokio::test]
async fn a_purchase_is_priced_by_the_server_and_replayed_by_its_key() {
    let app = spawn_app("purchase_basics").await;
    let (course, run) = rust_run(&app, 5).await;
    let token = app.register("buyer@example.com").await;

    // No key, a bad key, a bad body: nothing is bought.
    let r = app
        .post(
            "/api/v1/purchases",
            Some(&token),
            json!({"course_run_id": run, "plan": "basic"}),
        )
        .await;
    r.assert_problem(400, "idempotency_key_missing");
    app.buy(&token, "has space", run, "basic")
        .await
        .assert_problem(422, "validation_failed");
    let r = app.buy(&token, "k-bad", run, "gold").await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "plan");
    app.buy(&token, "k-404", 9_999_999, "basic")
        .await
        .assert_problem(404, "not_found");

    // The discounted plan takes 20 % off the course's 50000.
    let first = app.buy(&token, "key-1", run, "discounted").await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let p = &first.body;
    assert_eq!(p["final_price"], 40_000);
    assert_eq!(p["status"], "pending");
    assert_eq!(p["plan"], "discounted");
    assert_eq!(p["course_id"], course);
    assert_eq!(p["course_run_id"], run);
    assert_eq!(p["course_title"], "Rust for backend engineers");

    // Same key, same body: the same purchase, marked as a replay; no second seat.
    let again = app.buy(&token, "key-1", run, "discounted").await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body);
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    // Same key, other body: refused, nothing changes.
    app.buy(&token, "key-1", run, "basic")
        .await
        .assert_problem(422, "idempotency_key_reused");
    // Another key for the same run while holding a seat: already enrolled.
    app.buy(&token, "key-2", run, "basic")
        .await
        .assert_problem(409, "already_enrolled");
    let seats_left = format!("SELECT seats_left::bigint FROM course_runs WHERE id = {run}");
    assert_eq!(app.scalar_i64(&seats_left).await, 4);
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM purchases WHERE idempotency_key LIKE 'key-%'")
            .await,
        1
    );

    // Keys are per user: another buyer may use "key-1" too.
    let other = app.register("other@example.com").await;
    let theirs = app.buy(&other, "key-1", run, "basic").await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
    assert_ne!(theirs.body["id"], first.body["id"]);
    app.stop().await;
}

#[tokio::test]
async fn pay_cancel_refund_follow_the_status_machine_and_return_seats() {
    let app = spawn_app("purchase_states").await;
    let (_, run) = rust_run(&app, 2).await;
    let token = app.register("buyer@example.com").await;
    let seats_left = format!("SELECT seats_left::bigint FROM course_runs WHERE id = {run}");

    let a = app.buy(&token, "a", run, "basic").await.body;
    let a_id = a["id"].as_i64().unwrap();
    assert_eq!(app.scalar_i64(&seats_left).await, 1);
    // Cancel a pending purchase: the seat comes back; cancelling again is harmless.
    let r = app
        .post(
            &format!("/api/v1/purchases/{a_id}/cancel"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert!(r.body["cancelled_at"].is_string());
    let r = app
        .post(
            &format!("/api/v1/purchases/{a_id}/cancel"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(app.scalar_i64(&seats_left).await, 2, "one seat back, once");
    app.post(
        &format!("/api/v1/purchases/{a_id}/pay"),
        Some(&token),
        json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");

    // After a cancel the same run can be bought again (new key); pay, then refund.
    let b = app.buy(&token, "b", run, "career_track").await;
    assert_eq!(b.status, StatusCode::CREATED, "{}", b.body);
    let b_id = b.body["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/purchases/{b_id}/refund"),
        Some(&token),
        json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");
    let paid = app
        .post(
            &format!("/api/v1/purchases/{b_id}/pay"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(paid.body["status"], "paid");
    let paid_again = app
        .post(
            &format!("/api/v1/purchases/{b_id}/pay"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(paid_again.status, StatusCode::OK);
    assert_eq!(paid_again.body["paid_at"], paid.body["paid_at"]);
    app.post(
        &format!("/api/v1/purchases/{b_id}/cancel"),
        Some(&token),
        json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");
    assert_eq!(app.scalar_i64(&seats_left).await, 1);

    // Strangers see nothing and cannot refund; support can.
    let stranger = app.register("stranger@example.com").await;
    app.get_as(&format!("/api/v1/purchases/{b_id}"), &stranger)
        .await
        .assert_problem(404, "not_found");
    app.post(
        &format!("/api/v1/purchases/{b_id}/refund"),
        Some(&stranger),
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    let teacher = app.staff("teacher@example.com", "teacher").await;
    app.post(
        &format!("/api/v1/purchases/{b_id}/refund"),
        Some(&teacher),
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    let support = app.staff("support@example.com", "support").await;
    let seen = app
        .get_as(&format!("/api/v1/purchases/{b_id}"), &support)
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    let refunded = app
        .post(
            &format!("/api/v1/purchases/{b_id}/refund"),
            Some(&support),
            json!({}),
        )
        .await;
    assert_eq!(refunded.status, StatusCode::OK, "{}", refunded.body);
    assert_eq!(refunded.body["status"], "refunded");
    assert!(refunded.body["paid_at"].is_string() && refunded.body["refunded_at"].is_string());
    assert_eq!(app.scalar_i64(&seats_left).await, 2);

    // The buyer's list: newest first, only their own.
    let list = app.get_as("/api/v1/purchases?page_size=1", &token).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.body["items"][0]["id"], b_id);
    assert_eq!(list.body["has_more"], true);
    let all = app.get_as("/api/v1/purchases", &token).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    let none = app.get_as("/api/v1/purchases", &stranger).await;
    assert_eq!(none.body["items"], json!([]));
    app.get_as("/api/v1/purchases?page_size=101", &token)
        .await
        .assert_problem(422, "validation_failed");
    app.get("/api/v1/purchases")
        .await
        .assert_problem(401, "missing_token");
    app.stop().await;
}

#[tokio::test]
async fn drafts_and_closed_runs_are_not_for_sale() {
    let app = spawn_app("purchase_closed").await;
    app.seed_catalog().await;
    let token = app.register("buyer@example.com").await;
    let closed = app
        .scalar_i64("SELECT id FROM course_runs WHERE sales_end_date < current_date")
        .await;
    app.buy(&token, "closed", closed, "basic")
        .await
        .assert_problem(409, "sales_closed");
    let draft = app.course_id("Secret draft course").await;
    let draft_run = app.run_with_seats(draft, 5).await;
    app.buy(&token, "draft", draft_run, "basic")
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.scalar_i64(
            "SELECT count(*) FROM purchases WHERE idempotency_key IN ('closed', 'draft')"
        )
        .await,
        0
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_buyers_for_fifty_seats_give_exactly_fifty_purchases() {
    let app = spawn_app("purchase_race").await;
    let (_, run) = rust_run(&app, 50).await;
    let buyers = app.students("racer", 200).await;

    let mut tasks = tokio::task::JoinSet::new();
    for (user_id, token) in buyers {
        let (http, url) = (app.http.clone(), app.url("/api/v1/purchases"));
        tasks.spawn(async move {
            let resp = http
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", format!("race-{user_id}"))
                .json(&json!({"course_run_id": run, "plan": "basic"}))
                .send()
                .await
                .expect("sent");
            let status = resp.status();
            let body: serde_json::Value = resp.json().await.expect("json");
            (status, body)
        });
    }
    let results = tasks.join_all().await;
    let created: Vec<_> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .collect();
    let sold_out = results
        .iter()
        .filter(|(s, b)| *s == StatusCode::CONFLICT && b["code"] == "sold_out")
        .count();
    let others: Vec<_> = results
        .iter()
        .filter(|(s, b)| {
            !(*s == StatusCode::CREATED || (*s == StatusCode::CONFLICT && b["code"] == "sold_out"))
        })
        .collect();
    assert!(others.is_empty(), "unexpected answers: {others:?}");
    assert_eq!(created.len(), 50);
    assert_eq!(sold_out, 150);
    let ids: HashSet<i64> = created
        .iter()
        .map(|(_, b)| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 50, "fifty distinct purchases");
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT seats_left::bigint FROM course_runs WHERE id = {run}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM purchases WHERE course_run_id = {run}"
        ))
        .await,
        50
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_sent_twenty_times_at_once_buys_one_seat() {
    let app = spawn_app("purchase_same_key").await;
    let (_, run) = rust_run(&app, 10).await;
    let token = app.register("eager@example.com").await;

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (http, url, token) = (
            app.http.clone(),
            app.url("/api/v1/purchases"),
            token.clone(),
        );
        tasks.spawn(async move {
            let resp = http
                .post(url)
                .bearer_auth(token)
                .header("idempotency-key", "the-one-key")
                .json(&json!({"course_run_id": run, "plan": "basic"}))
                .send()
                .await
                .expect("sent");
            let replayed = resp.headers().contains_key("idempotent-replayed");
            (
                resp.status(),
                replayed,
                resp.json::<serde_json::Value>().await.expect("json"),
            )
        });
    }
    let results = tasks.join_all().await;
    assert!(
        results.iter().all(|(s, ..)| *s == StatusCode::CREATED),
        "{results:?}"
    );
    let ids: HashSet<i64> = results
        .iter()
        .map(|(_, _, b)| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "every answer carries the one purchase");
    assert_eq!(
        results.iter().filter(|(_, replayed, _)| !replayed).count(),
        1,
        "exactly one answer created it"
    );
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM purchases WHERE idempotency_key = 'the-one-key'")
            .await,
        1
    );
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT seats_left::bigint FROM course_runs WHERE id = {run}"
        ))
        .await,
        9
    );
    app.stop().await;
}
