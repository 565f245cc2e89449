//! The authorization matrix: every role × every write route of the OpenAPI document, each
//! cell on fresh fixtures, with the expected status; and cross-user checks that nobody reads
//! or changes another user's purchases, reviews, certificates, career track or profile.
//!
//! The write routes are read from `/api/v1/openapi.json`: a write route without a row in
//! [`MATRIX`] fails the test, so a new route cannot ship without an authorization decision.
//! docs/SECURITY.md shows the same table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use crate::support::fixtures::{purchase, replicated, user_id};
use crate::support::{Reply, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Everyone the matrix tries: no token, a student, and each staff position.
const ROLES: &[&str] = &[
    "anonymous",
    "student",
    "teacher",
    "mentor",
    "reviewer",
    "support",
    "smm",
    "admin",
];

/// Who may call a write route. The resource a cell acts on always belongs to a third party
/// (the `owner` student, or the `author` smm member), never to the caller.
struct Row {
    route: &'static str,
    /// Roles answered with the route's documented success status.
    allowed: &'static [&'static str],
    /// What every other authenticated role gets (anonymous callers always get 401, except on
    /// the public routes, where everyone is allowed).
    refused: u16,
}

const EVERYONE: &[&str] = &[
    "anonymous",
    "student",
    "teacher",
    "mentor",
    "reviewer",
    "support",
    "smm",
    "admin",
];
const TOKEN: &[&str] = &[
    "student", "teacher", "mentor", "reviewer", "support", "smm", "admin",
];
const CATALOG: &[&str] = &["teacher", "admin"];
const CAREER: &[&str] = &["support", "admin"];
const BLOG: &[&str] = &["smm", "admin"];
const ADMIN: &[&str] = &["admin"];

