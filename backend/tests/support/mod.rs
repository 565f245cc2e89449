//! The helpers every test binary shares (`#[path = "../support/mod.rs"] mod support;` in each
//! `main.rs`): a fresh database per app, the app on port 0, HTTP calls, and the domain
//! fixtures in [`fixtures`].
//!
//! Every test gets its own database (`TestDatabase::create`) and its own Redis key prefix, so
//! tests never see each other's rows or cache entries.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;
pub mod retry;

use std::time::Duration;

use lyceum_backend::{
    app::{self, RunningApp},
    config::Config,
};
use lyceum_db::{Db, DbError, PoolKind, migrate, testing::TestDatabase};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub struct TestApp {
    pub app: RunningApp,
    pub base: String,
    pub http: reqwest::Client,
    /// Pools on this test's database, for seeding and checks.
    pub db: Db,
    pub database: TestDatabase,
}

/// Starts the app on a fresh, migrated database.
pub async fn spawn_app(label: &str) -> TestApp {
    spawn_app_with(label, |_| {}).await
}

/// Like [`spawn_app`], with a chance to change the configuration first.
pub async fn spawn_app_with(label: &str, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let database = TestDatabase::create(label).await;
    migrate::run_migrations(&database.config, Duration::from_secs(60))
        .await
        .expect("migrations apply");
    let db = Db::new(&database.config).expect("pools");
    wait_for_replicas(&db, "SELECT count(*) FROM refinery_schema_history", 1).await;

    // Environment first (LYCEUM_REDIS__URL, LYCEUM_DB__* from `scripts/stack env`), then ours.
    let mut config = Config::load(None).expect("configuration from the environment");
    config.db = database.config.clone();
    config.http.bind = "127.0.0.1:0".parse().expect("addr");
    config.redis.key_prefix = format!("test:{}", database.config.dbname);
    // Cheaper hashes keep the suite fast; the code path is the same.
    config.auth.argon2_memory_kib = 4096;
    config.auth.argon2_iterations = 1;
    // Tests register dozens of accounts from 127.0.0.1 (the authorization matrix hundreds);
    // the registration limit has its own test (security_auth.rs).
    config.auth.registrations_per_address = 0;
    tweak(&mut config);
    let app = app::spawn(config).await.expect("app starts");
    TestApp {
        base: app.base_url(),
        app,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        db,
        database,
    }
}

