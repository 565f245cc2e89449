//! Plans and prices: `GET /plans`, the prices on a course page and on each of its runs, and
//! that a purchase on each plan charges exactly the price shown.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{fixtures::replicated, spawn_app};
use reqwest::StatusCode;
use serde_json::Value;

fn price_of(prices: &Value, plan: &str) -> i64 {
    prices
        .as_array()
        .expect("prices")
        .iter()
        .find(|p| p["plan"] == plan)
        .unwrap_or_else(|| panic!("no price for {plan} in {prices}"))["price"]
        .as_i64()
        .expect("price")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_are_listed_with_their_share_of_the_price() {
    let app = spawn_app("prices_plans").await;
    let r = app.get("/api/v1/plans").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let plans = r.body.as_array().expect("array");
    let summary: Vec<(&str, i64, i64, bool)> = plans
        .iter()
        .map(|p| {
            (
                p["code"].as_str().expect("code"),
                p["discount_percent"].as_i64().expect("discount"),
                p["percent_of_base_price"].as_i64().expect("percent"),
                p["includes_career_support"].as_bool().expect("career"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("basic", 0, 100, false),
            ("career_track", 0, 100, true),
            ("discounted", 20, 80, false),
        ]
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_plan_charges_the_price_its_course_page_shows() {
    let app = spawn_app("prices_charged").await;
    app.seed_catalog().await;
    // 12 345 on the discounted plan is 9 876.0: a price where rounding would show.
    app.sql(
        "UPDATE courses SET price = 12345 WHERE title = 'Python data analysis';
         UPDATE plans SET discount_percent = 15 WHERE code = 'career_track'",
    )
    .await;
    let course = app.course_id("Python data analysis").await;
    let runs = [
        app.run_with_seats(course, 3).await,
        app.run_with_seats(course, 3).await,
        app.run_with_seats(course, 3).await,
    ];
    // The page is read from a replica; the runs were written after the prices.
    replicated(&app, "course_runs", 5).await;
    let page = app.get(&format!("/api/v1/courses/{course}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let shown = &page.body["prices"];
    assert_eq!(price_of(shown, "basic"), 12345);
    // 12345 × 85 / 100 = 10493.25 and 12345 × 80 / 100 = 9876: rounded down, as charged.
    assert_eq!(price_of(shown, "career_track"), 10493);
    assert_eq!(price_of(shown, "discounted"), 9876);
    for run in page.body["upcoming_runs"].as_array().expect("runs") {
        assert_eq!(&run["prices"], shown, "a run costs what its course costs");
    }

    let token = app.register("buyer@prices.test").await;
    for (plan, run) in ["basic", "career_track", "discounted"]
        .into_iter()
        .zip(runs)
    {
        let bought = app.buy(&token, &format!("price-{plan}"), run, plan).await;
        assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.body);
        let run_prices = page.body["upcoming_runs"]
            .as_array()
            .expect("runs")
            .iter()
            .find(|r| r["id"] == run)
            .map(|r| r["prices"].clone())
            .expect("the run is on the page");
        assert_eq!(
            bought.body["final_price"].as_i64(),
            Some(price_of(&run_prices, plan)),
            "{plan}: charged {} but the page showed {run_prices}",
            bought.body["final_price"]
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_run_answers_with_its_prices() {
    let app = spawn_app("prices_new_run").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@prices.test", "admin").await;
    let course = app.course_id("Distributed systems").await;
    let r = app
        .post(
            &format!("/api/v1/courses/{course}/runs"),
            Some(&admin),
            serde_json::json!({"start_date": "2099-03-01", "sales_end_date": "2099-02-01", "seats_total": 4}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(price_of(&r.body["prices"], "basic"), 90000);
    assert_eq!(price_of(&r.body["prices"], "discounted"), 72000);
    app.stop().await;
}
