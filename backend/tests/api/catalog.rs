//! Catalog reads against the real stack: lookups, the course list (filters, full-text search,
//! sort orders, capped pagination), the course page, teacher profiles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{item_titles, spawn_app};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_tables_are_listed_in_order() {
    let app = spawn_app("catalog_lookups").await;
    app.seed_catalog().await;
    let r = app.get("/api/v1/specializations").await;
    assert_eq!(r.status, StatusCode::OK);
    let names: Vec<&str> = r
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Backend development", "Data science"]);
    assert_eq!(r.body[0]["slug"], "backend");

    let r = app.get("/api/v1/difficulty-levels").await;
    let codes: Vec<&str> = r
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["beginner", "intermediate", "advanced"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn course_list_filters_searches_sorts_and_paginates() {
    let app = spawn_app("catalog_list").await;
    app.seed_catalog().await;
    let list = |q: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/v1/courses{q}")).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
            r.body
        }
    };
    let rust = "Rust for backend engineers";
    let python = "Python data analysis";
    let dist = "Distributed systems";

    let all = list("").await;
    assert_eq!(
        item_titles(&all),
        [dist, python, rust],
        "newest first, drafts hidden"
    );
    assert_eq!(all["page"], 1);
    assert_eq!(all["page_size"], 20);
    assert_eq!(all["has_more"], false);
    let first = &all["items"][2];
    assert_eq!(first["specialization"]["slug"], "backend");
    assert_eq!(first["difficulty"]["code"], "intermediate");
    assert_eq!(first["price"], 50000);
    assert!(first.get("search_vector").is_none());

    assert_eq!(
        item_titles(&list("?specialization=backend").await),
        [dist, rust]
    );
    assert_eq!(item_titles(&list("?difficulty=beginner").await), [python]);
    assert_eq!(
        item_titles(&list("?min_price=40000&max_price=60000").await),
        [rust]
    );
    assert_eq!(item_titles(&list("?min_price=50000").await), [dist, rust]);
    assert_eq!(
        item_titles(&list("?specialization=nonexistent").await),
        Vec::<String>::new()
    );

    // Full-text search over title (weight A) and description (weight B).
    assert_eq!(item_titles(&list("?q=rust").await), [rust]);
    let mut pg = item_titles(&list("?q=postgresql").await);
    pg.sort();
    assert_eq!(pg, [dist, rust]);
    assert_eq!(
        item_titles(&list("?q=postgresql%20-consensus").await),
        [rust]
    );
    assert_eq!(
        item_titles(&list("?q=statistics&difficulty=beginner").await),
        [python]
    );
    assert_eq!(
        item_titles(&list("?q=nothing%20matches%20this").await),
        Vec::<String>::new()
    );

    assert_eq!(
        item_titles(&list("?sort=price_asc").await),
        [python, rust, dist]
    );
    assert_eq!(
        item_titles(&list("?sort=price_desc").await),
        [dist, rust, python]
    );
    assert_eq!(
        item_titles(&list("?sort=title").await),
        [dist, python, rust]
    );
    assert_eq!(
        item_titles(&list("?sort=difficulty").await),
        [python, rust, dist]
    );

    let p1 = list("?page_size=2").await;
    assert_eq!(item_titles(&p1), [dist, python]);
    assert_eq!(p1["has_more"], true);
    let p2 = list("?page_size=2&page=2").await;
    assert_eq!(item_titles(&p2), [rust]);
    assert_eq!(p2["has_more"], false);
    assert_eq!(
        item_titles(&list("?page_size=100").await).len(),
        3,
        "the cap itself is allowed"
    );

    for (q, field) in [
        ("?page_size=101", "page_size"),
        ("?page_size=0", "page_size"),
        ("?page=0", "page"),
        ("?page=501", "page"),
        ("?min_price=-1", "min_price"),
        ("?min_price=10&max_price=5", "max_price"),
        ("?sort=relevance", "sort"),
    ] {
        let r = app.get(&format!("/api/v1/courses{q}")).await;
        r.assert_problem(422, "validation_failed");
        assert_eq!(r.body["errors"][0]["field"], field, "{q}: {}", r.body);
    }
    app.get("/api/v1/courses?sort=cheapest")
        .await
        .assert_problem(400, "invalid_query");
    app.get("/api/v1/courses?page_size=ten")
        .await
        .assert_problem(400, "invalid_query");
    app.get("/api/v1/courses?min_price=99999999999999999999")
        .await
        .assert_problem(400, "invalid_query");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn course_page_has_syllabus_staff_runs_and_statistics() {
    let app = spawn_app("catalog_detail").await;
    app.seed_catalog().await;
    let id = app.course_id("Rust for backend engineers").await;
    let r = app.get(&format!("/api/v1/courses/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let c = &r.body;
    assert_eq!(c["id"], id);
    assert_eq!(c["title"], "Rust for backend engineers");
    assert_eq!(c["duration_weeks"], 12);

    let topics = c["topics"].as_array().expect("topics");
    assert_eq!(topics.len(), 2);
    assert_eq!(topics[0]["position"], 1);
    assert_eq!(topics[0]["name"], "Ownership");
    assert_eq!(topics[0]["project_count"], 1);
    assert_eq!(topics[1]["name"], "Async services");
    assert_eq!(
        topics[1]["technologies"],
        serde_json::json!(["tokio", "axum"])
    );
    assert_eq!(topics[1]["project_count"], 2);
    let mut projects: Vec<&str> = topics[1]["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .map(|p| p["title"].as_str().expect("title"))
        .collect();
    projects.sort_unstable();
    assert_eq!(projects, ["Chat server", "URL shortener"]);

    let staff = c["staff"].as_array().expect("staff");
    assert_eq!(staff.len(), 1);
    assert_eq!(staff[0]["first_name"], "Grace");
    assert_eq!(staff[0]["role"], "teacher");
    assert_eq!(staff[0]["workplace"], "US Navy");

    let runs = c["upcoming_runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "the past run is not upcoming");
    assert_eq!(runs[0]["seats_total"], 30);
    assert_eq!(runs[0]["seats_left"], 28);

    assert_eq!(c["stats"]["buyers"], 2);
    assert_eq!(c["stats"]["review_count"], 2);
    assert_eq!(c["stats"]["average_rating"], 4.5);
    assert_eq!(c["stats"]["graduates_employed"], 0);

    // An empty course page still has every section.
    let py = app.course_id("Python data analysis").await;
    let r = app.get(&format!("/api/v1/courses/{py}")).await;
    assert_eq!(r.body["topics"], serde_json::json!([]));
    assert_eq!(r.body["stats"]["buyers"], 0);
    assert!(r.body["stats"]["average_rating"].is_null());

    let draft = app.course_id("Secret draft course").await;
    app.get(&format!("/api/v1/courses/{draft}"))
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/courses/987654")
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/courses/-1")
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/courses/1.5")
        .await
        .assert_problem(400, "invalid_path");
    // A token that is sent must be valid, even where none is needed.
    app.get_as(&format!("/api/v1/courses/{id}"), "garbage")
        .await
        .assert_problem(401, "invalid_token");
    // A student's token works and does not reveal drafts.
    let student = app.register("s@example.com").await;
    assert_eq!(
        app.get_as(&format!("/api/v1/courses/{id}"), &student)
            .await
            .status,
        StatusCode::OK
    );
    app.get_as(&format!("/api/v1/courses/{draft}"), &student)
        .await
        .assert_problem(404, "not_found");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teacher_profiles_list_and_detail() {
    let app = spawn_app("catalog_teachers").await;
    app.seed_catalog().await;
    let r = app.get("/api/v1/teachers").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let items = r.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["last_name"], "Hopper");
    assert_eq!(items[0]["workplace"], "US Navy");
    assert_eq!(items[0]["years_experience"], 30);
    assert_eq!(items[0]["specialization"]["slug"], "backend");
    let id = items[0]["user_id"].as_i64().expect("id");

    let r = app.get(&format!("/api/v1/teachers/{id}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["first_name"], "Grace");
    assert_eq!(r.body["courses"][0]["title"], "Rust for backend engineers");
    assert_eq!(r.body["courses"][0]["role"], "teacher");

    app.get("/api/v1/teachers/999999")
        .await
        .assert_problem(404, "not_found");
    app.get("/api/v1/teachers/x")
        .await
        .assert_problem(400, "invalid_path");
    app.get("/api/v1/teachers?page_size=1000")
        .await
        .assert_problem(422, "validation_failed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn course_list_filters_courses_on_sale_and_sorts_by_next_start() {
    let app = spawn_app("catalog_on_sale").await;
    app.seed_catalog().await;
    let rust = "Rust for backend engineers"; // a run starting in 30 days, seats left
    let python = "Python data analysis";
    let dist = "Distributed systems";
    // Python: on sale, starting in 40 days. Distributed: one run sold out, one whose sales
    // closed yesterday, both starting sooner than any other: neither is on sale.
    let py = app.course_id(python).await;
    app.run_with_seats(py, 5).await;
    let d = app.course_id(dist).await;
    app.sql(&format!(
        "INSERT INTO course_runs (course_id, start_date, sales_end_date, seats_total, seats_left) VALUES
           ({d}, current_date + 3, current_date + 1, 10, 0),
           ({d}, current_date + 2, current_date - 1, 10, 10)"
    ))
    .await;
    crate::support::fixtures::replicated(&app, "course_runs", 5).await;
    let list = |q: &'static str| {
        let app = &app;
        async move {
            let r = app.get(&format!("/api/v1/courses{q}")).await;
            assert_eq!(r.status, StatusCode::OK, "{q}: {}", r.body);
            item_titles(&r.body)
        }
    };
    assert_eq!(list("?on_sale=true").await, [python, rust], "newest first");
    assert_eq!(list("?on_sale=false").await, [dist]);
    assert_eq!(list("?sort=next_start").await, [rust, python, dist]);
    assert_eq!(list("?on_sale=true&sort=next_start").await, [rust, python]);
    assert_eq!(
        list("?on_sale=true&sort=next_start&specialization=backend").await,
        [rust]
    );
    assert_eq!(
        list("?on_sale=true&sort=next_start&page_size=1&page=2").await,
        [python]
    );
    app.get("/api/v1/courses?on_sale=maybe")
        .await
        .assert_problem(400, "invalid_query");
    app.get("/api/v1/courses?sort=soonest")
        .await
        .assert_problem(400, "invalid_query");
    app.stop().await;
}