/// Waits until every replica behind the read port answers `count_sql` with at least `min`
/// (a fresh database and seed rows reach the replicas a moment after the commit).
pub async fn wait_for_replicas(db: &Db, count_sql: &str, min: i64) {
    let mut streak = 0;
    let ok = lyceum_db::testing::wait_until(Duration::from_secs(30), async || {
        let client = match db.pool(PoolKind::Read).get().await {
            Ok(c) => c,
            Err(_) => {
                streak = 0;
                return false;
            }
        };
        let seen = match client.query_one(count_sql, &[]).await {
            Ok(row) => row.get::<_, i64>(0) >= min,
            Err(_) => false,
        };
        streak = if seen { streak + 1 } else { 0 };
        // Several answers in a row, so both replicas (round robin) have it.
        streak >= 4
    })
    .await;
    assert!(ok, "replicas did not catch up with {count_sql:?} >= {min}");
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The problem `code` of an error answer.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string() && self.body["detail"].is_string());
        assert!(
            self.body["type"]
                .as_str()
                .unwrap_or("")
                .starts_with("urn:lyceum:problem:")
        );
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, None).await
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, None).await
    }

    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    }

    /// Runs SQL statements on the primary of this test's database.
    pub async fn sql(&self, batch: &str) {
        let batch = batch.to_owned();
        self.db
            .write_once(|c| {
                let batch = batch.clone();
                Box::pin(async move {
                    c.batch_execute(&batch).await?;
                    Ok::<_, DbError>(())
                })
            })
            .await
            .expect("seed SQL");
    }

    pub async fn scalar_i64(&self, sql: &str) -> i64 {
        let sql = sql.to_owned();
        self.db
            .write(|c| {
                let sql = sql.clone();
                Box::pin(async move { Ok::<_, DbError>(c.query_one(&sql, &[]).await?.get(0)) })
            })
            .await
            .expect("scalar")
    }

    /// Registers a student and returns their access token.
    pub async fn register(&self, email: &str) -> String {
        let r = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({
                    "email": email,
                    "password": "correct horse battery",
                    "first_name": "Ada",
                    "last_name": "Lovelace",
                    "birth_date": "1990-12-10",
                }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn login(&self, email: &str) -> String {
        let r = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        r.body["access_token"].as_str().expect("token").to_owned()
    }

    /// A staff member with `position`, and their token (issued after the promotion).
    pub async fn staff(&self, email: &str, position: &str) -> String {
        self.register(email).await;
        self.sql(&format!(
            "UPDATE users SET role = 'staff', staff_position = '{position}' WHERE email = '{email}'"
        ))
        .await;
        self.login(email).await
    }

    /// The catalog fixture: 2 specializations, 4 courses (one unpublished), a teacher with a
    /// profile on the Rust course, topics with projects, runs, 2 paid buyers and 2 reviews.
    pub async fn seed_catalog(&self) {
        self.sql(SEED).await;
        wait_for_replicas(&self.db, "SELECT count(*) FROM reviews", 2).await;
    }

    pub async fn course_id(&self, title: &str) -> i64 {
        self.scalar_i64(&format!("SELECT id FROM courses WHERE title = '{title}'"))
            .await
    }

    /// `POST /api/v1/purchases` with an `Idempotency-Key`.
    pub async fn buy(&self, token: &str, key: &str, run_id: i64, plan: &str) -> Reply {
        let resp = self
            .http
            .post(self.url("/api/v1/purchases"))
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&json!({"course_run_id": run_id, "plan": plan}))
            .send()
            .await
            .expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        Reply {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        }
    }

    /// `n` students `{prefix}{i}@example.com` who share one password, and their tokens. One
    /// registers through the API; the rest reuse its hash (inserted by SQL) and log in.
    pub async fn students(&self, prefix: &str, n: usize) -> Vec<(i64, String)> {
        let first = format!("{prefix}0@example.com");
        self.register(&first).await;
        self.sql(&format!(
            "INSERT INTO users (email, password_hash, first_name, last_name, birth_date)
             SELECT '{prefix}' || i || '@example.com', u.password_hash, 'Stu', 'Dent' || i, '2000-01-01'
               FROM users u, generate_series(1, {last}) AS i WHERE u.email = '{first}'",
            last = n.saturating_sub(1)
        ))
        .await;
        let mut logins = tokio::task::JoinSet::new();
        for i in 0..n {
            let (http, url) = (self.http.clone(), self.url("/api/v1/auth/login"));
            let email = format!("{prefix}{i}@example.com");
            logins.spawn(async move {
                let body: Value = http
                    .post(url)
                    .json(&json!({"email": email, "password": "correct horse battery"}))
                    .send()
                    .await
                    .expect("login sent")
                    .json()
                    .await
                    .expect("login body");
                (
                    i,
                    body["user"]["id"].as_i64().expect("user id"),
                    body["access_token"].as_str().expect("token").to_owned(),
                )
            });
        }
        let mut out = logins.join_all().await;
        out.sort_by_key(|(i, ..)| *i);
        out.into_iter().map(|(_, id, token)| (id, token)).collect()
    }

    /// A new run of `course_id` on sale, with `seats` seats; its id.
    pub async fn run_with_seats(&self, course_id: i64, seats: i32) -> i64 {
        self.scalar_i64(&format!(
            "INSERT INTO course_runs (course_id, start_date, sales_end_date, seats_total, seats_left)
             VALUES ({course_id}, current_date + 40, current_date + 30, {seats}, {seats}) RETURNING id"
        ))
        .await
    }

    pub async fn stop(self) {
        self.app.stop().await.expect("clean stop");
        self.database.drop_now().await;
    }
}

/// A syntactically valid argon2id PHC string (nobody logs in as the seeded people).
const SEED: &str = r#"
INSERT INTO specializations (slug, name, description) VALUES
  ('backend', 'Backend development', 'Servers and databases'),
  ('data-science', 'Data science', 'Numbers and models');
INSERT INTO users (email, password_hash, first_name, last_name, birth_date, role, staff_position) VALUES
  ('grace@seed.test', '$argon2id$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', 'Grace', 'Hopper', '1980-01-01', 'staff', 'teacher'),
  ('buyer1@seed.test', '$argon2id$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', 'Bo', 'One', '1995-01-01', 'student', NULL),
  ('buyer2@seed.test', '$argon2id$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', 'Cy', 'Two', '1996-01-01', 'student', NULL);
INSERT INTO teacher_profiles (user_id, specialization_id, workplace, years_experience, years_in_specialization)
  SELECT u.id, s.id, 'US Navy', 30, 20 FROM users u, specializations s
  WHERE u.email = 'grace@seed.test' AND s.slug = 'backend';
