//! The revenue rollup (migration V10, read by the revenue report) stays equal to the paid
//! purchases it sums through every kind of write: the API's buy and pay, a refund of several
//! rows in one statement, a changed price, a payment moved to another month, a deleted
//! purchase, a truncate. The check also notices a write the triggers did not see.
//! (The seeder's COPY is the other insert path: `reports.rs` compares the report with raw rows
//! after seeding.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

/// Rows where the rollup and the paid purchases disagree, counted from both sides; a rollup
/// row whose purchases were all refunded (0 and 0) is no disagreement.
const MISMATCHES: &str = "\
    WITH raw AS ( \
      SELECT date_trunc('month', paid_at AT TIME ZONE 'UTC')::date AS month, course_run_id, \
             sum(final_price)::bigint AS revenue, count(*) AS purchases \
      FROM purchases WHERE status = 'paid' GROUP BY 1, 2), \
    rollup AS ( \
      SELECT month, course_run_id, revenue, purchases FROM revenue_by_run_month \
      WHERE purchases <> 0 OR revenue <> 0) \
    SELECT count(*) FROM ((SELECT * FROM raw EXCEPT SELECT * FROM rollup) \
                          UNION ALL (SELECT * FROM rollup EXCEPT SELECT * FROM raw)) AS d";

async fn assert_rollup_exact(app: &TestApp, after: &str) {
    assert_eq!(app.scalar_i64(MISMATCHES).await, 0, "after {after}");
}

/// Paid purchases of `run` according to the rollup, all months.
async fn rolled_up(app: &TestApp, run: i64) -> i64 {
    app.scalar_i64(&format!(
        "SELECT coalesce(sum(purchases), 0)::bigint FROM revenue_by_run_month \
         WHERE course_run_id = {run}"
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
    assert_eq!(rolled_up(&app, run).await, 5);
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
    assert_eq!(rolled_up(&app, run).await, 3);
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
            "SELECT count(*) FROM revenue_by_run_month WHERE course_run_id = {run} AND purchases > 0"
        ))
        .await;
    assert_eq!(months, 2, "the moved payment is in its own month");
    // A paid purchase deleted (an operator's SQL).
    app.sql(&format!("DELETE FROM purchases WHERE id = {}", paid("max")))
        .await;
    assert_eq!(rolled_up(&app, run).await, 2);
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
        app.scalar_i64(MISMATCHES).await,
        2,
        "a write the triggers missed"
    );

    // TRUNCATE (the seeder's reset) empties the rollup with the table.
    app.sql("TRUNCATE purchases CASCADE").await;
    assert_eq!(
        app.scalar_i64("SELECT count(*) FROM revenue_by_run_month")
            .await,
        0
    );
    app.stop().await;
}
