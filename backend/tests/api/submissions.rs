//! Learning against the real stack: submitting projects, the review queue (claims, expiry,
//! decisions), progress, and the certificate the last acceptance issues; concurrent claims
//! and concurrent last acceptances.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use crate::support::fixtures::{buy, purchase, user_id};
use crate::support::{TestApp, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The Rust course of the catalog fixture and its three projects in syllabus order.
pub(crate) async fn rust_course(app: &TestApp) -> (i64, Vec<i64>) {
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    let mut projects = vec![];
    for n in 1..=3 {
        projects.push(
            app.scalar_i64(&format!(
                "SELECT p.id FROM projects p JOIN topics t ON t.id = p.topic_id \
                  WHERE t.course_id = {course} ORDER BY t.position, p.id OFFSET {} LIMIT 1",
                n - 1
            ))
            .await,
        );
    }
    (course, projects)
}

/// Assigns the staff member `email` to the course in `role` (by an admin, through the API).
pub(crate) async fn assign(app: &TestApp, admin: &str, course: i64, role: &str, email: &str) {
    let id = user_id(app, email).await;
    let r = app
        .put(
            &format!("/api/v1/courses/{course}/staff/{role}/{id}"),
            Some(admin),
            json!({}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
}

/// A reviewer assigned to the course (by an admin, through the API); their token.
pub(crate) async fn reviewer(app: &TestApp, admin: &str, email: &str, course: i64) -> String {
    let token = app.staff(email, "reviewer").await;
    assign(app, admin, course, "reviewer", email).await;
    token
}

fn work(project: i64, url: &str) -> Value {
    json!({"project_id": project, "repository_url": url, "note": "please look"})
}

async fn submit(app: &TestApp, token: &str, course: i64, project: i64, url: &str) -> Value {
    let r = app
        .post(
            &format!("/api/v1/courses/{course}/submissions"),
            Some(token),
            work(project, url),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

pub(crate) async fn claim(app: &TestApp, token: &str) -> Option<Value> {
    let r = app
        .post("/api/v1/review-queue/claim", Some(token), json!({}))
        .await;
    match r.status {
        StatusCode::OK => Some(r.body),
        StatusCode::NO_CONTENT => None,
        other => panic!("claim answered {other}: {}", r.body),
    }
}

pub(crate) async fn decide(
    app: &TestApp,
    token: &str,
    id: i64,
    action: &str,
    feedback: &str,
) -> Value {
    let r = app
        .post(
            &format!("/api/v1/submissions/{id}/{action}"),
            Some(token),
            json!({ "feedback": feedback }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn students_submit_reviewers_decide_and_the_last_acceptance_certifies() {
    let app = spawn_app("learning_flow").await;
    let (course, p) = rust_course(&app).await;
    let admin = app.staff("admin@learn.test", "admin").await;
    let rev = reviewer(&app, &admin, "rev@learn.test", course).await;
    let rev2 = reviewer(&app, &admin, "rev2@learn.test", course).await;
    let mentor = app.staff("mentor@learn.test", "mentor").await;
    let student = app.register("student@learn.test").await;
    buy(&app, "student@learn.test", course).await;
    let outsider = app.register("outsider@learn.test").await;
    purchase(&app, "outsider@learn.test", course, "basic", "refunded").await;
    let other_course = app.course_id("Python data analysis").await;
    let foreign = app
        .scalar_i64(&format!(
            "WITH t AS (INSERT INTO topics (course_id, position, name, effort_hours) \
                        VALUES ({other_course}, 1, 'Pandas', 3) RETURNING id) \
             INSERT INTO projects (topic_id, title) SELECT id, 'Plots' FROM t RETURNING id"
        ))
        .await;
    let path = format!("/api/v1/courses/{course}/submissions");

    // Bad input: no token, not enrolled (a refund ends the enrollment), no such course, a
    // project of another course, a URL that is not http(s), a missing field.
    app.post(&path, None, work(p[0], "https://git.example/s/1"))
        .await
        .assert_problem(401, "missing_token");
    app.post(
        &path,
        Some(&outsider),
        work(p[0], "https://git.example/o/1"),
    )
    .await
    .assert_problem(403, "not_enrolled");
    app.post(
        "/api/v1/courses/999999/submissions",
        Some(&student),
        work(p[0], "https://git.example/s/1"),
    )
    .await
    .assert_problem(404, "not_found");
    let r = app
        .post(
            &path,
            Some(&student),
            work(foreign, "https://git.example/s/1"),
        )
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "project_id");
    let r = app
        .post(&path, Some(&student), work(p[0], "ftp://git.example/s/1"))
        .await;
    r.assert_problem(422, "validation_failed");
    assert_eq!(r.body["errors"][0]["field"], "repository_url");
    app.post(&path, Some(&student), json!({"project_id": p[0]}))
        .await
        .assert_problem(422, "invalid_body");

    // A submission, its replay, and a second attempt while it waits.
    let first = submit(&app, &student, course, p[0], "https://git.example/s/1").await;
    assert_eq!(first["status"], "submitted");
    assert_eq!(first["attempt"], 1);
    let again = app
        .post(&path, Some(&student), work(p[0], "https://git.example/s/1"))
        .await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["id"], first["id"]);
    app.post(
        &path,
        Some(&student),
        work(p[0], "https://git.example/s/other"),
    )
    .await
    .assert_problem(409, "submission_open");

    // The queue: only the course's reviewers; a reviewer holds one claim at a time.
    for token in [&student, &mentor, &admin] {
        app.post("/api/v1/review-queue/claim", Some(token), json!({}))
            .await
            .assert_problem(403, "forbidden");
    }
    let held = claim(&app, &rev).await.expect("a submission");
    assert_eq!(held["id"], first["id"]);
    assert_eq!(held["status"], "in_review");
    assert_eq!(claim(&app, &rev).await.unwrap()["id"], first["id"]);
    assert!(claim(&app, &rev2).await.is_none(), "the only one is held");
    let id = first["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/submissions/{id}/accept"),
        Some(&rev2),
        json!({}),
    )
    .await
    .assert_problem(409, "claimed_by_another");
    app.post(
        &format!("/api/v1/submissions/{id}/accept"),
        Some(&mentor),
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post(
        &format!("/api/v1/submissions/{id}/return"),
        Some(&rev),
        json!({"feedback": " "}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post("/api/v1/submissions/999999/accept", Some(&rev), json!({}))
        .await
        .assert_problem(404, "not_found");

    // Comments: the course's mentor (once assigned) and reviewers; the student reads them.
    let comments = format!("/api/v1/submissions/{id}/comments");
    app.post(
        &comments,
        Some(&mentor),
        json!({"body": "try smaller functions"}),
    )
    .await
    .assert_problem(403, "forbidden");
    assign(&app, &admin, course, "mentor", "mentor@learn.test").await;
    let said = app
        .post(
            &comments,
            Some(&mentor),
            json!({"body": "try smaller functions"}),
        )
        .await;
    assert_eq!(said.status, StatusCode::CREATED, "{}", said.body);
    let again = app
        .post(
            &comments,
            Some(&mentor),
            json!({"body": "try smaller functions"}),
        )
        .await;
    assert_eq!(
        again.body["id"], said.body["id"],
        "a retry stores nothing twice"
    );
    for token in [&student, &outsider] {
        app.post(&comments, Some(token), json!({"body": "me too"}))
            .await
            .assert_problem(403, "forbidden");
    }
    app.post(&comments, Some(&rev), json!({"body": "  "}))
        .await
        .assert_problem(422, "validation_failed");
    let seen = app
        .get_as(&format!("/api/v1/submissions/{id}"), &student)
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    assert_eq!(seen.body["comments"].as_array().unwrap().len(), 1);
    assert_eq!(seen.body["comments"][0]["body"], "try smaller functions");
    app.get_as(&format!("/api/v1/submissions/{id}"), &outsider)
        .await
        .assert_problem(404, "not_found");

    // A return, its retry, and the student's second attempt.
    let returned = decide(&app, &rev, id, "return", "add tests").await;
    assert_eq!(returned["submission"]["status"], "returned");
    assert_eq!(returned["submission"]["feedback"], "add tests");
    assert_eq!(
        decide(&app, &rev, id, "return", "add tests").await,
        returned
    );
    app.post(
        &format!("/api/v1/submissions/{id}/accept"),
        Some(&rev),
        json!({}),
    )
    .await
    .assert_problem(409, "already_decided");
    let second = submit(&app, &student, course, p[0], "https://git.example/s/2").await;
    assert_eq!(second["attempt"], 2);
    let progress = app
        .get_as(&format!("/api/v1/me/courses/{course}/progress"), &student)
        .await;
    assert_eq!(progress.status, StatusCode::OK, "{}", progress.body);
    let topics = progress.body["topics"].as_array().unwrap();
    assert_eq!(topics.len(), 2);
    let first_project = &topics[0]["projects"][0];
    assert_eq!(first_project["status"], "submitted");
    assert_eq!(first_project["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(first_project["attempts"][1]["feedback"], "add tests");
    assert_eq!(topics[1]["projects"][0]["status"], Value::Null);
    assert_eq!(
        (
            progress.body["accepted"].as_i64(),
            progress.body["total"].as_i64()
        ),
        (Some(0), Some(3))
    );

    // Acceptances; only the last project's issues the certificate.
    let s2 = claim(&app, &rev2).await.unwrap();
    assert_eq!(s2["id"], second["id"]);
    let accepted = decide(&app, &rev2, s2["id"].as_i64().unwrap(), "accept", "").await;
    assert_eq!(accepted["submission"]["status"], "accepted");
    assert_eq!(accepted["certificate_serial"], Value::Null);
    app.post(&path, Some(&student), work(p[0], "https://git.example/s/3"))
        .await
        .assert_problem(409, "already_accepted");
    let s3 = submit(&app, &student, course, p[1], "https://git.example/s/p2").await;
    let s4 = submit(&app, &student, course, p[2], "https://git.example/s/p3").await;
    let c3 = claim(&app, &rev).await.unwrap();
    assert_eq!(c3["id"], s3["id"], "oldest first");
    app.post(
        &format!("/api/v1/submissions/{}/accept", s4["id"]),
        Some(&rev),
        json!({}),
    )
    .await
    .assert_problem(409, "not_claimed");
    decide(&app, &rev, s3["id"].as_i64().unwrap(), "accept", "good").await;
    let c4 = claim(&app, &rev).await.unwrap();
    let last = decide(&app, &rev, c4["id"].as_i64().unwrap(), "accept", "").await;
    let serial = last["certificate_serial"].as_str().expect("certificate");
    let progress = app
        .get_as(&format!("/api/v1/me/courses/{course}/progress"), &student)
        .await;
    assert_eq!(progress.body["accepted"], 3);
    assert_eq!(progress.body["topics"][1]["accepted"], 2);
    // The course page counts the graduate at once (its cached copy is replaced).
    let page = app.get(&format!("/api/v1/courses/{course}")).await;
    let stats = &page.body["stats"];
    assert_eq!(stats["graduates"], 1, "{stats}");
    assert_eq!(
        stats["completion_rate"].as_f64().unwrap(),
        1.0 / stats["buyers"].as_f64().unwrap()
    );
    let mine = app.get_as("/api/v1/me/certificates", &student).await;
    assert_eq!(mine.body["items"][0]["serial_number"], serial);
    assert_eq!(mine.body["items"][0]["course_id"], course);
    assert!(claim(&app, &rev).await.is_none());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_not_finished_in_time_goes_back_to_the_queue() {
    let app = spawn_app_with("learning_expiry", |c| c.learning.claim_hold_s = 1).await;
    let (course, p) = rust_course(&app).await;
    let admin = app.staff("admin@expiry.test", "admin").await;
    let slow = reviewer(&app, &admin, "slow@expiry.test", course).await;
    let quick = reviewer(&app, &admin, "quick@expiry.test", course).await;
    let student = app.register("s@expiry.test").await;
    buy(&app, "s@expiry.test", course).await;
    let s = submit(&app, &student, course, p[0], "https://git.example/e/1").await;
    assert_eq!(claim(&app, &slow).await.unwrap()["id"], s["id"]);
    assert!(claim(&app, &quick).await.is_none());
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(claim(&app, &quick).await.unwrap()["id"], s["id"]);
    app.post(
        &format!("/api/v1/submissions/{}/accept", s["id"]),
        Some(&slow),
        json!({}),
    )
    .await
    .assert_problem(409, "claimed_by_another");
    decide(&app, &quick, s["id"].as_i64().unwrap(), "accept", "").await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reviewers_never_claim_the_same_submission() {
    const STUDENTS: usize = 16;
    const REVIEWERS: usize = 4;
    let app = spawn_app("learning_claims").await;
    let (course, p) = rust_course(&app).await;
    let admin = app.staff("admin@claims.test", "admin").await;
    let students = app.students("claimer", STUDENTS).await;
    let mut submitted = HashSet::new();
    for (i, (_, token)) in students.iter().enumerate() {
        buy(&app, &format!("claimer{i}@example.com"), course).await;
        let s = submit(
            &app,
            token,
            course,
            p[0],
            &format!("https://git.example/c/{i}"),
        )
        .await;
        submitted.insert(s["id"].as_i64().unwrap());
    }
    let mut reviewers = vec![];
    for r in 0..REVIEWERS {
        reviewers.push(reviewer(&app, &admin, &format!("r{r}@claims.test"), course).await);
    }
    // Each reviewer claims and accepts until the queue is empty, all at once.
    let mut work = tokio::task::JoinSet::new();
    for token in reviewers {
        let (http, base) = (app.http.clone(), app.url(""));
        work.spawn(async move {
            let mut mine = vec![];
            loop {
                let r = http
                    .post(format!("{base}/api/v1/review-queue/claim"))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap();
                if r.status() == StatusCode::NO_CONTENT {
                    return mine;
                }
                assert_eq!(r.status(), StatusCode::OK);
                let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
                let done = http
                    .post(format!("{base}/api/v1/submissions/{id}/accept"))
                    .bearer_auth(&token)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(done.status(), StatusCode::OK);
                mine.push(id);
            }
        });
    }
    let claimed: Vec<i64> = work.join_all().await.into_iter().flatten().collect();
    let distinct: HashSet<i64> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), STUDENTS, "each claimed once: {claimed:?}");
    assert_eq!(distinct, submitted);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_last_acceptances_issue_exactly_one_certificate() {
    const ROUNDS: usize = 6;
    let app = spawn_app("learning_completion").await;
    let (course, p) = rust_course(&app).await;
    let admin = app.staff("admin@done.test", "admin").await;
    let a = reviewer(&app, &admin, "a@done.test", course).await;
    let b = reviewer(&app, &admin, "b@done.test", course).await;
    let students = app.students("finisher", ROUNDS).await;
    for (i, (id, token)) in students.iter().enumerate() {
        buy(&app, &format!("finisher{i}@example.com"), course).await;
        // The first project accepted already; the last two wait, one held by each reviewer.
        app.sql(&format!(
            "INSERT INTO submissions (user_id, course_id, project_id, attempt, repository_url, \
               status, reviewed_at) VALUES ({id}, {course}, {}, 1, 'https://git.example/d', \
               'accepted', now())",
            p[0]
        ))
        .await;
        submit(&app, token, course, p[1], "https://git.example/d/2").await;
        submit(&app, token, course, p[2], "https://git.example/d/3").await;
        let (ca, cb) = (
            claim(&app, &a).await.unwrap(),
            claim(&app, &b).await.unwrap(),
        );
        let accept = |token: String, id: i64| {
            let (http, url) = (
                app.http.clone(),
                app.url(&format!("/api/v1/submissions/{id}/accept")),
            );
            async move {
                let r = http.post(url).bearer_auth(token).json(&json!({})).send();
                let r = r.await.unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                r.json::<Value>().await.unwrap()
            }
        };
        let (ra, rb) = tokio::join!(
            accept(a.clone(), ca["id"].as_i64().unwrap()),
            accept(b.clone(), cb["id"].as_i64().unwrap())
        );
        let certificates = app
            .scalar_i64(&format!(
                "SELECT count(*) FROM certificates WHERE user_id = {id} AND course_id = {course}"
            ))
            .await;
        assert_eq!(certificates, 1, "round {i}: {ra} {rb}");
        // The first to commit did not complete the course; the second saw it and did.
        let serials: Vec<&Value> = [&ra, &rb]
            .into_iter()
            .map(|r| &r["certificate_serial"])
            .filter(|s| !s.is_null())
            .collect();
        assert_eq!(serials.len(), 1, "round {i}: {ra} {rb}");
    }
    app.stop().await;
}
