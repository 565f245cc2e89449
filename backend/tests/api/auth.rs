//! Accounts against the real stack: register, login, the profile, and every way a token or a
//! body can be wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::spawn_app;
use jsonwebtoken::{EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_login_read_and_update_the_profile() {
    let app = spawn_app("auth_flow").await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({
                "email": "Ada@Example.com", "password": "correct horse battery",
                "first_name": "Ada", "last_name": "Lovelace", "birth_date": "1990-12-10",
                "phone": "+44 20 7946 0958", "national_id": "AL-1815",
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 3600);
    assert_eq!(r.body["user"]["role"], "student");
    assert!(r.body["user"].get("password_hash").is_none());
    let hash = app
        .scalar_i64("SELECT count(*) FROM users WHERE password_hash LIKE '$argon2id$%'")
        .await;
    assert_eq!(hash, 1, "stored as an argon2id PHC string");

    // Login ignores the case of the email.
    let token = app.login("ada@example.COM").await;
    let me = app.get_as("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["email"], "Ada@Example.com");
    assert_eq!(me.body["phone"], "+44 20 7946 0958");

    let r = app
        .patch(
            "/api/v1/me",
            Some(&token),
            json!({"first_name": "Augusta Ada", "photo_url": "https://img.example/ada.png"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["first_name"], "Augusta Ada");
    assert_eq!(r.body["last_name"], "Lovelace", "untouched fields stay");
    // Read back at once: the profile is read from the primary.
    let me = app.get_as("/api/v1/me", &token).await;
    assert_eq!(me.body["first_name"], "Augusta Ada");
    assert_eq!(me.body["photo_url"], "https://img.example/ada.png");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_and_wrong_credentials_are_refused() {
    let app = spawn_app("auth_conflicts").await;
    let body = |email: &str, nid: &str| {
        json!({"email": email, "password": "correct horse battery", "first_name": "A",
               "last_name": "B", "birth_date": "1990-01-01", "national_id": nid})
    };
    let r = app
        .post("/api/v1/auth/register", None, body("x@example.com", "N1"))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    app.post("/api/v1/auth/register", None, body("X@EXAMPLE.com", "N2"))
        .await
        .assert_problem(409, "email_taken");
    app.post("/api/v1/auth/register", None, body("y@example.com", "N1"))
        .await
        .assert_problem(409, "national_id_taken");

    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "x@example.com", "password": "wrong password"}),
        )
        .await;
    r.assert_problem(401, "invalid_credentials");
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "nobody@example.com", "password": "correct horse battery"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");

    // A second account may not take the first one's national id by editing the profile.
    let token = app.register("z@example.com").await;
    app.patch("/api/v1/me", Some(&token), json!({"national_id": "N1"}))
        .await
        .assert_problem(409, "national_id_taken");
    app.patch(
        "/api/v1/me",
        Some(&token),
        json!({"photo_url": "not a url", "phone": "abc"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.patch(
        "/api/v1/me",
        Some(&token),
        json!({"birth_date": "yesterday"}),
    )
    .await
    .assert_problem(422, "invalid_body");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bad_and_expired_tokens_are_401() {
    let app = spawn_app("auth_tokens").await;
    let token = app.register("t@example.com").await;

    let r = app.get("/api/v1/me").await;
    r.assert_problem(401, "missing_token");
    assert_eq!(r.headers["www-authenticate"], "Bearer");

    let resp = app
        .http
        .get(app.url("/api/v1/me"))
        .header("authorization", format!("Basic {token}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["code"], "missing_token", "wrong scheme");

    app.get_as("/api/v1/me", "not.a.jwt")
        .await
        .assert_problem(401, "invalid_token");

    // Signed with another secret.
    let claims = json!({"sub": "1", "role": "staff", "pos": "admin",
                        "iat": 1_700_000_000, "exp": 4_000_000_000u64});
    let forged = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(b"some-other-secret-that-is-long-enough"),
    )
    .expect("sign");
    app.get_as("/api/v1/me", &forged)
        .await
        .assert_problem(401, "invalid_token");

    // Our secret, but expired an hour ago.
    let secret = app.app.state.config.auth.jwt_secret.clone();
    let now = chrono::Utc::now().timestamp();
    let expired = jsonwebtoken::encode(
        &Header::default(),
        &json!({"sub": "1", "role": "student", "iat": now - 7200, "exp": now - 3600}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign");
    app.get_as("/api/v1/me", &expired)
        .await
        .assert_problem(401, "token_expired");

    // A valid token whose account is gone.
    let ghost = jsonwebtoken::encode(
        &Header::default(),
        &json!({"sub": "999999", "role": "student", "iat": now, "exp": now + 600}),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign");
    app.get_as("/api/v1/me", &ghost)
        .await
        .assert_problem(401, "invalid_token");

    // The real token still works.
    assert_eq!(
        app.get_as("/api/v1/me", &token).await.status,
        StatusCode::OK
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_logins_does_not_starve_other_requests() {
    let app = crate::support::spawn_app_with("auth_burst", |c| {
        c.auth.argon2_memory_kib = 32 * 1024;
        c.auth.argon2_iterations = 2;
        c.auth.hash_concurrency = 1;
    })
    .await;
    app.register("burst@example.com").await;
    let logins: Vec<_> = (0..12)
        .map(|_| {
            let http = app.http.clone();
            let url = app.url("/api/v1/auth/login");
            tokio::spawn(async move {
                http.post(url)
                    .json(
                        &json!({"email": "burst@example.com", "password": "correct horse battery"}),
                    )
                    .send()
                    .await
                    .expect("login sent")
                    .status()
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // While a dozen hashes queue for one permit, health checks answer at once.
    for _ in 0..5 {
        let started = std::time::Instant::now();
        assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
        assert!(
            started.elapsed() < std::time::Duration::from_millis(250),
            "healthz took {:?}",
            started.elapsed()
        );
    }
    let waiting = app.metrics().await;
    assert!(
        waiting.contains("lyceum_password_hash_waiting"),
        "{waiting}"
    );
    for l in logins {
        assert_eq!(l.await.expect("task"), StatusCode::OK);
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_change_needs_the_password_and_a_free_address() {
    let app = crate::support::spawn_app_with("email_change", |c| {
        c.auth.login_failures_per_account = 2;
        c.auth.login_failures_per_address = 0;
    })
    .await;
    let token = app.register("old@example.com").await;
    app.register("taken@example.com").await;
    let change = |password: &str, email: &str| json!({"password": password, "email": email});

    // Taken, ignoring case; not an address: refused, nothing changed.
    app.post(
        "/api/v1/me/email",
        Some(&token),
        change("correct horse battery", "TAKEN@example.com"),
    )
    .await
    .assert_problem(409, "email_taken");
    app.post(
        "/api/v1/me/email",
        Some(&token),
        change("correct horse battery", "nobody"),
    )
    .await
    .assert_problem(422, "validation_failed");

    let r = app
        .post(
            "/api/v1/me/email",
            Some(&token),
            change("correct horse battery", "New@Example.com"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["email"], "New@Example.com");
    // The token still works; the next login uses the new address, the old one is free.
    let me = app.get_as("/api/v1/me", &token).await;
    assert_eq!(me.body["email"], "New@Example.com", "{}", me.body);
    app.login("new@example.com").await;
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "old@example.com", "password": "correct horse battery"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    app.register("old@example.com").await;

    // A wrong password counts as a failed login: twice, then the account waits.
    for _ in 0..2 {
        app.post(
            "/api/v1/me/email",
            Some(&token),
            change("guess", "other@example.com"),
        )
        .await
        .assert_problem(403, "wrong_password");
    }
    app.post(
        "/api/v1/me/email",
        Some(&token),
        change("correct horse battery", "other@example.com"),
    )
    .await
    .assert_problem(429, "too_many_attempts");
    app.stop().await;
}