const MATRIX: &[Row] = &[
    Row {
        route: "POST /api/v1/auth/register",
        allowed: EVERYONE,
        refused: 0,
    },
    Row {
        route: "POST /api/v1/auth/login",
        allowed: EVERYONE,
        refused: 0,
    },
    // The refresh token is the credential; a bearer token is neither needed nor looked at.
    Row {
        route: "POST /api/v1/auth/refresh",
        allowed: EVERYONE,
        refused: 0,
    },
    Row {
        route: "PATCH /api/v1/me",
        allowed: TOKEN,
        refused: 0,
    },
    // These two end the caller's session(s): each cell runs as a fresh user of the role.
    Row {
        route: "POST /api/v1/auth/logout",
        allowed: TOKEN,
        refused: 0,
    },
    Row {
        route: "POST /api/v1/me/password",
        allowed: TOKEN,
        refused: 0,
    },
    Row {
        route: "POST /api/v1/me/email",
        allowed: TOKEN,
        refused: 0,
    },
    Row {
        route: "POST /api/v1/users",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "PUT /api/v1/users/{id}/role",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/users/{id}/deactivate",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/users/{id}/reactivate",
        allowed: ADMIN,
        refused: 403,
    },
    // Another teacher's profile: a teacher may write only their own (tests/api/teachers.rs).
    Row {
        route: "PUT /api/v1/teachers/{id}",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/specializations",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "PATCH /api/v1/specializations/{id}",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "DELETE /api/v1/specializations/{id}",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/difficulty-levels",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "PATCH /api/v1/difficulty-levels/{id}",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "DELETE /api/v1/difficulty-levels/{id}",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/courses",
        allowed: CATALOG,
        refused: 403,
    },
    Row {
        route: "PATCH /api/v1/courses/{id}",
        allowed: CATALOG,
        refused: 403,
    },
    Row {
        route: "DELETE /api/v1/courses/{id}",
        allowed: CATALOG,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/courses/{id}/topics",
        allowed: CATALOG,
        refused: 403,
    },
    Row {
        route: "PATCH /api/v1/courses/{id}/topics/{topic_id}",
        allowed: CATALOG,
        refused: 403,
    },
    Row {
        route: "DELETE /api/v1/courses/{id}/topics/{topic_id}",
        allowed: CATALOG,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/courses/{id}/runs",
        allowed: CATALOG,
        refused: 403,
    },
    Row {
        route: "PATCH /api/v1/courses/{id}/runs/{run_id}",
        allowed: CATALOG,
        refused: 403,
    },
    Row {
        route: "DELETE /api/v1/courses/{id}/runs/{run_id}",
        allowed: CATALOG,
        refused: 403,
    },
    // A teacher of *this* course may manage its mentors (tests/api/course_staff.rs); the
    // matrix's teacher teaches no course.
    Row {
        route: "PUT /api/v1/courses/{id}/staff/{role}/{user_id}",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "DELETE /api/v1/courses/{id}/staff/{role}/{user_id}",
        allowed: ADMIN,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/purchases",
        allowed: TOKEN,
        refused: 0,
    },
    // Another user's purchase does not exist for the caller (no id probing).
    Row {
        route: "POST /api/v1/purchases/{id}/pay",
        allowed: &[],
        refused: 404,
    },
    Row {
        route: "POST /api/v1/purchases/{id}/cancel",
        allowed: &[],
        refused: 404,
    },
    Row {
        route: "POST /api/v1/purchases/{id}/refund",
        allowed: CAREER,
        refused: 404,
    },
    // Reviews need a paid purchase of the course; every cell's caller has one.
    Row {
        route: "POST /api/v1/courses/{id}/reviews",
        allowed: TOKEN,
        refused: 0,
    },
    Row {
        route: "PATCH /api/v1/reviews/{id}",
        allowed: &[],
        refused: 403,
    },
    Row {
        route: "DELETE /api/v1/reviews/{id}",
        allowed: &["admin"],
        refused: 403,
    },
    Row {
        route: "POST /api/v1/certificates",
        allowed: CATALOG,
        refused: 403,
    },
    // Anyone enrolled (each cell's caller buys the course first).
    Row {
        route: "POST /api/v1/courses/{id}/submissions",
        allowed: TOKEN,
        refused: 403,
    },
    // Only reviewers assigned to a course (the world's reviewer is, on each cell's course).
    Row {
        route: "POST /api/v1/review-queue/claim",
        allowed: &["reviewer"],
        refused: 403,
    },
    // The owner's submission, claimed by the world's reviewer: others do not see it.
    Row {
        route: "POST /api/v1/submissions/{id}/accept",
        allowed: &["reviewer"],
        refused: 404,
    },
    Row {
        route: "POST /api/v1/submissions/{id}/return",
        allowed: &["reviewer"],
        refused: 404,
    },
    // The world's mentor and reviewer work on each cell's course.
    Row {
        route: "POST /api/v1/submissions/{id}/comments",
        allowed: &["mentor", "reviewer"],
        refused: 403,
    },
    Row {
        route: "POST /api/v1/career/companies",
        allowed: CAREER,
        refused: 403,
    },
    Row {
        route: "PATCH /api/v1/career/companies/{id}",
        allowed: CAREER,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/career/tracks",
        allowed: CAREER,
        refused: 403,
    },
    Row {
        route: "PATCH /api/v1/career/tracks/{id}",
        allowed: CAREER,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/career/tracks/{id}/applications",
        allowed: CAREER,
        refused: 403,
    },
    Row {
        route: "PATCH /api/v1/career/applications/{id}",
        allowed: CAREER,
        refused: 403,
    },
    Row {
        route: "POST /api/v1/blog/posts",
        allowed: BLOG,
        refused: 403,
    },
    Row {
        route: "PATCH /api/v1/blog/posts/{id}",
        allowed: BLOG,
        refused: 403,
    },
    Row {
        route: "DELETE /api/v1/blog/posts/{id}",
        allowed: BLOG,
        refused: 403,
    },
];

static NEXT: AtomicU64 = AtomicU64::new(1);