INSERT INTO courses (title, description, specialization_id, difficulty_level_id, duration_weeks, price, published, created_at)
  SELECT v.title, v.descr, s.id, d.id, v.weeks, v.price, v.published, now() - v.age
  FROM (VALUES
    ('Rust for backend engineers', 'Async Rust with axum and PostgreSQL', 'backend', 'intermediate', 12, 50000, true, interval '3 days'),
    ('Python data analysis', 'Pandas, plots and statistics', 'data-science', 'beginner', 8, 30000, true, interval '2 days'),
    ('Distributed systems', 'Consensus, replication and failover with PostgreSQL', 'backend', 'advanced', 16, 90000, true, interval '1 day'),
    ('Secret draft course', 'Not yet published', 'backend', 'beginner', 4, 10000, false, interval '0 days')
  ) AS v(title, descr, spec, diff, weeks, price, published, age)
  JOIN specializations s ON s.slug = v.spec JOIN difficulty_levels d ON d.code = v.diff;
INSERT INTO topics (course_id, position, name, description, technologies, effort_hours)
  SELECT c.id, v.pos, v.name, v.descr, v.tech, v.hours FROM courses c,
  (VALUES (1, 'Ownership', 'Borrowing and lifetimes', ARRAY['rust'], 10),
          (2, 'Async services', 'Tokio and axum', ARRAY['tokio','axum'], 20)) AS v(pos, name, descr, tech, hours)
  WHERE c.title = 'Rust for backend engineers';
INSERT INTO projects (topic_id, title, description)
  SELECT t.id, v.title, '' FROM topics t JOIN courses c ON c.id = t.course_id,
  (VALUES (1, 'Borrow checker kata'), (2, 'URL shortener'), (2, 'Chat server')) AS v(pos, title)
  WHERE c.title = 'Rust for backend engineers' AND t.position = v.pos;
INSERT INTO course_staff (course_id, user_id, role)
  SELECT c.id, u.id, 'teacher' FROM courses c, users u
  WHERE c.title = 'Rust for backend engineers' AND u.email = 'grace@seed.test';
INSERT INTO course_runs (course_id, start_date, sales_end_date, seats_total, seats_left)
  SELECT c.id, current_date + 30, current_date + 20, 30, 28 FROM courses c WHERE c.title = 'Rust for backend engineers';
INSERT INTO course_runs (course_id, start_date, sales_end_date, seats_total, seats_left)
  SELECT c.id, current_date - 60, current_date - 70, 10, 10 FROM courses c WHERE c.title = 'Rust for backend engineers';
INSERT INTO purchases (user_id, course_run_id, plan_id, final_price, status, idempotency_key, request_fingerprint, paid_at)
  SELECT u.id, r.id, p.id, 50000, 'paid', 'seed-' || u.id, 'seed', now()
  FROM users u, course_runs r JOIN courses c ON c.id = r.course_id, plans p
  WHERE u.email IN ('buyer1@seed.test', 'buyer2@seed.test') AND c.title = 'Rust for backend engineers'
    AND r.start_date > current_date AND p.code = 'basic';
INSERT INTO reviews (user_id, course_id, rating, body)
  SELECT u.id, c.id, CASE u.email WHEN 'buyer1@seed.test' THEN 5 ELSE 4 END, 'good'
  FROM users u, courses c
  WHERE u.email IN ('buyer1@seed.test', 'buyer2@seed.test') AND c.title = 'Rust for backend engineers';
"#;

/// The `title` of every item of a list page's body, in order.
pub fn item_titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["title"].as_str().expect("title").to_owned())
        .collect()
}

/// Sum of the `lyceum_cache_lookups_total` samples with this kind and result in a `/metrics` text.
pub fn cache_lookups(metrics: &str, kind: &str, result: &str) -> u64 {
    let prefix = format!(r#"lyceum_cache_lookups_total{{kind="{kind}",result="{result}"}} "#);
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|v| v.trim().parse::<u64>().ok())
        .sum()
}

/// `scripts/stack <args>` off the async runtime (it blocks while the stack changes).
pub async fn run_stack(args: &'static [&'static str]) -> String {
    tokio::task::spawn_blocking(move || lyceum_db::testing::stack(args))
        .await
        .expect("stack command")
}

/// A TCP port that was free a moment ago (bound by the kernel, then released), for a child
/// process that must be told its port before it starts.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
