//! The reports' rollups stay equal to the rows they sum through every kind of write: the
//! revenue rollup (migration V10) to the paid purchases, the ratings rollup (V11) to the
//! reviews, the hires rollup (V13) to the hired applications. Writes: the API's, several rows in one statement, changed values, a deleted row, a
//! cascade, a truncate; and the check notices a write the triggers did not see. (The seeder's
//! COPY is the other insert path: `reports.rs` compares the reports with raw rows after
//! seeding.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

/// Rows where a rollup and the raw rows it sums disagree, counted from both sides (a changed
/// group counts twice); a rollup row whose rows are all gone (0 and 0) is no disagreement.
fn mismatches(raw: &str, rollup: &str) -> String {
    format!(
        "WITH raw AS ({raw}), rollup AS ({rollup}) \
         SELECT count(*) FROM ((SELECT * FROM raw EXCEPT SELECT * FROM rollup) \
                               UNION ALL (SELECT * FROM rollup EXCEPT SELECT * FROM raw)) AS d"
    )
}

fn revenue_mismatches() -> String {
    mismatches(
        "SELECT date_trunc('month', p.paid_at AT TIME ZONE 'UTC')::date, r.course_id, \
                sum(p.final_price)::bigint, count(*) \
         FROM purchases p JOIN course_runs r ON r.id = p.course_run_id \
         WHERE p.status = 'paid' GROUP BY 1, 2",
        "SELECT month, course_id, revenue, purchases FROM revenue_by_course_month \
         WHERE purchases <> 0 OR revenue <> 0",
    )
}

fn rating_mismatches() -> String {
    mismatches(
        "SELECT course_id, sum(rating)::bigint, count(*) FROM reviews GROUP BY 1",
        "SELECT course_id, rating_sum, review_count FROM course_rating \
         WHERE review_count <> 0 OR rating_sum <> 0",
    )
}

fn hires_mismatches() -> String {
    mismatches(
        "SELECT t.course_id, a.company_id, count(*) FROM job_applications a \
         JOIN career_tracks t ON t.id = a.career_track_id WHERE a.status = 'hired' GROUP BY 1, 2",
        "SELECT course_id, company_id, hired FROM hires_by_course_company WHERE hired <> 0",
    )
}

async fn assert_rollup_exact(app: &TestApp, after: &str) {
    assert_eq!(
        app.scalar_i64(&hires_mismatches()).await,
        0,
        "hires, after {after}"
    );
    assert_eq!(
        app.scalar_i64(&revenue_mismatches()).await,
        0,
        "revenue, after {after}"
    );
    assert_eq!(
        app.scalar_i64(&rating_mismatches()).await,
        0,
        "ratings, after {after}"
    );
}