fn unique() -> u64 {
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// The users of the test and their tokens.
struct World {
    tokens: Vec<(&'static str, Option<String>)>,
    emails: Vec<(&'static str, String)>,
    owner: String,
    owner_token: String,
    owner_id: i64,
    author_id: i64,
}

impl World {
    fn token(&self, role: &str) -> Option<&str> {
        self.tokens
            .iter()
            .find(|(r, _)| *r == role)
            .and_then(|(_, t)| t.as_deref())
    }
    fn email(&self, role: &str) -> &str {
        self.emails
            .iter()
            .find(|(r, _)| *r == role)
            .map_or("", |(_, e)| e.as_str())
    }
}

async fn world(app: &TestApp) -> World {
    let mut tokens = vec![("anonymous", None)];
    let mut emails = vec![];
    for role in &ROLES[1..] {
        let email = format!("{role}@matrix.test");
        let token = if *role == "student" {
            app.register(&email).await
        } else {
            app.staff(&email, role).await
        };
        tokens.push((*role, Some(token)));
        emails.push((*role, email));
    }
    let owner_token = app.register("owner@matrix.test").await;
    app.staff("author@matrix.test", "smm").await;
    World {
        tokens,
        emails,
        owner: "owner@matrix.test".into(),
        owner_token,
        owner_id: user_id(app, "owner@matrix.test").await,
        author_id: user_id(app, "author@matrix.test").await,
    }
}

async fn new_course(app: &TestApp) -> i64 {
    app.scalar_i64(&format!(
        "INSERT INTO courses (title, description, specialization_id, difficulty_level_id, duration_weeks, price, published)
         SELECT 'Matrix course {}', 'd', s.id, d.id, 4, 10000, true
         FROM specializations s, difficulty_levels d WHERE s.slug = 'backend' AND d.code = 'beginner'
         RETURNING id",
        unique()
    ))
    .await
}

async fn new_run(app: &TestApp, course: i64) -> i64 {
    app.run_with_seats(course, 5).await
}

async fn purchase_id(app: &TestApp, email: &str, course: i64) -> i64 {
    app.scalar_i64(&format!(
        "SELECT p.id FROM purchases p JOIN users u ON u.id = p.user_id JOIN course_runs r ON r.id = p.course_run_id
         WHERE u.email = '{email}' AND r.course_id = {course} ORDER BY p.id DESC LIMIT 1"
    ))
    .await
}

async fn company(app: &TestApp) -> i64 {
    app.scalar_i64(&format!(
        "INSERT INTO partner_companies (short_name, legal_name) VALUES ('Co', 'Matrix Company {}') RETURNING id",
        unique()
    ))
    .await
}

/// A fresh course with one run and one project, the world's reviewer assigned to review it;
/// the course and the project.
async fn learning_course(app: &TestApp, w: &World) -> (i64, i64) {
    let course = new_course(app).await;
    new_run(app, course).await;
    let project = app
        .scalar_i64(&format!(
            "WITH t AS (INSERT INTO topics (course_id, position, name, effort_hours) \
                        VALUES ({course}, 1, 'T', 1) RETURNING id) \
             INSERT INTO projects (topic_id, title) SELECT id, 'P' FROM t RETURNING id"
        ))
        .await;
    let reviewer = user_id(app, w.email("reviewer")).await;
    app.sql(&format!(
        "INSERT INTO course_staff (course_id, user_id, role) VALUES ({course}, {reviewer}, 'reviewer')"
    ))
    .await;
    (course, project)
}

/// The owner's career track on a fresh course (career-track plan, paid).
async fn track(app: &TestApp, w: &World) -> i64 {
    let course = new_course(app).await;
    new_run(app, course).await;
    purchase(app, &w.owner, course, "career_track", "paid").await;
    app.scalar_i64(&format!(
        "INSERT INTO career_tracks (user_id, course_id, support_start) VALUES ({}, {course}, current_date) RETURNING id",
        w.owner_id
    ))
    .await
}

/// The request of one cell: path, body, extra header; fixtures created fresh.
async fn prepare(
    app: &TestApp,
    w: &World,
    route: &str,
    role: &str,
) -> (String, Option<Value>, Option<(&'static str, String)>) {
    let n = unique();
    let course_body = json!({"title": format!("Matrix new {n}"), "description": "d", "specialization": "backend",
                             "difficulty": "beginner", "duration_weeks": 4, "price": 1000, "published": true});
    match route {
        "POST /api/v1/auth/register" => (
            "/api/v1/auth/register".into(),
            Some(
                json!({"email": format!("new{n}@matrix.test"), "password": "correct horse battery",
                        "first_name": "N", "last_name": "N", "birth_date": "2000-01-01"}),
            ),
            None,
        ),
        "POST /api/v1/auth/login" => (
            "/api/v1/auth/login".into(),
            Some(json!({"email": w.owner, "password": "correct horse battery"})),
            None,
        ),
        "POST /api/v1/auth/refresh" => {
            let login = app
                .post(
                    "/api/v1/auth/login",
                    None,
                    json!({"email": w.owner, "password": "correct horse battery"}),
                )
                .await;
            let refresh = login.body["refresh_token"].as_str().expect("refresh token");
            (
                "/api/v1/auth/refresh".into(),
                Some(json!({ "refresh_token": refresh })),
                None,
            )
        }
        "POST /api/v1/auth/logout" => ("/api/v1/auth/logout".into(), None, None),
        "POST /api/v1/me/email" => (
            "/api/v1/me/email".into(),
            Some(json!({"password": "correct horse battery",
                        "email": format!("moved{n}@matrix.test")})),
            None,
        ),
        "POST /api/v1/me/password" => (
            "/api/v1/me/password".into(),
            Some(json!({"current_password": "correct horse battery",
                        "new_password": "another horse battery"})),
            None,
        ),
        "PATCH /api/v1/me" => (
            "/api/v1/me".into(),
            Some(json!({"phone": "+15550100"})),
            None,
        ),
        "POST /api/v1/users" => (
            "/api/v1/users".into(),
            Some(json!({"account": {"email": format!("staff{n}@matrix.test"),
                                    "password": "correct horse battery", "first_name": "N",
                                    "last_name": "N", "birth_date": "2000-01-01"},
                        "position": "mentor"})),
            None,
        ),
        // Each cell on a fresh student, so no cell changes a world user's role or tokens.
        "PUT /api/v1/users/{id}/role"
        | "POST /api/v1/users/{id}/deactivate"
        | "POST /api/v1/users/{id}/reactivate" => {
            let email = format!("target{n}@matrix.test");
            app.register(&email).await;
            let id = user_id(app, &email).await;
            let (path, body) = match route {
                "PUT /api/v1/users/{id}/role" => (
                    format!("/api/v1/users/{id}/role"),
                    Some(json!({"role": "staff", "position": "mentor"})),
                ),
                "POST /api/v1/users/{id}/deactivate" => {
                    (format!("/api/v1/users/{id}/deactivate"), None)
                }
                _ => (format!("/api/v1/users/{id}/reactivate"), None),
            };
            (path, body, None)
        }
        "PUT /api/v1/teachers/{id}" => {
            let email = format!("teacher{n}@matrix.test");
            app.staff(&email, "teacher").await;
            let id = user_id(app, &email).await;
            (
                format!("/api/v1/teachers/{id}"),
                Some(json!({"workplace": "Matrix Inc", "years_experience": 3,
                            "years_in_specialization": 1})),
                None,
            )
        }
        // Each cell on its own unused row, so a delete is never refused for being in use.
        "POST /api/v1/specializations" => (
            "/api/v1/specializations".into(),
            Some(json!({"slug": format!("matrix-{n}"), "name": format!("Matrix {n}")})),
            None,
        ),
        "PATCH /api/v1/specializations/{id}" | "DELETE /api/v1/specializations/{id}" => {
            let s = app
                .scalar_i64(&format!(
                    "INSERT INTO specializations (slug, name) VALUES ('cell-{n}', 'Cell {n}') RETURNING id::bigint"
                ))
                .await;
            let body = route
                .starts_with("PATCH")
                .then(|| json!({"name": format!("Renamed {n}")}));
            (format!("/api/v1/specializations/{s}"), body, None)
        }
        "POST /api/v1/difficulty-levels" => (
            "/api/v1/difficulty-levels".into(),
            Some(
                json!({"code": format!("matrix_{n}"), "name": "Matrix", "sort_order": 4 + n % 400}),
            ),
            None,
        ),
        "PATCH /api/v1/difficulty-levels/{id}" | "DELETE /api/v1/difficulty-levels/{id}" => {
            let d = app
                .scalar_i64(&format!(
                    "INSERT INTO difficulty_levels (code, name, sort_order) VALUES ('cell_{n}', 'Cell', {}) RETURNING id::bigint",
                    600 + n
                ))
                .await;
            let body = route
                .starts_with("PATCH")
                .then(|| json!({"name": format!("Renamed {n}")}));
            (format!("/api/v1/difficulty-levels/{d}"), body, None)
        }
        "POST /api/v1/courses" => ("/api/v1/courses".into(), Some(course_body), None),
        "PATCH /api/v1/courses/{id}" => {
            let c = new_course(app).await;
            (
                format!("/api/v1/courses/{c}"),
                Some(json!({"price": 12345})),
                None,
            )
        }
        "DELETE /api/v1/courses/{id}" => {
            let c = new_course(app).await;
            (format!("/api/v1/courses/{c}"), None, None)
        }
        "POST /api/v1/courses/{id}/topics" => {
            let c = new_course(app).await;
            (
                format!("/api/v1/courses/{c}/topics"),
                Some(json!({"name": "T", "effort_hours": 1})),
                None,
            )
        }
        "PATCH /api/v1/courses/{id}/topics/{topic_id}"
        | "DELETE /api/v1/courses/{id}/topics/{topic_id}" => {
            let c = new_course(app).await;
            let t = app
                .scalar_i64(&format!(
                    "INSERT INTO topics (course_id, position, name, effort_hours) VALUES ({c}, 1, 'T', 1) RETURNING id"
                ))
                .await;
            let body = route
                .starts_with("PATCH")
                .then(|| json!({"name": "Renamed"}));
            (format!("/api/v1/courses/{c}/topics/{t}"), body, None)
        }
        "POST /api/v1/courses/{id}/runs" => {
            let c = new_course(app).await;
            (
                format!("/api/v1/courses/{c}/runs"),
                Some(
                    json!({"start_date": "2099-01-10", "sales_end_date": "2099-01-01", "seats_total": 5}),
                ),
                None,
            )
        }
        "PATCH /api/v1/courses/{id}/runs/{run_id}"
        | "DELETE /api/v1/courses/{id}/runs/{run_id}" => {
            let c = new_course(app).await;
            let r = new_run(app, c).await;
            let body = route
                .starts_with("PATCH")
                .then(|| json!({"seats_total": 9}));
            (format!("/api/v1/courses/{c}/runs/{r}"), body, None)
        }
        "PUT /api/v1/courses/{id}/staff/{role}/{user_id}"
        | "DELETE /api/v1/courses/{id}/staff/{role}/{user_id}" => {
            let c = new_course(app).await;
            let email = format!("mentor{n}@matrix.test");
            app.staff(&email, "mentor").await;
            let id = user_id(app, &email).await;
            if route.starts_with("DELETE") {
                app.sql(&format!(
                    "INSERT INTO course_staff (course_id, user_id, role) VALUES ({c}, {id}, 'mentor')"
                ))
                .await;
            }
            (format!("/api/v1/courses/{c}/staff/mentor/{id}"), None, None)
        }
        "POST /api/v1/purchases" => {
            let c = new_course(app).await;
            let r = new_run(app, c).await;
            (
                "/api/v1/purchases".into(),
                Some(json!({"course_run_id": r, "plan": "basic"})),
                Some(("idempotency-key", format!("matrix-{n}"))),
            )
        }
        "POST /api/v1/purchases/{id}/pay"
        | "POST /api/v1/purchases/{id}/cancel"
        | "POST /api/v1/purchases/{id}/refund" => {
            // Bought (and for a refund paid) through the API by the owner.
            let c = new_course(app).await;
            let run = new_run(app, c).await;
            let bought = app
                .buy(&w.owner_token, &format!("owner-{n}"), run, "basic")
                .await;
            assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.body);
            let p = bought.body["id"].as_i64().expect("purchase id");
            if route.ends_with("refund") {
                let paid = app
                    .post(
                        &format!("/api/v1/purchases/{p}/pay"),
                        Some(&w.owner_token),
                        json!({}),
                    )
                    .await;
                assert_eq!(paid.status, StatusCode::OK, "{}", paid.body);
            }
            let action = route.rsplit('/').next().unwrap();
            (format!("/api/v1/purchases/{p}/{action}"), None, None)
        }
        "POST /api/v1/courses/{id}/reviews" => {
            let c = new_course(app).await;
            new_run(app, c).await;
            purchase(app, w.email(role), c, "basic", "paid").await;
            (
                format!("/api/v1/courses/{c}/reviews"),
                Some(json!({"rating": 4, "body": "ok"})),
                None,
            )
        }
        "PATCH /api/v1/reviews/{id}" | "DELETE /api/v1/reviews/{id}" => {
            let c = new_course(app).await;
            new_run(app, c).await;
            purchase(app, &w.owner, c, "basic", "paid").await;
            let r = app
                .scalar_i64(&format!(
                    "INSERT INTO reviews (user_id, course_id, rating, body) VALUES ({}, {c}, 5, 'mine') RETURNING id",
                    w.owner_id
                ))
                .await;
            let body = route.starts_with("PATCH").then(|| json!({"rating": 1}));
            (format!("/api/v1/reviews/{r}"), body, None)
        }
        "POST /api/v1/certificates" => {
            let c = new_course(app).await;
            new_run(app, c).await;
            purchase(app, &w.owner, c, "basic", "paid").await;
            (
                "/api/v1/certificates".into(),
                Some(json!({"user_id": w.owner_id, "course_id": c})),
                None,
            )
        }
        "POST /api/v1/courses/{id}/submissions" => {
            let (c, p) = learning_course(app, w).await;
            purchase(app, w.email(role), c, "basic", "paid").await;
            (
                format!("/api/v1/courses/{c}/submissions"),
                Some(json!({"project_id": p, "repository_url": "https://git.example/m/m"})),
                None,
            )
        }
        "POST /api/v1/review-queue/claim" => {
            let (c, p) = learning_course(app, w).await;
            purchase(app, &w.owner, c, "basic", "paid").await;
            app.sql(&format!(
                "INSERT INTO submissions (user_id, course_id, project_id, attempt, repository_url) \
                 VALUES ({}, {c}, {p}, 1, 'https://git.example/o/o')",
                w.owner_id
            ))
            .await;
            ("/api/v1/review-queue/claim".into(), None, None)
        }
        "POST /api/v1/submissions/{id}/comments" => {
            let (c, p) = learning_course(app, w).await;
            let mentor = user_id(app, w.email("mentor")).await;
            app.sql(&format!(
                "INSERT INTO course_staff (course_id, user_id, role) VALUES ({c}, {mentor}, 'mentor')"
            ))
            .await;
            purchase(app, &w.owner, c, "basic", "paid").await;
            let s = app
                .scalar_i64(&format!(
                    "INSERT INTO submissions (user_id, course_id, project_id, attempt, repository_url) \
                     VALUES ({}, {c}, {p}, 1, 'https://git.example/o/c') RETURNING id",
                    w.owner_id
                ))
                .await;
            (
                format!("/api/v1/submissions/{s}/comments"),
                Some(json!({"body": format!("comment {n}")})),
                None,
            )
        }
        "POST /api/v1/submissions/{id}/accept" | "POST /api/v1/submissions/{id}/return" => {
            let (c, p) = learning_course(app, w).await;
            purchase(app, &w.owner, c, "basic", "paid").await;
            let reviewer = user_id(app, w.email("reviewer")).await;
            let s = app
                .scalar_i64(&format!(
                    "INSERT INTO submissions (user_id, course_id, project_id, attempt, repository_url, \
                       status, claimed_by, claimed_until) \
                     VALUES ({}, {c}, {p}, 1, 'https://git.example/o/o', 'in_review', {reviewer}, \
                       now() + interval '1 hour') RETURNING id",
                    w.owner_id
                ))
                .await;
            let action = route.rsplit('/').next().unwrap();
            (
                format!("/api/v1/submissions/{s}/{action}"),
                Some(json!({"feedback": "fine"})),
                None,
            )
        }
        "POST /api/v1/career/companies" => (
            "/api/v1/career/companies".into(),
            Some(json!({"short_name": "New", "legal_name": format!("New Company {n}")})),
            None,
        ),
        "PATCH /api/v1/career/companies/{id}" => {
            let co = company(app).await;
            (
                format!("/api/v1/career/companies/{co}"),
                Some(json!({"requirements": "Rust"})),
                None,
            )
        }
        "POST /api/v1/career/tracks" => {
            let c = new_course(app).await;
            new_run(app, c).await;
            purchase(app, &w.owner, c, "career_track", "paid").await;
            (
                "/api/v1/career/tracks".into(),
                Some(json!({"user_id": w.owner_id, "course_id": c, "support_start": "2026-09-01"})),
                None,
            )
        }
        "PATCH /api/v1/career/tracks/{id}" => {
            let t = track(app, w).await;
            (
                format!("/api/v1/career/tracks/{t}"),
                Some(json!({"support_extended": true})),
                None,
            )
        }
        "POST /api/v1/career/tracks/{id}/applications" => {
            let t = track(app, w).await;
            let co = company(app).await;
            (
                format!("/api/v1/career/tracks/{t}/applications"),
                Some(json!({"company_id": co})),
                None,
            )
        }
        "PATCH /api/v1/career/applications/{id}" => {
            let t = track(app, w).await;
            let co = company(app).await;
            let a = app
                .scalar_i64(&format!(
                    "INSERT INTO job_applications (career_track_id, company_id) VALUES ({t}, {co}) RETURNING id"
                ))
                .await;
            (
                format!("/api/v1/career/applications/{a}"),
                Some(json!({"status": "interview"})),
                None,
            )
        }
        "POST /api/v1/blog/posts" => {
            let mut body = json!({"title": format!("Post {n}"), "topic": "t", "reading_minutes": 3,
                                  "body": "text", "tags": ["x"]});
            if role == "admin" {
                body["author_id"] = json!(w.author_id);
            }
            ("/api/v1/blog/posts".into(), Some(body), None)
        }
        "PATCH /api/v1/blog/posts/{id}" | "DELETE /api/v1/blog/posts/{id}" => {
            let p = app
                .scalar_i64(&format!(
                    "INSERT INTO blog_posts (author_id, title, topic, reading_minutes, body, published_at)
                     VALUES ({}, 'P{n}', 't', 3, 'b', now()) RETURNING id",
                    w.author_id
                ))
                .await;
            let body = route
                .starts_with("PATCH")
                .then(|| json!({"title": "Changed"}));
            (format!("/api/v1/blog/posts/{p}"), body, None)
        }
        other => panic!("no fixture for {other}"),
    }
}

/// For the routes that revoke the caller's tokens or change their sign-in, a new user of
/// `role` and their token, so the world's accounts and tokens stay good for the other cells.
async fn fresh_session(app: &TestApp, route: &str, role: &str) -> Option<String> {
    let ends_sessions = matches!(
        route,
        "POST /api/v1/auth/logout" | "POST /api/v1/me/password" | "POST /api/v1/me/email"
    );
    if !ends_sessions || role == "anonymous" {
        return None;
    }
    let email = format!("fresh{}@matrix.test", unique());
    Some(if role == "student" {
        app.register(&email).await
    } else {
        app.staff(&email, role).await
    })
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
    header: Option<(&str, String)>,
) -> Reply {
    let mut req = app.http.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some((k, v)) = header {
        req = req.header(k, v);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

/// `METHOD path` → the lowest 2xx status the document lists for it.
fn write_routes(doc: &Value) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let success = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .filter_map(|k| k.parse::<u16>().ok())
                .filter(|s| (200..300).contains(s))
                .min()
                .unwrap_or_else(|| panic!("{method} {path} documents no success"));
            out.push((format!("{} {path}", method.to_uppercase()), success));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_on_every_write_route() {
    let app = spawn_app("sec_matrix").await;
    app.seed_catalog().await;
    let w = world(&app).await;
    let doc = app.get("/api/v1/openapi.json").await.body;
    let routes = write_routes(&doc);

    let missing: Vec<&String> = routes
        .iter()
        .map(|(r, _)| r)
        .filter(|r| !MATRIX.iter().any(|row| row.route == r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "write routes without an authorization row: {missing:?}"
    );
    let stale: Vec<&str> = MATRIX
        .iter()
        .map(|row| row.route)
        .filter(|r| !routes.iter().any(|(d, _)| d == r))
        .collect();
    assert!(
        stale.is_empty(),
        "rows for routes the document does not have: {stale:?}"
    );

    let mut wrong = Vec::new();
    let mut cells = 0;
    for (route, success) in &routes {
        let row = MATRIX.iter().find(|r| r.route == route.as_str()).unwrap();
        let (method, _) = route.split_once(' ').unwrap();
        let method: Method = method.parse().unwrap();
        for role in ROLES {
            let expected = if row.allowed.contains(role) {
                *success
            } else if *role == "anonymous" {
                401
            } else {
                row.refused
            };
            let (path, body, header) = prepare(&app, &w, route, role).await;
            let fresh = fresh_session(&app, route, role).await;
            let token = fresh.as_deref().or(w.token(role));
            let r = send(&app, method.clone(), &path, token, body, header).await;
            cells += 1;
            if r.status.as_u16() != expected {
                wrong.push(format!(
                    "{route} as {role}: expected {expected}, got {} {}",
                    r.status, r.body
                ));
            } else if !r.status.is_success() {
                let ctype = r
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if ctype != "application/problem+json" {
                    wrong.push(format!(
                        "{route} as {role}: {expected} without a problem document"
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(cells, routes.len() * ROLES.len());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_reads_or_changes_another_users_data() {
    let app = spawn_app("sec_cross_user").await;
    app.seed_catalog().await;
    let alice = app.register("alice@cross.test").await;
    let bob = app.register("bob@cross.test").await;
    let alice_id = user_id(&app, "alice@cross.test").await;
    let w = World {
        tokens: vec![],
        emails: vec![],
        owner: "alice@cross.test".into(),
        owner_token: alice.clone(),
        owner_id: alice_id,
        author_id: 0,
    };

    // Alice: a pending and a paid purchase, a review, a certificate, a career track.
    let c = new_course(&app).await;
    new_run(&app, c).await;
    purchase(&app, "alice@cross.test", c, "basic", "pending").await;
    let pending = purchase_id(&app, "alice@cross.test", c).await;
    let t = track(&app, &w).await;
    let track_course = app
        .scalar_i64(&format!(
            "SELECT course_id FROM career_tracks WHERE id = {t}"
        ))
        .await;
    let paid = purchase_id(&app, "alice@cross.test", track_course).await;
    let review = app
        .scalar_i64(&format!(
            "INSERT INTO reviews (user_id, course_id, rating, body) VALUES ({alice_id}, {track_course}, 5, 'alice') RETURNING id"
        ))
        .await;
    app.sql(&format!(
        "INSERT INTO certificates (user_id, course_id, serial_number) VALUES ({alice_id}, {track_course}, 'CROSS-1')"
    ))
    .await;
    // The fixtures went to the primary behind the API's back (no read-your-writes fence):
    // wait until the replicas have the last of them, so Bob's 404s are refusals, not lag,
    // and Alice's own reads find her rows (replay is in commit order).
    replicated(&app, "certificates", 1).await;

    // Purchases: not readable, not listed, not payable, cancellable or refundable by Bob.
    for id in [pending, paid] {
        app.get_as(&format!("/api/v1/purchases/{id}"), &bob)
            .await
            .assert_problem(404, "not_found");
    }
    assert_eq!(
        app.get_as("/api/v1/purchases", &bob).await.body["items"],
        json!([])
    );
    for action in ["pay", "cancel"] {
        app.post(
            &format!("/api/v1/purchases/{pending}/{action}"),
            Some(&bob),
            json!({}),
        )
        .await
        .assert_problem(404, "not_found");
    }
    app.post(
        &format!("/api/v1/purchases/{paid}/refund"),
        Some(&bob),
        json!({}),
    )
    .await
    .assert_problem(404, "not_found");
    // Alice still sees hers, untouched.
    let mine = app
        .get_as(&format!("/api/v1/purchases/{pending}"), &alice)
        .await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert_eq!(mine.body["status"], "pending");

    // Reviews: Bob can neither change nor delete Alice's; his own list does not show it.
    app.patch(
        &format!("/api/v1/reviews/{review}"),
        Some(&bob),
        json!({"rating": 1}),
    )
    .await
    .assert_problem(403, "forbidden");
    app.delete(&format!("/api/v1/reviews/{review}"), Some(&bob))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        app.get_as("/api/v1/me/reviews", &bob).await.body["items"],
        json!([])
    );
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT rating::bigint FROM reviews WHERE id = {review}"
        ))
        .await,
        5
    );

    // Certificates: Bob cannot list Alice's (only she and staff can); his own are empty.
    app.get_as(&format!("/api/v1/users/{alice_id}/certificates"), &bob)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        app.get_as("/api/v1/me/certificates", &bob).await.body["items"],
        json!([])
    );

    // Career: Bob sees no tracks, cannot read or add to Alice's applications, nor edit her track.
    let tracks = app.get_as("/api/v1/career/tracks", &bob).await;
    assert_eq!(tracks.body["items"], json!([]), "{}", tracks.body);
    let apps = app
        .get_as(&format!("/api/v1/career/tracks/{t}/applications"), &bob)
        .await;
    assert!(matches!(apps.status.as_u16(), 403 | 404), "{}", apps.body);
    let resume = app
        .patch(
            &format!("/api/v1/career/tracks/{t}"),
            Some(&bob),
            json!({"resume_url": "https://evil.example/cv"}),
        )
        .await;
    assert!(
        matches!(resume.status.as_u16(), 403 | 404),
        "{}",
        resume.body
    );

    // Profile: /me is always the caller; Bob's edit changes Bob only.
    let r = app
        .patch("/api/v1/me", Some(&bob), json!({"first_name": "Robert"}))
        .await;
    assert_eq!(r.body["email"], "bob@cross.test");
    let me = app.get_as("/api/v1/me", &alice).await;
    assert_eq!(me.body["first_name"], "Ada");
    app.stop().await;
}
