//! The course list cache against the real stack: a list is cached as windows of course ids
//! and each course's list entry once, so an edit replaces the course's entry and drops only
//! the lists it can reorder (`usecase::course_admin`). Each test counts the list lookups that
//! hit, so a list served stale, or dropped when it need not be, fails it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{Reply, TestApp, cache_lookups, item_titles, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

const RUST: &str = "Rust for backend engineers";
const PYTHON: &str = "Python data analysis";
const DIST: &str = "Distributed systems";

fn titles(r: &Reply) -> Vec<String> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    item_titles(&r.body)
}

fn price_of(r: &Reply, title: &str) -> i64 {
    r.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|c| c["title"] == title)
        .and_then(|c| c["price"].as_i64())
        .expect("listed with a price")
}

/// List lookups served from the cache so far.
async fn list_hits(app: &TestApp) -> u64 {
    cache_lookups(&app.metrics().await, "course_list", "hit")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_edit_shows_in_every_list_and_drops_only_the_price_lists() {
    let app = spawn_app("course_lists_price").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@example.com", "admin").await;
    let rust = app.course_id(RUST).await;
    assert_eq!(
        titles(&app.get("/api/v1/courses").await),
        [DIST, PYTHON, RUST]
    );
    let cheapest = app.get("/api/v1/courses?sort=price_asc").await;
    assert_eq!(titles(&cheapest), [PYTHON, RUST, DIST]);
    let hits = list_hits(&app).await;

    let r = app
        .patch(
            &format!("/api/v1/courses/{rust}"),
            Some(&admin),
            json!({"price": 100}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Newest first does not depend on prices: its window stays, and shows the new price.
    let newest = app.get("/api/v1/courses").await;
    assert_eq!(
        list_hits(&app).await,
        hits + 1,
        "the newest-first window was kept"
    );
    assert_eq!(titles(&newest), [DIST, PYTHON, RUST]);
    assert_eq!(
        price_of(&newest, RUST),
        100,
        "the list shows the edited price"
    );
    // The price-sorted list was dropped and is read again, in its new order.
    let cheapest = app.get("/api/v1/courses?sort=price_asc").await;
    assert_eq!(
        list_hits(&app).await,
        hits + 1,
        "the price list was not served stale"
    );
    assert_eq!(titles(&cheapest), [RUST, PYTHON, DIST]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_edit_drops_only_the_lists_that_read_runs() {
    let app = spawn_app("course_lists_runs").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@example.com", "admin").await;
    let python = app.course_id(PYTHON).await;
    // The seed's only run on sale is the Rust course's.
    assert_eq!(
        titles(&app.get("/api/v1/courses?on_sale=true").await),
        [RUST]
    );
    assert_eq!(
        titles(&app.get("/api/v1/courses").await),
        [DIST, PYTHON, RUST]
    );
    let hits = list_hits(&app).await;

    let r = app
        .post(
            &format!("/api/v1/courses/{python}/runs"),
            Some(&admin),
            json!({"start_date": "2099-02-01", "sales_end_date": "2099-01-20", "seats_total": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    assert_eq!(
        titles(&app.get("/api/v1/courses").await),
        [DIST, PYTHON, RUST]
    );
    assert_eq!(
        list_hits(&app).await,
        hits + 1,
        "a run does not change the plain list"
    );
    assert_eq!(
        titles(&app.get("/api/v1/courses?on_sale=true").await),
        [PYTHON, RUST],
        "the on-sale list shows the new run at once"
    );
    assert_eq!(
        list_hits(&app).await,
        hits + 1,
        "the on-sale list was read again"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_any_size_are_cut_from_one_cached_window() {
    let app = spawn_app("course_lists_windows").await;
    app.seed_catalog().await;
    let all = app.get("/api/v1/courses?page_size=3").await;
    assert_eq!(titles(&all), [DIST, PYTHON, RUST]);
    assert_eq!(all.body["has_more"], false);
    let hits = list_hits(&app).await;
    for (query, want, more) in [
        ("page=2&page_size=1", vec![PYTHON], true),
        ("page=3&page_size=1", vec![RUST], false),
        ("page=2&page_size=2", vec![RUST], false),
        ("page=1&page_size=2", vec![DIST, PYTHON], true),
        ("page=3&page_size=2", vec![], false),
    ] {
        let r = app.get(&format!("/api/v1/courses?{query}")).await;
        assert_eq!(titles(&r), want, "{query}");
        assert_eq!(r.body["has_more"], more, "{query}");
    }
    assert_eq!(
        list_hits(&app).await,
        hits + 5,
        "every page came from the one window"
    );
    app.stop().await;
}