/// Paid purchases of `course` according to the rollup, all months.
async fn rolled_up(app: &TestApp, course: i64) -> i64 {
    app.scalar_i64(&format!(
        "SELECT coalesce(sum(purchases), 0)::bigint FROM revenue_by_course_month \
         WHERE course_id = {course}"
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_revenue_rollup_equals_the_paid_purchases_after_every_write() {
    let app = spawn_app("revenue_rollup").await;
    app.seed_catalog().await;
    assert_rollup_exact(&app, "the catalog's seed SQL").await;
    let course = app.course_id("Rust for backend engineers").await;
    let run = app.run_with_seats(course, 20).await;

    // Through the API: six purchases, five paid (a pending one is no revenue).
    for (i, (_, token)) in app.students("rollup", 6).await.iter().enumerate() {
        let bought = app.buy(token, &format!("rollup-{i}"), run, "basic").await;
        assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.body);
        if i < 5 {
            let id = bought.body["id"].as_i64().unwrap();
            let paid = app
                .post(
                    &format!("/api/v1/purchases/{id}/pay"),
                    Some(token),
                    json!({}),
                )
                .await;
            assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
        }
    }
    // (the seed's two paid purchases of the course, and these five)
    assert_eq!(rolled_up(&app, course).await, 7);
    assert_rollup_exact(&app, "buying and paying through the API").await;

    let paid = |pick: &str| {
        format!(
            "(SELECT {pick}(id) FROM purchases WHERE status = 'paid' AND course_run_id = {run})"
        )
    };
    // Two refunds in one statement.
    app.sql(&format!(
        "UPDATE purchases SET status = 'refunded', refunded_at = now() WHERE id IN ({}, {})",
        paid("min"),
        paid("max")
    ))
    .await;
    assert_eq!(rolled_up(&app, course).await, 5);
    assert_rollup_exact(&app, "two refunds in one statement").await;
    // A changed price, and a payment moved to an earlier month (a second rollup row).
    app.sql(&format!(
        "UPDATE purchases SET final_price = final_price + 100 WHERE id = {}",
        paid("min")
    ))
    .await;
    app.sql(&format!(
        "UPDATE purchases SET paid_at = paid_at - interval '40 days' WHERE id = {}",
        paid("max")
    ))
    .await;
    assert_rollup_exact(&app, "a changed price and a moved payment").await;
    let months = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM revenue_by_course_month WHERE course_id = {course} AND purchases > 0"
        ))
        .await;
    assert_eq!(months, 2, "the moved payment is in its own month");
    // A paid purchase deleted (an operator's SQL).
    app.sql(&format!("DELETE FROM purchases WHERE id = {}", paid("max")))
        .await;
    assert_eq!(rolled_up(&app, course).await, 4);
    assert_rollup_exact(&app, "a deleted purchase").await;

    // The check can fail: a refund with the update trigger switched off is a mismatch.
    app.sql(&format!(
        "ALTER TABLE purchases DISABLE TRIGGER purchases_revenue_update; \
         UPDATE purchases SET status = 'refunded', refunded_at = now() WHERE id = {}; \
         ALTER TABLE purchases ENABLE TRIGGER purchases_revenue_update",
        paid("min")
    ))
    .await;
    // (its month and run then disagree from both sides: two rows)
    assert_eq!(
        app.scalar_i64(&revenue_mismatches()).await,
        2,
        "a write the triggers missed"
    );

    // TRUNCATE (the seeder's reset) empties the rollup with the table.
    app.sql("TRUNCATE purchases CASCADE").await;
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM revenue_by_course_month")
            .await,
        0
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ratings_rollup_equals_the_reviews_after_every_write() {
    let app = spawn_app("rating_rollup").await;
    app.seed_catalog().await;
    assert_rollup_exact(
        &app,
        "the catalog's seed SQL (two reviews in one statement)",
    )
    .await;
    let course = app.course_id("Rust for backend engineers").await;
    let run = app.run_with_seats(course, 20).await;

    // Through the API: two buyers review the course; one changes the rating, one deletes.
    let mut reviews = Vec::new();
    for (i, (_, token)) in app.students("rater", 2).await.iter().enumerate() {
        let bought = app.buy(token, &format!("rater-{i}"), run, "basic").await;
        let id = bought.body["id"].as_i64().unwrap();
        app.post(
            &format!("/api/v1/purchases/{id}/pay"),
            Some(token),
            json!({}),
        )
        .await;
        let review = app
            .post(
                &format!("/api/v1/courses/{course}/reviews"),
                Some(token),
                json!({"rating": 2 + i, "body": "rollup"}),
            )
            .await;
        assert_eq!(review.status, StatusCode::CREATED, "{}", review.body);
        reviews.push((review.body["id"].as_i64().unwrap(), token.clone()));
    }
    assert_rollup_exact(&app, "two reviews through the API").await;
    let (first, first_token) = &reviews[0];
    let changed = app
        .patch(
            &format!("/api/v1/reviews/{first}"),
            Some(first_token),
            json!({"rating": 1}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let (second, second_token) = &reviews[1];
    let deleted = app
        .delete(&format!("/api/v1/reviews/{second}"), Some(second_token))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_rollup_exact(
        &app,
        "a changed rating and a deleted review through the API",
    )
    .await;
    let count = app
        .scalar_i64(&format!(
            "SELECT review_count FROM course_rating WHERE course_id = {course}"
        ))
        .await;
    assert_eq!(count, 3);

    // Several rows in one statement, a text-only change, and a course deleted with its
    // reviews (a cascade).
    let draft = app.course_id("Secret draft course").await;
    app.sql(&format!(
        "INSERT INTO reviews (user_id, course_id, rating, body) \
           SELECT id, {draft}, 3, 'draft' FROM users WHERE email LIKE '%@seed.test'; \
         UPDATE reviews SET rating = 6 - rating WHERE course_id = {course}; \
         UPDATE reviews SET body = 'edited' WHERE course_id = {course}"
    ))
    .await;
    assert_rollup_exact(&app, "several rows per statement").await;
    app.sql(&format!("DELETE FROM courses WHERE id = {draft}"))
        .await;
    assert_rollup_exact(&app, "a course deleted with its reviews").await;

    // The check can fail: a review written with the insert trigger switched off.
    app.sql(&format!(
        "ALTER TABLE reviews DISABLE TRIGGER reviews_rating_insert; \
         INSERT INTO reviews (user_id, course_id, rating) \
           SELECT id, {course}, 5 FROM users WHERE email = 'grace@seed.test'; \
         ALTER TABLE reviews ENABLE TRIGGER reviews_rating_insert"
    ))
    .await;
    assert_eq!(
        app.scalar_i64(&rating_mismatches()).await,
        2,
        "a write the triggers missed"
    );

    app.sql("TRUNCATE reviews").await;
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM course_rating").await,
        0
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hires_rollup_equals_the_hired_applications_after_every_write() {
    let app = spawn_app("hires_rollup").await;
    app.seed_catalog().await;
    // Two companies, a career track for each seeded buyer, four applications each.
    app.sql(
        "INSERT INTO partner_companies (short_name, legal_name) VALUES ('A', 'A Ltd'), ('B', 'B Ltd'); \
         INSERT INTO career_tracks (user_id, course_id, support_start) \
           SELECT u.id, c.id, current_date FROM users u, courses c \
           WHERE u.email LIKE 'buyer%@seed.test' AND c.title = 'Rust for backend engineers'; \
         INSERT INTO job_applications (career_track_id, company_id) \
           SELECT t.id, pc.id FROM career_tracks t, partner_companies pc, generate_series(1, 2)",
    )
    .await;
    assert_rollup_exact(&app, "applications that are not hires").await;
    let hired = |status: &str, n: u32| {
        format!(
            "UPDATE job_applications SET status = '{status}' WHERE id IN \
             (SELECT id FROM job_applications ORDER BY id LIMIT {n})"
        )
    };
    // Several hires in one statement, then one of them taken back.
    app.sql(&hired("hired", 5)).await;
    assert_rollup_exact(&app, "five hires in one statement").await;
    app.sql(&hired("rejected", 1)).await;
    assert_rollup_exact(&app, "a hire taken back").await;
    // Through the API: career staff hire another applicant.
    let support = app.staff("support@example.com", "support").await;
    let next = app
        .scalar_i64("SELECT max(id) FROM job_applications WHERE status = 'applied'")
        .await;
    let r = app
        .patch(
            &format!("/api/v1/career/applications/{next}"),
            Some(&support),
            json!({"status": "hired"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_rollup_exact(&app, "a hire through the API").await;
    let total = app
        .scalar_i64("SELECT sum(hired)::bigint FROM hires_by_course_company")
        .await;
    assert_eq!(total, 5);
    // A hired application deleted (an operator's SQL).
    app.sql("DELETE FROM job_applications WHERE id = (SELECT max(id) FROM job_applications WHERE status = 'hired')")
        .await;
    assert_rollup_exact(&app, "a deleted hire").await;

    // The check can fail: a hire recorded with the update trigger switched off.
    app.sql(
        "ALTER TABLE job_applications DISABLE TRIGGER job_applications_hires_update; \
         UPDATE job_applications SET status = 'hired' \
           WHERE id = (SELECT min(id) FROM job_applications WHERE status = 'applied'); \
         ALTER TABLE job_applications ENABLE TRIGGER job_applications_hires_update",
    )
    .await;
    assert_ne!(
        app.scalar_i64(&hires_mismatches()).await,
        0,
        "a write the triggers missed"
    );

    app.sql("TRUNCATE job_applications").await;
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM hires_by_course_company")
            .await,
        0
    );
    app.stop().await;
}
