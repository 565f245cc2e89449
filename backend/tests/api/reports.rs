//! Reports against the real stack: who may read them, parameter checks, caching, and every
//! row equal to a ground truth computed here from raw rows of a database filled by the
//! seeder library (not by the report queries).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
};

use crate::support::{TestApp, spawn_app, wait_for_replicas};
use chrono::{DateTime, NaiveDate, Utc};
use lyceum_db::DbError;
use lyceum_seeder::{
    Params, Table, World,
    load::{self, LoadOptions},
    progress::Progress,
    state,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_postgres::Row;

/// Fills the test database with the seeder at a small scale (every table, every rule).
async fn seed(app: &TestApp) {
    let db = &app.db;
    db.write(|c| Box::pin(async move { state::ensure_schema(&***c).await }))
        .await
        .expect("seeder_state");
    let lookups = db
        .write(|c| Box::pin(async move { state::read_lookups(&***c).await }))
        .await
        .expect("lookups");
    let params = Params {
        seed: 11,
        scale: 0.05,
        anchor: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
    };
    let world = Arc::new(
        tokio::task::spawn_blocking(move || World::build(params, lookups))
            .await
            .expect("world"),
    );
    load::load_all(
        db,
        world,
        &Table::ALL,
        &LoadOptions::default(),
        &Progress::new(),
    )
    .await
    .expect("seeded");
    wait_for_replicas(
        db,
        "SELECT count(*) FROM seeder_state",
        Table::ALL.len() as i64,
    )
    .await;
}

async fn rows(app: &TestApp, sql: &str) -> Vec<Row> {
    let sql = sql.to_owned();
    app.db
        .write(|c| {
            let sql = sql.clone();
            Box::pin(async move { Ok::<_, DbError>(c.query(&sql, &[]).await?) })
        })
        .await
        .expect("ground truth query")
}

async fn login(app: &TestApp, email: &str, password: &str) -> String {
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_owned()
}

/// Top courses from raw reviews, purchases and staff rows.
async fn top_courses_truth(app: &TestApp, limit: usize) -> Vec<Value> {
    let mut ratings: BTreeMap<i64, (i64, i64)> = BTreeMap::new(); // course -> (sum, count)
    for r in rows(app, "SELECT course_id, rating::int FROM reviews").await {
        let e = ratings.entry(r.get(0)).or_default();
        e.0 += i64::from(r.get::<_, i32>(1));
        e.1 += 1;
    }
    let courses: HashMap<i64, (String, bool)> =
        rows(app, "SELECT id, title, published FROM courses")
            .await
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2))))
            .collect();
    let mut buyers: HashMap<i64, BTreeSet<i64>> = HashMap::new();
    for r in rows(
        app,
        "SELECT cr.course_id, p.user_id, p.status FROM purchases p \
         JOIN course_runs cr ON cr.id = p.course_run_id",
    )
    .await
    {
        if r.get::<_, String>(2) == "paid" {
            buyers.entry(r.get(0)).or_default().insert(r.get(1));
        }
    }
    let mut workplaces: HashMap<i64, BTreeSet<String>> = HashMap::new();
    for r in rows(
        app,
        "SELECT cs.course_id, cs.role, tp.workplace FROM course_staff cs \
         LEFT JOIN teacher_profiles tp ON tp.user_id = cs.user_id",
    )
    .await
    {
        if let (true, Some(w)) = (
            r.get::<_, String>(1) == "teacher",
            r.get::<_, Option<String>>(2),
        ) {
            workplaces.entry(r.get(0)).or_default().insert(w);
        }
    }
    let mut ranked: Vec<(i64, i64, i64)> = ratings
        .iter()
        .filter(|(id, _)| courses[id].1)
        .map(|(&id, &(sum, n))| (id, sum, n))
        .collect();
    // Exact comparison of averages as fractions: a/b > c/d  <=>  a*d > c*b.
    ranked.sort_by(|a, b| {
        (b.1 * a.2)
            .cmp(&(a.1 * b.2))
            .then(b.2.cmp(&a.2))
            .then(a.0.cmp(&b.0))
    });
    ranked
        .into_iter()
        .take(limit)
        .map(|(id, sum, n)| {
            json!({
                "course_id": id,
                "title": courses[&id].0,
                "average_rating": sum as f64 / n as f64,
                "review_count": n,
                "buyers": buyers.get(&id).map_or(0, BTreeSet::len),
                "teacher_workplaces": workplaces.get(&id).cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// Revenue from raw paid purchases, bucketed by month here.
async fn revenue_truth(app: &TestApp, from: &str, to: &str) -> Vec<Value> {
    let mut buckets: BTreeMap<(String, String, i32), (i64, i64)> = BTreeMap::new();
    for r in rows(
        app,
        "SELECT p.status, p.paid_at, p.final_price, s.id, s.name FROM purchases p \
         JOIN course_runs cr ON cr.id = p.course_run_id JOIN courses c ON c.id = cr.course_id \
         JOIN specializations s ON s.id = c.specialization_id",
    )
    .await
    {
        if r.get::<_, String>(0) != "paid" {
            continue;
        }
        let paid_at: DateTime<Utc> = r.get(1);
        let month = paid_at.format("%Y-%m").to_string();
        if month.as_str() < from || month.as_str() > to {
            continue;
        }
        let e = buckets.entry((month, r.get(4), r.get(3))).or_default();
        e.0 += r.get::<_, i64>(2);
        e.1 += 1;
    }
    buckets
        .into_iter()
        .map(|((month, name, id), (revenue, purchases))| {
            json!({"month": month, "specialization_id": id, "specialization": name,
                   "revenue": revenue, "purchases": purchases})
        })
        .collect()
}

/// Hired applications per course and company from raw rows.
async fn employment_truth(app: &TestApp) -> Vec<Value> {
    let mut counts: BTreeMap<(i64, i64), (String, String, i64)> = BTreeMap::new();
    for r in rows(
        app,
        "SELECT t.course_id, c.title, a.company_id, pc.short_name, a.status \
         FROM job_applications a JOIN career_tracks t ON t.id = a.career_track_id \
         JOIN courses c ON c.id = t.course_id JOIN partner_companies pc ON pc.id = a.company_id",
    )
    .await
    {
        if r.get::<_, String>(4) == "hired" {
            let e = counts
                .entry((r.get(0), r.get(2)))
                .or_insert_with(|| (r.get(1), r.get(3), 0));
            e.2 += 1;
        }
    }
    let mut out: Vec<_> = counts.into_iter().collect();
    out.sort_by(|a, b| b.1.2.cmp(&a.1.2).then(a.0.cmp(&b.0)));
    out.into_iter()
        .map(|((course, company), (title, name, hired))| {
            json!({"course_id": course, "course_title": title, "company_id": company,
                   "company": name, "hired": hired})
        })
        .collect()
}

fn assert_rows_equal(report: &Value, truth: &[Value], what: &str) {
    let items = report["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: {report}"));
    assert!(
        !truth.is_empty(),
        "{what}: the seeded data must produce rows"
    );
    assert_eq!(items.len(), truth.len(), "{what}: row count");
    for (i, (got, want)) in items.iter().zip(truth).enumerate() {
        let mut got = got.clone();
        let mut want = want.clone();
        // Averages: the database averages exactly (numeric) then rounds to float8.
        if let (Some(g), Some(w)) = (
            got.get("average_rating").and_then(Value::as_f64),
            want.get("average_rating").and_then(Value::as_f64),
        ) {
            assert!((g - w).abs() < 1e-9, "{what} row {i}: average {g} vs {w}");
            got["average_rating"] = Value::Null;
            want["average_rating"] = Value::Null;
        }
        assert_eq!(got, want, "{what} row {i}");
    }
    eprintln!("{what}: all {} rows equal the ground truth", truth.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_equal_a_ground_truth_on_seeded_data() {
    let app = spawn_app("reports_truth").await;
    seed(&app).await;
    let admin = login(&app, "admin1@lyceum.test", "admin-password").await;
    let mentor = login(&app, "mentor1@lyceum.test", "mentor-password").await;

    let top = app
        .get_as("/api/v1/reports/top-courses?limit=100", &admin)
        .await;
    assert_eq!(top.status, StatusCode::OK, "{}", top.body);
    assert_rows_equal(
        &top.body,
        &top_courses_truth(&app, 100).await,
        "top courses",
    );
    let top3 = app
        .get_as("/api/v1/reports/top-courses?limit=3", &mentor)
        .await;
    assert_rows_equal(&top3.body, &top_courses_truth(&app, 3).await, "top 3");
    let default = app.get_as("/api/v1/reports/top-courses", &mentor).await;
    assert_eq!(default.body["items"].as_array().unwrap().len(), 10);

    let all = app
        .get_as("/api/v1/reports/revenue?from=2022-01&to=2026-12", &admin)
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    assert_rows_equal(
        &all.body,
        &revenue_truth(&app, "2022-01", "2026-12").await,
        "revenue",
    );
    let quarter = app
        .get_as("/api/v1/reports/revenue?from=2025-06&to=2025-08", &admin)
        .await;
    assert_rows_equal(
        &quarter.body,
        &revenue_truth(&app, "2025-06", "2025-08").await,
        "revenue, one quarter",
    );

    let employment = app
        .get_as("/api/v1/reports/employment?limit=1000", &admin)
        .await;
    assert_eq!(employment.status, StatusCode::OK, "{}", employment.body);
    let truth = employment_truth(&app).await;
    assert!(truth.len() < 1000, "the whole report fits in one answer");
    assert_rows_equal(&employment.body, &truth, "employment");
    let first = app
        .get_as("/api/v1/reports/employment?limit=5", &admin)
        .await;
    assert_rows_equal(&first.body, &truth[..5], "employment, first 5");

    // A second read of the same report is served from the cache, unchanged.
    let again = app
        .get_as("/api/v1/reports/employment?limit=1000", &mentor)
        .await;
    assert_eq!(again.body, employment.body);
    assert!(
        app.metrics()
            .await
            .contains(r#"lyceum_cache_lookups_total{kind="report",result="hit"}"#)
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_for_staff_and_parameters_are_checked() {
    let app = spawn_app("reports_rules").await;
    let student = app.register("student@example.com").await;
    let smm = app.staff("smm@example.com", "smm").await;
    for path in [
        "/api/v1/reports/top-courses",
        "/api/v1/reports/revenue",
        "/api/v1/reports/employment",
    ] {
        app.get(path).await.assert_problem(401, "missing_token");
        app.get_as(path, &student)
            .await
            .assert_problem(403, "forbidden");
        let r = app.get_as(path, &smm).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(
            r.body["items"],
            json!([]),
            "{path}: an empty database has no rows"
        );
    }
    for bad in [
        "top-courses?limit=0",
        "top-courses?limit=101",
        "employment?limit=0",
        "employment?limit=1001",
    ] {
        app.get_as(&format!("/api/v1/reports/{bad}"), &smm)
            .await
            .assert_problem(422, "validation_failed");
    }
    app.get_as("/api/v1/reports/top-courses?limit=ten", &smm)
        .await
        .assert_problem(400, "invalid_query");
    for bad in [
        "from=2026-13",
        "to=2026-1",
        "from=2026-05&to=2026-04",
        "from=2010-01&to=2026-04",
    ] {
        app.get_as(&format!("/api/v1/reports/revenue?{bad}"), &smm)
            .await
            .assert_problem(422, "validation_failed");
    }
    app.stop().await;
}
