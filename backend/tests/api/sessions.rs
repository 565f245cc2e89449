//! Ending sessions: log out revokes the presented token at once, on another backend instance
//! and after a restart too; a password change needs the current password, counts a wrong one
//! like a failed login, and revokes every earlier token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{TestApp, spawn_app, spawn_app_with};
use lyceum_backend::{
    app::{self, RunningApp},
    config::Config,
};
use reqwest::StatusCode;
use serde_json::json;

/// Another backend instance on the test's database and Redis prefix, with its own process
/// state (a replica of the service, or the same service after a restart).
async fn another_instance(a: &TestApp) -> RunningApp {
    let mut config = Config::load(None).expect("configuration from the environment");
    config.db = a.database.config.clone();
    config.http.bind = "127.0.0.1:0".parse().expect("addr");
    config.redis.key_prefix = a.app.state.config.redis.key_prefix.clone();
    app::spawn(config).await.expect("another instance starts")
}

async fn status_of_me(base: &str, token: &str) -> StatusCode {
    reqwest::Client::new()
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent")
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_presented_token_everywhere_at_once() {
    let app = spawn_app("sessions_logout").await;
    let first = app.register("leaver@sessions.test").await;
    let second = app.login("leaver@sessions.test").await;
    let other = another_instance(&app).await;
    assert_eq!(
        status_of_me(&other.base_url(), &first).await,
        StatusCode::OK
    );

    let r = app
        .post("/api/v1/auth/logout", Some(&first), json!({}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    app.get_as("/api/v1/me", &first)
        .await
        .assert_problem(401, "invalid_token");
    assert_eq!(
        status_of_me(&other.base_url(), &first).await,
        StatusCode::UNAUTHORIZED,
        "the other instance still takes the token"
    );
    // Public routes that read an optional caller refuse it too, and it cannot log out again.
    app.get_as("/api/v1/courses/1", &first)
        .await
        .assert_problem(401, "invalid_token");
    app.post("/api/v1/auth/logout", Some(&first), json!({}))
        .await
        .assert_problem(401, "invalid_token");
    // The other session is untouched.
    assert_eq!(
        app.get_as("/api/v1/me", &second).await.status,
        StatusCode::OK
    );

    // A restart: a new process, no memory of the logout but the database's.
    other.stop().await.expect("stops");
    let restarted = another_instance(&app).await;
    assert_eq!(
        status_of_me(&restarted.base_url(), &first).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of_me(&restarted.base_url(), &second).await,
        StatusCode::OK
    );
    restarted.stop().await.expect("stops");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_needs_the_current_one_and_ends_every_other_session() {
    let app = spawn_app("sessions_password").await;
    let laptop = app.register("mover@sessions.test").await;
    let phone = app.login("mover@sessions.test").await;

    let change = |token: &str, current: &str, new: &str| {
        let (app, token) = (&app, token.to_owned());
        let body = json!({"current_password": current, "new_password": new});
        async move { app.post("/api/v1/me/password", Some(&token), body).await }
    };
    change(&laptop, "not my password", "brand new password")
        .await
        .assert_problem(403, "wrong_password");
    change(&laptop, "correct horse battery", "short")
        .await
        .assert_problem(422, "validation_failed");
    app.post(
        "/api/v1/me/password",
        Some(&laptop),
        json!({"current_password": "correct horse battery"}),
    )
    .await
    .assert_problem(422, "invalid_body");
    app.post(
        "/api/v1/me/password",
        None,
        json!({"current_password": "correct horse battery", "new_password": "brand new password"}),
    )
    .await
    .assert_problem(401, "missing_token");
    // Nothing changed so far.
    assert_eq!(
        app.get_as("/api/v1/me", &phone).await.status,
        StatusCode::OK
    );

    let r = change(&laptop, "correct horse battery", "brand new password").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let fresh = r.body["access_token"].as_str().expect("token").to_owned();
    for old in [&laptop, &phone] {
        app.get_as("/api/v1/me", old)
            .await
            .assert_problem(401, "invalid_token");
    }
    assert_eq!(
        app.get_as("/api/v1/me", &fresh).await.status,
        StatusCode::OK
    );
    // The old password is gone, the new one logs in at once (a token issued right after the
    // change is good).
    let old_login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "mover@sessions.test", "password": "correct horse battery"}),
        )
        .await;
    old_login.assert_problem(401, "invalid_credentials");
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "mover@sessions.test", "password": "brand new password"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    let token = login.body["access_token"].as_str().expect("token");
    assert_eq!(app.get_as("/api/v1/me", token).await.status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_current_passwords_count_as_failed_logins() {
    let app = spawn_app_with("sessions_limit", |c| {
        c.auth.login_failures_per_account = 3;
        c.auth.login_account_window_s = 120;
        c.auth.login_failures_per_address = 0;
    })
    .await;
    let token = app.register("guesser@sessions.test").await;
    for _ in 0..2 {
        app.post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": "guess", "new_password": "brand new password"}),
        )
        .await
        .assert_problem(403, "wrong_password");
    }
    // A failed login adds to the same count.
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "guesser@sessions.test", "password": "guess"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    // Past the limit: refused before any check, even with the right password, both ways.
    let r = app
        .post(
            "/api/v1/me/password",
            Some(&token),
            json!({"current_password": "correct horse battery", "new_password": "brand new password"}),
        )
        .await;
    r.assert_problem(429, "too_many_attempts");
    assert!(r.headers.contains_key("retry-after"));
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"email": "guesser@sessions.test", "password": "correct horse battery"}),
    )
    .await
    .assert_problem(429, "too_many_attempts");
    app.stop().await;
}

