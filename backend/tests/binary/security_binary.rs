//! The real binary: secrets never reach its logs, and production mode refuses the built-in
//! development secrets.
//!
//! The log test gives every secret a distinctive value (a Redis ACL user with its own
//! password, a JWT secret, user passwords) so a leak cannot hide among ordinary words, logs at
//! `debug`, and drives logins (good and bad), authenticated calls and failing connections.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

use crate::support::free_port;

/// The binary with the test's environment (the stack's `LYCEUM_DB__*`, `LYCEUM_REDIS__URL`)
/// plus `env`, logging JSON to stdout.
fn start(port: u16, env: &[(&str, String)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lyceum-backend"));
    cmd.env("LYCEUM_HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("LYCEUM_LOG__FORMAT", "json")
        .env("LYCEUM_AUTH__ARGON2_MEMORY_KIB", "4096")
        .env("LYCEUM_AUTH__ARGON2_ITERATIONS", "1")
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("start the binary")
}

async fn wait_up(base: &str) {
    let http = reqwest::Client::new();
    for _ in 0..100 {
        if http.get(format!("{base}/healthz")).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the binary did not start serving");
}

/// SIGTERM, then everything it wrote on stdout and stderr.
async fn stop(child: Child) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait")),
    )
    .await
    .expect("stopped within 30 s")
    .expect("join");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_absent(logs: &str, secrets: &[(&str, &str)]) {
    assert!(logs.lines().count() > 5, "too few log lines:\n{logs}");
    for (what, secret) in secrets {
        assert!(
            !logs.contains(secret),
            "{what} appears in the logs:\n{}",
            logs.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_appear_in_logs() {
    let config = lyceum_backend::config::Config::load(None).expect("stack environment");
    let database = lyceum_db::testing::TestDatabase::create("sec_logs").await;
    lyceum_db::migrate::run_migrations(&database.config, Duration::from_secs(60))
        .await
        .expect("migrations");

    // A Redis user of our own, so the Redis URL carries a real, distinctive password.
    let redis_user = format!("sec_logs_{}", std::process::id());
    let redis_password = format!("redis-pw-{:016x}", rand::random::<u64>());
    let admin = redis::Client::open(config.redis.url.as_str()).expect("redis url");
    let mut conn = admin
        .get_multiplexed_async_connection()
        .await
        .expect("the stack's Redis answers");
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&redis_user)
        .arg("on")
        .arg(format!(">{redis_password}"))
        .arg("~*")
        .arg("+@all")
        .query_async(&mut conn)
        .await
        .expect("ACL SETUSER");
    let host = config
        .redis
        .url
        .trim_start_matches("redis://")
        .rsplit('@')
        .next()
        .expect("host")
        .to_owned();
    let redis_url = format!("redis://{redis_user}:{redis_password}@{host}");
    let jwt_secret = format!("jwt-secret-{:032x}", rand::random::<u128>());
    let user_password = format!("user-pw-{:016x}", rand::random::<u64>());
    let wrong_password = format!("wrong-pw-{:016x}", rand::random::<u64>());

    let port = free_port();
    let child = start(
        port,
        &[
            ("LYCEUM_DB__DBNAME", database.config.dbname.clone()),
            ("LYCEUM_REDIS__URL", redis_url.clone()),
            ("LYCEUM_AUTH__JWT_SECRET", jwt_secret.clone()),
            ("LYCEUM_LOG__FILTER", "debug".into()),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_up(&base).await;
    let http = reqwest::Client::new();
    let reg: Value = http
        .post(format!("{base}/api/v1/auth/register"))
        .json(
            &json!({"email": "logs@example.com", "password": user_password,
                      "first_name": "Log", "last_name": "Reader", "birth_date": "1990-01-01"}),
        )
        .send()
        .await
        .expect("register")
        .json()
        .await
        .expect("json");
    let token = reg["access_token"].as_str().expect("token").to_owned();
    let mut tokens = vec![token.clone()];
    let mut answers = Vec::new();
    for password in [&wrong_password, &user_password, &wrong_password] {
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "logs@example.com", "password": password}))
            .send()
            .await
            .expect("login");
        answers.push(r.status());
        if r.status().is_success() {
            let body: Value = r.json().await.expect("json");
            tokens.push(body["access_token"].as_str().expect("token").to_owned());
        }
    }
    if tokens.len() != 2 {
        let logs = stop(child).await;
        let tail: Vec<&str> = logs.lines().rev().take(40).collect();
        panic!(
            "the good login did not work (answers to wrong, right, wrong: {answers:?}); the backend's last lines:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    for t in &tokens {
        for path in [
            "/api/v1/me",
            "/api/v1/purchases",
            "/api/v1/courses",
            "/readyz",
        ] {
            http.get(format!("{base}{path}"))
                .bearer_auth(t)
                .send()
                .await
                .expect("call");
        }
    }
    // A tampered token is logged as refused, never echoed.
    http.get(format!("{base}/api/v1/me"))
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .expect("call");
    let logs = stop(child).await;
    let _: () = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&redis_user)
        .query_async(&mut conn)
        .await
        .expect("ACL DELUSER");
    database.drop_now().await;

    let mut secrets = vec![
        ("the Redis password", redis_password.as_str()),
        ("the JWT secret", jwt_secret.as_str()),
        ("a user's password", user_password.as_str()),
        ("a wrong password", wrong_password.as_str()),
        ("the database password", "password=lyceum"),
        ("the database password", "\"password\":\"lyceum\""),
        ("the database password", ":lyceum@"),
    ];
    for t in &tokens {
        secrets.push(("an access token", t.as_str()));
        // The signature alone is enough to be a leak.
        secrets.push(("a token signature", t.rsplit('.').next().expect("sig")));
    }
    assert_absent(&logs, &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_connections_do_not_log_their_credentials() {
    let db_password = format!("db-pw-{:016x}", rand::random::<u64>());
    let redis_password = format!("redis-pw-{:016x}", rand::random::<u64>());
    let config = lyceum_backend::config::Config::load(None).expect("stack environment");
    let host = config
        .redis
        .url
        .trim_start_matches("redis://")
        .rsplit('@')
        .next()
        .expect("host")
        .to_owned();
    let port = free_port();
    let child = start(
        port,
        &[
            ("LYCEUM_DB__PASSWORD", db_password.clone()),
            (
                "LYCEUM_REDIS__URL",
                format!("redis://nobody:{redis_password}@{host}"),
            ),
            ("LYCEUM_DB__RETRY_BUDGET_MS", "300".into()),
            ("LYCEUM_LOG__FILTER", "debug".into()),
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_up(&base).await;
    let http = reqwest::Client::new();
    for _ in 0..2 {
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"email": "x@example.com", "password": "whatever-123"}))
            .send()
            .await
            .expect("login");
        assert!(r.status().is_server_error(), "{}", r.status());
        http.get(format!("{base}/api/v1/courses"))
            .send()
            .await
            .expect("courses");
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .expect("readyz");
    }
    let logs = stop(child).await;
    assert!(
        logs.contains("password authentication failed") || logs.contains("error"),
        "the failures are logged:\n{logs}"
    );
    assert_absent(
        &logs,
        &[
            ("the database password", db_password.as_str()),
            ("the Redis password", redis_password.as_str()),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_mode_refuses_development_defaults() {
    let port = free_port();
    let out = Command::new(env!("CARGO_BIN_EXE_lyceum-backend"))
        .env("LYCEUM_MODE", "production")
        .env("LYCEUM_HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("LYCEUM_DB__PASSWORD", "lyceum")
        .env("LYCEUM_REDIS__URL", "redis://127.0.0.1:6379")
        .env_remove("LYCEUM_AUTH__JWT_SECRET")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "refused with exit code 2");
    let err = String::from_utf8_lossy(&out.stderr);
    for key in ["auth.jwt_secret", "db.password", "redis.url"] {
        assert!(err.contains(key), "{key} not named: {err}");
    }
    assert!(err.contains("LYCEUM_AUTH__JWT_SECRET"), "{err}");

    // One default left is still refused.
    let out = Command::new(env!("CARGO_BIN_EXE_lyceum-backend"))
        .env("LYCEUM_MODE", "production")
        .env("LYCEUM_HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("LYCEUM_AUTH__JWT_SECRET", "p".repeat(40))
        .env("LYCEUM_DB__PASSWORD", "lyceum")
        .env("LYCEUM_REDIS__URL", "redis://:pw@127.0.0.1:6379")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("db.password") && !err.contains("jwt_secret"),
        "{err}"
    );

    // With secrets of its own it starts (and never prints them).
    let child = start(
        port,
        &[
            ("LYCEUM_MODE", "production".into()),
            ("LYCEUM_AUTH__JWT_SECRET", "prod-secret-".repeat(4)),
            ("LYCEUM_DB__PASSWORD", "prod-db-password".into()),
            (
                "LYCEUM_REDIS__URL",
                "redis://:prod-redis-password@127.0.0.1:1".into(),
            ),
        ],
    );
    wait_up(&format!("http://127.0.0.1:{port}")).await;
    let logs = stop(child).await;
    assert_absent(
        &logs,
        &[
            ("the JWT secret", "prod-secret-"),
            ("the database password", "prod-db-password"),
            ("the Redis password", "prod-redis-password"),
        ],
    );
}
