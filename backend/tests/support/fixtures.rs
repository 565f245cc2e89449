//! Fixtures for the domain tests (reviews, certificates, career, blog, reports): paid
//! purchases written with direct SQL (the purchase API lives elsewhere), ids by email.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::{TestApp, wait_for_replicas};

/// A purchase of the latest run of `course_id` by `email` on `plan`, in `status` (`paid`,
/// or `pending` / `refunded` / `cancelled` for negative cases), timestamps as the schema wants.
pub async fn purchase(app: &TestApp, email: &str, course_id: i64, plan: &str, status: &str) {
    let (paid_at, refunded_at, cancelled_at) = match status {
        "paid" => ("now()", "NULL", "NULL"),
        "refunded" => ("now() - interval '1 day'", "now()", "NULL"),
        "cancelled" => ("NULL", "NULL", "now()"),
        _ => ("NULL", "NULL", "NULL"),
    };
    app.sql(&format!(
        "WITH run AS (SELECT r.id, c.price FROM course_runs r JOIN courses c ON c.id = r.course_id \
           WHERE r.course_id = {course_id} ORDER BY r.start_date DESC, r.id DESC LIMIT 1) \
         INSERT INTO purchases (user_id, course_run_id, plan_id, final_price, status, \
           idempotency_key, request_fingerprint, paid_at, refunded_at, cancelled_at) \
         SELECT u.id, run.id, p.id, run.price, '{status}', 'fixture-' || u.id || '-' || run.id || '-{status}', \
           'fixture', {paid_at}, {refunded_at}, {cancelled_at} \
         FROM users u, run, plans p WHERE u.email = '{email}' AND p.code = '{plan}'"
    ))
    .await;
}

/// A paid basic-plan purchase.
pub async fn buy(app: &TestApp, email: &str, course_id: i64) {
    purchase(app, email, course_id, "basic", "paid").await;
}

pub async fn user_id(app: &TestApp, email: &str) -> i64 {
    app.scalar_i64(&format!("SELECT id FROM users WHERE email = '{email}'"))
        .await
}

/// Waits until the replicas have `min` rows in `table` (fixtures are written on the primary).
pub async fn replicated(app: &TestApp, table: &str, min: i64) {
    wait_for_replicas(&app.db, &format!("SELECT count(*) FROM {table}"), min).await;
}