/// `POST /auth/refresh` with `token`.
async fn refresh(app: &TestApp, token: &str) -> crate::support::Reply {
    app.post(
        "/api/v1/auth/refresh",
        None,
        json!({ "refresh_token": token }),
    )
    .await
}

fn tokens(r: &crate::support::Reply) -> (String, String) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let get = |k: &str| r.body[k].as_str().expect(k).to_owned();
    (get("access_token"), get("refresh_token"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_tokens_rotate_and_a_reused_one_ends_its_session() {
    let app = spawn_app("sessions_refresh").await;
    let body = json!({"email": "keeper@sessions.test", "password": "correct horse battery",
                      "first_name": "K", "last_name": "P", "birth_date": "1990-01-01"});
    let (_, r0) = {
        let r = app.post("/api/v1/auth/register", None, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        assert!(r.body["refresh_expires_in"].as_u64().unwrap() > 86_400);
        (
            String::new(),
            r.body["refresh_token"].as_str().unwrap().to_owned(),
        )
    };
    // Rotation: each exchange gives a working access token and the next refresh token.
    let (a1, r1) = tokens(&refresh(&app, &r0).await);
    assert_ne!(r1, r0);
    assert_eq!(app.get_as("/api/v1/me", &a1).await.status, StatusCode::OK);
    let (a2, r2) = tokens(&refresh(&app, &r1).await);
    // r1 comes back: a copy. The whole session ends: r2 and its access tokens too.
    refresh(&app, &r1)
        .await
        .assert_problem(401, "refresh_token_reused");
    refresh(&app, &r2)
        .await
        .assert_problem(401, "invalid_refresh_token");
    for access in [&a1, &a2] {
        app.get_as("/api/v1/me", access)
            .await
            .assert_problem(401, "invalid_token");
    }
    // Another login is another session, untouched by that one.
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "keeper@sessions.test", "password": "correct horse battery"}),
        )
        .await;
    let (a3, r3) = tokens(&login);
    let other = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "keeper@sessions.test", "password": "correct horse battery"}),
        )
        .await;
    let (a4, r4) = tokens(&other);
    // Log out ends the presented token's session, refresh tokens included; not the other.
    let out = app
        .call(
            reqwest::Method::POST,
            "/api/v1/auth/logout",
            Some(&a3),
            None,
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.body);
    refresh(&app, &r3)
        .await
        .assert_problem(401, "invalid_refresh_token");
    assert_eq!(app.get_as("/api/v1/me", &a4).await.status, StatusCode::OK);
    // A password change ends every earlier session; its own new one works.
    let changed = app
        .post(
            "/api/v1/me/password",
            Some(&a4),
            json!({"current_password": "correct horse battery", "new_password": "brand new password"}),
        )
        .await;
    let (_, r5) = tokens(&changed);
    refresh(&app, &r4)
        .await
        .assert_problem(401, "invalid_refresh_token");
    let (a6, _) = tokens(&refresh(&app, &r5).await);
    assert_eq!(app.get_as("/api/v1/me", &a6).await.status, StatusCode::OK);

    // Bad input: unknown, too long, wrong shape.
    refresh(&app, "not-a-token")
        .await
        .assert_problem(401, "invalid_refresh_token");
    refresh(&app, &"x".repeat(500))
        .await
        .assert_problem(422, "validation_failed");
    app.post("/api/v1/auth/refresh", None, json!({"token": r5}))
        .await
        .assert_problem(422, "invalid_body");
    // Only a hash is stored.
    let stored = app
        .scalar_i64(&format!(
            "SELECT count(*) FROM refresh_tokens WHERE token_hash = convert_to('{r5}', 'UTF8')"
        ))
        .await;
    assert_eq!(stored, 0);
    app.stop().await;
}
