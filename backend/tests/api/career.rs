//! The career center against the real stack: companies, tracks, applications, who may do
//! what, and `graduates_hired` staying exact under concurrent status changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::fixtures::{purchase, user_id};
use crate::support::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn company(app: &TestApp, token: &str, legal: &str) -> i64 {
    let r = app
        .post(
            "/api/v1/career/companies",
            Some(token),
            json!({"short_name": legal.split(' ').next().unwrap(), "legal_name": legal}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

/// A graduate on the career-track plan with a track opened by `staff`; (token, track id).
async fn graduate(app: &TestApp, staff: &str, email: &str, course: i64) -> (String, i64) {
    let token = app.register(email).await;
    purchase(app, email, course, "career_track", "paid").await;
    let uid = user_id(app, email).await;
    let r = app
        .post(
            "/api/v1/career/tracks",
            Some(staff),
            json!({"user_id": uid, "course_id": course, "support_start": "2026-09-01"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    (token, r.body["id"].as_i64().unwrap())
}

async fn hired_count(app: &TestApp, company: i64) -> (i64, i64) {
    let counter = app
        .scalar_i64(&format!(
            "SELECT graduates_hired::bigint FROM partner_companies WHERE id = {company}"
        ))
        .await;
    let truth = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM job_applications WHERE company_id = {company} AND status = 'hired'"
        ))
        .await;
    (counter, truth)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn companies_are_public_to_read_and_career_staff_edit_them() {
    let app = spawn_app("career_companies").await;
    let support = app.staff("support@example.com", "support").await;
    let student = app.register("student@example.com").await;
    let teacher = app.staff("teacher@example.com", "teacher").await;
    let body = json!({"short_name": "Acme", "legal_name": "Acme Corporation Ltd"});
    app.post("/api/v1/career/companies", None, body.clone())
        .await
        .assert_problem(401, "missing_token");
    for token in [&student, &teacher] {
        app.post("/api/v1/career/companies", Some(token), body.clone())
            .await
            .assert_problem(403, "forbidden");
    }
    app.post(
        "/api/v1/career/companies",
        Some(&support),
        json!({"short_name": " ", "legal_name": ""}),
    )
    .await
    .assert_problem(422, "validation_failed");
    // PostgreSQL refuses NUL in text (SQLSTATE 22021): the caller's value, so 422, not 500.
    app.post(
        "/api/v1/career/companies",
        Some(&support),
        json!({"short_name": "Nul", "legal_name": "Nul\u{0}Corp"}),
    )
    .await
    .assert_problem(422, "invalid_value");
    let acme = company(&app, &support, "Acme Corporation Ltd").await;
    app.post("/api/v1/career/companies", Some(&support), body.clone())
        .await
        .assert_problem(409, "name_taken");
    let globex = company(&app, &support, "Globex Inc").await;
    let initech = company(&app, &support, "Initech LLC").await;

    let r = app
        .patch(
            &format!("/api/v1/career/companies/{globex}"),
            Some(&support),
            json!({"agreement_active": false, "requirements": "Rust, SQL"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["agreement_active"], false);
    assert_eq!(r.body["requirements"], "Rust, SQL");
    assert_eq!(r.body["graduates_hired"], 0);
    app.patch(
        &format!("/api/v1/career/companies/{initech}"),
        Some(&support),
        json!({"legal_name": "Acme Corporation Ltd"}),
    )
    .await
    .assert_problem(409, "name_taken");
    app.patch(
        "/api/v1/career/companies/999999",
        Some(&support),
        json!({"agreement_active": false}),
    )
    .await
    .assert_problem(404, "not_found");
    app.patch(
        &format!("/api/v1/career/companies/{acme}"),
        Some(&support),
        json!({"graduates_hired": 99}),
    )
    .await
    .assert_problem(422, "invalid_body");

    crate::support::fixtures::replicated(&app, "partner_companies WHERE NOT agreement_active", 1)
        .await;
    let all = app.get("/api/v1/career/companies").await;
    assert_eq!(all.status, StatusCode::OK);
    let names: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["short_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme", "Globex", "Initech"]);
    let active = app.get("/api/v1/career/companies?active=true").await;
    assert_eq!(active.body["items"].as_array().unwrap().len(), 2);
    let ended = app
        .get("/api/v1/career/companies?active=false&page_size=1")
        .await;
    assert_eq!(ended.body["items"][0]["id"], globex);
    assert_eq!(ended.body["has_more"], false);
    let paged = app.get("/api/v1/career/companies?page=2&page_size=2").await;
    assert_eq!(paged.body["items"][0]["id"], initech);
    app.get("/api/v1/career/companies?active=maybe")
        .await
        .assert_problem(400, "invalid_query");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracks_and_applications_follow_ownership_and_roles() {
    let app = spawn_app("career_tracks").await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    let admin = app.staff("admin@example.com", "admin").await;
    let support = app.staff("support@example.com", "support").await;
    let acme = company(&app, &support, "Acme Corporation Ltd").await;
    let ended = company(&app, &support, "Globex Inc").await;
    app.patch(
        &format!("/api/v1/career/companies/{ended}"),
        Some(&support),
        json!({"agreement_active": false}),
    )
    .await;

    let (grad, track) = graduate(&app, &admin, "grad@example.com", course).await;
    let (other, other_track) = graduate(&app, &support, "other@example.com", course).await;
    let grad_id = user_id(&app, "grad@example.com").await;
    app.post(
        "/api/v1/career/tracks",
        Some(&admin),
        json!({"user_id": grad_id, "course_id": course, "support_start": "2026-09-01"}),
    )
    .await
    .assert_problem(409, "track_exists");
    // A basic-plan buyer has no career support; a student cannot open tracks.
    let basic = app.register("basic@example.com").await;
    purchase(&app, "basic@example.com", course, "basic", "paid").await;
    let basic_id = user_id(&app, "basic@example.com").await;
    let body = json!({"user_id": basic_id, "course_id": course, "support_start": "2026-09-01"});
    app.post("/api/v1/career/tracks", Some(&admin), body.clone())
        .await
        .assert_problem(422, "validation_failed");
    app.post("/api/v1/career/tracks", Some(&basic), body.clone())
        .await
        .assert_problem(403, "forbidden");
    app.post(
        "/api/v1/career/tracks",
        Some(&admin),
        json!({"user_id": basic_id, "course_id": course, "support_start": "1800-01-01", "resume_url": "ftp://x"}),
    )
    .await
    .assert_problem(422, "validation_failed");

    // Own tracks only; staff see all.
    let mine = app.get_as("/api/v1/career/tracks", &grad).await;
    let ids: Vec<i64> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [track]);
    assert_eq!(
        mine.body["items"][0]["course_title"],
        "Rust for backend engineers"
    );
    let all = app.get_as("/api/v1/career/tracks", &support).await;
    assert_eq!(all.body["items"].as_array().unwrap().len(), 2);
    app.get("/api/v1/career/tracks")
        .await
        .assert_problem(401, "missing_token");

    // The graduate sets the resume; career staff extend the support; not the other way round.
    let path = format!("/api/v1/career/tracks/{track}");
    let r = app
        .patch(
            &path,
            Some(&grad),
            json!({"resume_url": "https://cv.example/ada.pdf"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["resume_url"], "https://cv.example/ada.pdf");
    app.patch(&path, Some(&grad), json!({"support_extended": true}))
        .await
        .assert_problem(403, "forbidden");
    app.patch(
        &path,
        Some(&support),
        json!({"resume_url": "https://x.example/y"}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.patch(
        &path,
        Some(&other),
        json!({"resume_url": "https://x.example/y"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let r = app
        .patch(&path, Some(&support), json!({"support_extended": true}))
        .await;
    assert_eq!(r.body["support_extended"], true);
    assert_eq!(r.body["resume_url"], "https://cv.example/ada.pdf");
    app.patch(
        "/api/v1/career/tracks/999999",
        Some(&support),
        json!({"support_extended": true}),
    )
    .await
    .assert_problem(404, "not_found");

    // Applications: the graduate applies to active partners only.
    let apps = format!("/api/v1/career/tracks/{track}/applications");
    let r = app
        .post(
            &apps,
            Some(&grad),
            json!({"company_id": acme, "applied_on": "2026-10-01"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "applied");
    assert_eq!(r.body["company"], "Acme");
    assert_eq!(r.body["applied_on"], "2026-10-01");
    let first = r.body["id"].as_i64().unwrap();
    let r = app
        .post(&apps, Some(&support), json!({"company_id": acme}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::CREATED,
        "career staff may add one too"
    );
    // Well formed; it is the stored agreement that refuses it.
    app.post(&apps, Some(&grad), json!({"company_id": ended}))
        .await
        .assert_problem(409, "conflict");
    app.post(&apps, Some(&grad), json!({"company_id": 999_999}))
        .await
        .assert_problem(404, "unknown_reference");
    app.post(&apps, Some(&other), json!({"company_id": acme}))
        .await
        .assert_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/career/tracks/{other_track}/applications"),
        Some(&grad),
        json!({"company_id": acme}),
    )
    .await
    .assert_problem(403, "forbidden");
    let listed = app.get_as(&apps, &grad).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
    app.get_as(&apps, &other)
        .await
        .assert_problem(403, "forbidden");
    app.get_as("/api/v1/career/tracks/999999/applications", &support)
        .await
        .assert_problem(404, "not_found");

    // Status changes: career staff only; hired moves the counter both ways, once.
    let status = format!("/api/v1/career/applications/{first}");
    app.patch(&status, Some(&grad), json!({"status": "hired"}))
        .await
        .assert_problem(403, "forbidden");
    app.patch(&status, Some(&support), json!({"status": "promoted"}))
        .await
        .assert_problem(422, "invalid_body");
    app.patch(
        "/api/v1/career/applications/999999",
        Some(&support),
        json!({"status": "hired"}),
    )
    .await
    .assert_problem(404, "not_found");
    for (to, expected) in [
        ("interview", 0),
        ("hired", 1),
        ("hired", 1),
        ("rejected", 0),
        ("hired", 1),
    ] {
        let r = app
            .patch(&status, Some(&support), json!({"status": to}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["status"], to);
        assert_eq!(
            hired_count(&app, acme).await,
            (expected, expected),
            "after {to}"
        );
    }
    // The course page and the employment report show the hire at once.
    let page = app.get(&format!("/api/v1/courses/{course}")).await;
    assert_eq!(
        page.body["stats"]["graduates_employed"], 1,
        "{}",
        page.body["stats"]
    );
    crate::support::fixtures::replicated(&app, "job_applications WHERE status = 'hired'", 1).await;
    let report = app.get_as("/api/v1/reports/employment", &support).await;
    assert_eq!(
        report.body["items"],
        json!([{"course_id": course, "course_title": "Rust for backend engineers",
                "company_id": acme, "company": "Acme", "hired": 1}])
    );
    app.stop().await;
}

/// PATCHes the status of `application` concurrently, `statuses` at once; all must answer 200.
async fn concurrent_moves(app: &TestApp, token: &str, moves: Vec<(i64, &'static str)>) {
    let mut tasks = tokio::task::JoinSet::new();
    for (application, status) in moves {
        let http = app.http.clone();
        let url = app.url(&format!("/api/v1/career/applications/{application}"));
        let token = token.to_owned();
        tasks.spawn(async move {
            let r = http
                .patch(url)
                .bearer_auth(token)
                .json(&json!({"status": status}))
                .send()
                .await
                .expect("sent");
            let code = r.status();
            let body: Value = r.json().await.unwrap_or_default();
            (code, body)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (code, body) = done.expect("task");
        assert_eq!(code, StatusCode::OK, "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_hired_counter_stays_exact_under_concurrent_status_changes() {
    let app = spawn_app("career_race").await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    let support = app.staff("support@example.com", "support").await;
    let acme = company(&app, &support, "Acme Corporation Ltd").await;
    let globex = company(&app, &support, "Globex Inc").await;
    let mut applications = Vec::new();
    for i in 0..6 {
        let (token, track) = graduate(&app, &support, &format!("g{i}@example.com"), course).await;
        for company in [acme, globex] {
            let r = app
                .post(
                    &format!("/api/v1/career/tracks/{track}/applications"),
                    Some(&token),
                    json!({"company_id": company}),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
            applications.push(r.body["id"].as_i64().unwrap());
        }
    }

    // The same move 20 times at once: exactly one increment.
    let one = applications[0];
    concurrent_moves(&app, &support, vec![(one, "hired"); 20]).await;
    assert_eq!(hired_count(&app, acme).await, (1, 1));

    // Many moves of many applications of two companies at once, in and out of hired.
    let cycle = [
        "hired",
        "offer",
        "hired",
        "rejected",
        "hired",
        "interview",
        "hired",
    ];
    let mut moves = Vec::new();
    for round in 0..7 {
        for (i, &application) in applications.iter().enumerate() {
            moves.push((application, cycle[(round + i) % cycle.len()]));
        }
    }
    assert_eq!(moves.len(), 84);
    concurrent_moves(&app, &support, moves).await;
    for company in [acme, globex] {
        let (counter, truth) = hired_count(&app, company).await;
        assert_eq!(
            counter, truth,
            "company {company}: counter {counter}, hired rows {truth}"
        );
    }

    // And a final deterministic wave: everyone hired, then everyone out.
    let all_hired: Vec<_> = applications.iter().map(|&a| (a, "hired")).collect();
    concurrent_moves(&app, &support, all_hired).await;
    assert_eq!(hired_count(&app, acme).await, (6, 6));
    assert_eq!(hired_count(&app, globex).await, (6, 6));
    let all_out: Vec<_> = applications
        .iter()
        .flat_map(|&a| [(a, "rejected"), (a, "rejected")])
        .collect();
    concurrent_moves(&app, &support, all_out).await;
    assert_eq!(hired_count(&app, acme).await, (0, 0));
    assert_eq!(hired_count(&app, globex).await, (0, 0));
    app.stop().await;
}
