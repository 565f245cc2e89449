//! Staff edits against the real stack: role checks, course/topic/run writes with their domain
//! errors, and read-your-edit through the cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{Reply, TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn course_body() -> Value {
    json!({
        "title": "Kubernetes in production",
        "description": "Clusters, operators, failover",
        "specialization": "backend",
        "difficulty": "advanced",
        "duration_weeks": 10,
        "price": 70000,
        "published": true,
    })
}

fn topic_names(detail: &Value) -> Vec<String> {
    detail["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| format!("{}:{}", t["position"], t["name"].as_str().expect("name")))
        .collect()
}

async fn create_course(app: &TestApp, token: &str) -> i64 {
    let r = app
        .post("/api/v1/courses", Some(token), course_body())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().expect("id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_and_teachers_may_edit_the_catalog() {
    let app = spawn_app("staff_roles").await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    let student = app.register("student@example.com").await;
    let smm = app.staff("smm@example.com", "smm").await;
    let teacher = app.staff("teacher@example.com", "teacher").await;

    let topic = json!({"name": "T", "effort_hours": 1});
    let run = json!({"start_date": "2099-01-10", "sales_end_date": "2099-01-01", "seats_total": 5});
    let writes: Vec<(&str, String, Option<Value>)> = vec![
        ("POST", "/api/v1/courses".into(), Some(course_body())),
        (
            "PATCH",
            format!("/api/v1/courses/{course}"),
            Some(json!({"price": 1})),
        ),
        ("DELETE", format!("/api/v1/courses/{course}"), None),
        (
            "POST",
            format!("/api/v1/courses/{course}/topics"),
            Some(topic.clone()),
        ),
        (
            "PATCH",
            format!("/api/v1/courses/{course}/topics/1"),
            Some(topic),
        ),
        ("DELETE", format!("/api/v1/courses/{course}/topics/1"), None),
        (
            "POST",
            format!("/api/v1/courses/{course}/runs"),
            Some(run.clone()),
        ),
        (
            "PATCH",
            format!("/api/v1/courses/{course}/runs/1"),
            Some(json!({"seats_total": 9})),
        ),
        ("DELETE", format!("/api/v1/courses/{course}/runs/1"), None),
    ];
    for (method, path, body) in &writes {
        let m: reqwest::Method = method.parse().expect("method");
        app.call(m.clone(), path, None, body.clone())
            .await
            .assert_problem(401, "missing_token");
        app.call(m.clone(), path, Some(&student), body.clone())
            .await
            .assert_problem(403, "forbidden");
        app.call(m.clone(), path, Some(&smm), body.clone())
            .await
            .assert_problem(403, "forbidden");
    }
    // A teacher may.
    let r = app
        .patch(
            &format!("/api/v1/courses/{course}"),
            Some(&teacher),
            json!({"price": 55000}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // The database has the last word: a teacher moved to support keeps an old token, and loses the right.
    app.sql("UPDATE users SET staff_position = 'support' WHERE email = 'teacher@example.com'")
        .await;
    app.patch(
        &format!("/api/v1/courses/{course}"),
        Some(&teacher),
        json!({"price": 1}),
    )
    .await
    .assert_problem(403, "forbidden");
    assert_eq!(
        app.scalar_i64(&format!("SELECT price FROM courses WHERE id = {course}"))
            .await,
        55000
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn courses_are_created_validated_updated_and_deleted() {
    let app = spawn_app("staff_courses").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@example.com", "admin").await;

    let r = app
        .post("/api/v1/courses", Some(&admin), course_body())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["title"], "Kubernetes in production");
    assert_eq!(r.body["difficulty"]["code"], "advanced");
    assert_eq!(r.body["topics"], json!([]));
    let id = r.body["id"].as_i64().expect("id");

    let mut bad = course_body();
    bad["specialization"] = json!("astrology");
    bad["difficulty"] = json!("impossible");
    let r = app.post("/api/v1/courses", Some(&admin), bad).await;
    // Well-formed codes that name no lookup row: the reference is unknown, not malformed.
    r.assert_problem(404, "unknown_reference");
    assert_eq!(
        r.body["errors"].as_array().expect("errors").len(),
        2,
        "{}",
        r.body
    );

    let mut bad = course_body();
    bad["title"] = json!("   ");
    bad["price"] = json!(-1);
    bad["duration_weeks"] = json!(0);
    let r = app.post("/api/v1/courses", Some(&admin), bad).await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(
        r.body["errors"].as_array().expect("errors").len(),
        3,
        "{}",
        r.body
    );

    let mut bad = course_body();
    bad["price"] = json!("cheap");
    app.post("/api/v1/courses", Some(&admin), bad)
        .await
        .assert_problem(422, "invalid_body");

    let r = app
        .patch(
            &format!("/api/v1/courses/{id}"),
            Some(&admin),
            json!({"price": 65000, "difficulty": "intermediate"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["price"], 65000);
    assert_eq!(r.body["difficulty"]["code"], "intermediate");
    assert_eq!(r.body["title"], "Kubernetes in production");
    app.patch("/api/v1/courses/999999", Some(&admin), json!({"price": 1}))
        .await
        .assert_problem(404, "not_found");

    // A sold course cannot be deleted; an unsold one can.
    let sold = app.course_id("Rust for backend engineers").await;
    app.delete(&format!("/api/v1/courses/{sold}"), Some(&admin))
        .await
        .assert_problem(409, "in_use");
    let r = app
        .delete(&format!("/api/v1/courses/{id}"), Some(&admin))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    app.get(&format!("/api/v1/courses/{id}"))
        .await
        .assert_problem(404, "not_found");
    app.delete(&format!("/api/v1/courses/{id}"), Some(&admin))
        .await
        .assert_problem(404, "not_found");
    app.stop().await;
}

/// The `Location` header of a 201.
fn location(r: &Reply) -> String {
    let value = r.headers.get("location").expect("Location header");
    value.to_str().expect("ASCII").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_keep_a_gap_free_order_and_runs_keep_sold_seats() {
    let app = spawn_app("staff_syllabus").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@example.com", "admin").await;
    let id = create_course(&app, &admin).await;
    let topics = format!("/api/v1/courses/{id}/topics");

    for name in ["B", "C"] {
        let r = app
            .post(
                &topics,
                Some(&admin),
                json!({"name": name, "effort_hours": 4}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let r = app
        .post(
            &topics,
            Some(&admin),
            json!({"name": "A", "effort_hours": 2, "position": 1, "technologies": ["git"],
                   "projects": [{"title": "Hello"}, {"title": "World", "description": "d"}]}),
        )
        .await;
    // A create answers with what it created and where it lives.
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["name"], "A");
    assert_eq!(r.body["position"], 1);
    assert_eq!(r.body["project_count"], 2);
    let a = r.body["id"].as_i64().expect("id");
    assert_eq!(location(&r), format!("{topics}/{a}"));
    let r = app.get_as(&format!("/api/v1/courses/{id}"), &admin).await;
    assert_eq!(topic_names(&r.body), ["1:A", "2:B", "3:C"]);
    assert_eq!(r.body["topics"][0]["id"].as_i64(), Some(a));
    let c = r.body["topics"][2]["id"].as_i64().expect("id");

    // Move C to the front, then A to the end.
    let r = app
        .patch(
            &format!("{topics}/{c}"),
            Some(&admin),
            json!({"position": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(topic_names(&r.body), ["1:C", "2:A", "3:B"]);
    let r = app
        .patch(
            &format!("{topics}/{a}"),
            Some(&admin),
            json!({"position": 99, "name": "A2", "projects": [{"title": "Only"}]}),
        )
        .await;
    assert_eq!(topic_names(&r.body), ["1:C", "2:B", "3:A2"]);
    assert_eq!(r.body["topics"][2]["project_count"], 1);

    let r = app.delete(&format!("{topics}/{c}"), Some(&admin)).await;
    assert_eq!(topic_names(&r.body), ["1:B", "2:A2"]);
    app.delete(&format!("{topics}/{c}"), Some(&admin))
        .await
        .assert_problem(404, "not_found");
    app.patch(
        &format!("{topics}/{a}"),
        Some(&admin),
        json!({"effort_hours": 0}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/courses/999999/topics",
        Some(&admin),
        json!({"name": "X", "effort_hours": 1}),
    )
    .await
    .assert_problem(404, "not_found");

    // Runs.
    let runs = format!("/api/v1/courses/{id}/runs");
    app.post(
        &runs,
        Some(&admin),
        json!({"start_date": "2099-01-01", "sales_end_date": "2099-02-01", "seats_total": 5}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        &runs,
        Some(&admin),
        json!({"start_date": "2099-01-10", "sales_end_date": "2099-01-01", "seats_total": 0}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        &runs,
        Some(&admin),
        json!({"start_date": "someday", "sales_end_date": "2099-01-01", "seats_total": 3}),
    )
    .await
    .assert_problem(422, "invalid_body");
    let r = app
        .post(
            &runs,
            Some(&admin),
            json!({"start_date": "2099-01-10", "sales_end_date": "2099-01-01", "seats_total": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let run = &r.body;
    assert_eq!(
        (run["seats_total"].as_i64(), run["seats_left"].as_i64()),
        (Some(5), Some(5))
    );
    let run_id = run["id"].as_i64().expect("id");
    assert_eq!(location(&r), format!("{runs}/{run_id}"));

    // Three seats are sold (the purchase flow is a later issue; the seats are taken directly).
    app.sql(&format!(
        "UPDATE course_runs SET seats_left = 2 WHERE id = {run_id};
         INSERT INTO purchases (user_id, course_run_id, plan_id, final_price, status, idempotency_key, request_fingerprint, paid_at)
           SELECT u.id, {run_id}, p.id, 1, 'paid', 'k', 'f', now() FROM users u, plans p
           WHERE u.email = 'buyer1@seed.test' AND p.code = 'basic';"
    ))
    .await;
    let r = app
        .patch(
            &format!("{runs}/{run_id}"),
            Some(&admin),
            json!({"seats_total": 8}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let run = &r.body["upcoming_runs"][0];
    assert_eq!(
        (run["seats_total"].as_i64(), run["seats_left"].as_i64()),
        (Some(8), Some(5))
    );
    app.patch(
        &format!("{runs}/{run_id}"),
        Some(&admin),
        json!({"seats_total": 2}),
    )
    .await
    .assert_problem(409, "seats_taken");
    app.patch(
        &format!("{runs}/{run_id}"),
        Some(&admin),
        json!({"sales_end_date": "2099-03-01"}),
    )
    .await
    // Well-formed on its own; it is the stored start date that it contradicts.
    .assert_problem(409, "conflict");
    app.delete(&format!("{runs}/{run_id}"), Some(&admin))
        .await
        .assert_problem(409, "in_use");
    app.patch(
        &format!("{runs}/424242"),
        Some(&admin),
        json!({"seats_total": 9}),
    )
    .await
    .assert_problem(404, "not_found");
    let r = app
        .post(
            &runs,
            Some(&admin),
            json!({"start_date": "2099-05-10", "sales_end_date": "2099-05-01", "seats_total": 5}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let unsold = r.body["id"].as_i64().expect("second run");
    let r = app.delete(&format!("{runs}/{unsold}"), Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["upcoming_runs"].as_array().expect("runs").len(), 1);
    app.stop().await;
}

/// The edit-then-read test: a course page and list that were cached are read back through the
/// API right after each edit, and always show the edit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_is_visible_at_once_when_read_back() {
    let app = spawn_app("staff_read_back").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@example.com", "admin").await;
    let id = app.course_id("Rust for backend engineers").await;
    let page = format!("/api/v1/courses/{id}");

    for round in 0..10 {
        // Warm the cache with the current state.
        assert_eq!(app.get(&page).await.status, StatusCode::OK);
        assert_eq!(app.get(&page).await.status, StatusCode::OK);
        app.get("/api/v1/courses?sort=price_asc").await;

        let title = format!("Rust for backend engineers, edition {round}");
        let price = 50_000 + round;
        let r = app
            .patch(&page, Some(&admin), json!({"title": title, "price": price}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["title"], title.as_str());

        let anon = app.get(&page).await;
        assert_eq!(
            anon.body["title"],
            title.as_str(),
            "round {round}: stale course page"
        );
        assert_eq!(anon.body["price"], price);
        let staff_view = app.get_as(&page, &admin).await;
        assert_eq!(staff_view.body["title"], title.as_str());
        let list = app.get("/api/v1/courses?sort=price_asc").await;
        let listed: Vec<&str> = list.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|c| c["title"].as_str())
            .collect();
        assert!(
            listed.contains(&title.as_str()),
            "round {round}: stale list {listed:?}"
        );

        // Syllabus edits show at once too.
        let r = app
            .post(
                &format!("{page}/topics"),
                Some(&admin),
                json!({"name": format!("Extra {round}"), "effort_hours": 1}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let anon = app.get(&page).await;
        assert_eq!(
            anon.body["topics"].as_array().expect("topics").len(),
            3 + round as usize
        );
    }

    // Unpublishing hides the course from the public at once; staff still see it.
    app.patch(&page, Some(&admin), json!({"published": false}))
        .await;
    app.get(&page).await.assert_problem(404, "not_found");
    assert_eq!(app.get_as(&page, &admin).await.status, StatusCode::OK);
    let list = app.get("/api/v1/courses").await;
    assert_eq!(list.body["items"].as_array().expect("items").len(), 2);
    // And publishing shows it again.
    app.patch(&page, Some(&admin), json!({"published": true}))
        .await;
    assert_eq!(app.get(&page).await.status, StatusCode::OK);

    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"lyceum_cache_lookups_total{kind="course_detail",result="hit"}"#),
        "the page was served from the cache between edits:\n{metrics}"
    );
    app.stop().await;
}
