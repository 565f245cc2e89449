//! Security of authentication: forged and damaged tokens are refused with 401 problem
//! documents on every kind of route, and failed logins are throttled per account and per
//! client address (429 + `Retry-After`), with counters in the real Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{TestApp, spawn_app, spawn_app_with};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// `{"alg":"none","typ":"JWT"}`, base64url without padding.
const ALG_NONE_HEADER: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";

fn sign(claims: &Value, alg: Algorithm, secret: &[u8]) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, &EncodingKey::from_secret(secret))
        .expect("sign")
}

fn parts(token: &str) -> (String, String, String) {
    let mut it = token.split('.').map(str::to_owned);
    (
        it.next().expect("header"),
        it.next().expect("payload"),
        it.next().expect("signature"),
    )
}

/// Sends `authorization` verbatim to a protected read, a protected write and a public read.
async fn assert_refused(app: &TestApp, authorization: &str, code: &str) {
    for (method, path, body) in [
        (reqwest::Method::GET, "/api/v1/me", None),
        (
            reqwest::Method::PATCH,
            "/api/v1/me",
            Some(json!({"first_name": "Mallory"})),
        ),
        // A public route that reads the caller (staff see drafts) with a bad token is still a
        // 401, never a silent anonymous answer. (The course list ignores tokens altogether.)
        (reqwest::Method::GET, "/api/v1/courses/1", None),
    ] {
        let mut req = app
            .http
            .request(method.clone(), app.url(path))
            .header("authorization", authorization);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("sent");
        let status = resp.status();
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body: Value = resp.json().await.expect("problem json");
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with {authorization:?}: {body}"
        );
        assert_eq!(ctype, "application/problem+json");
        assert_eq!(body["code"], code, "{method} {path} with {authorization:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_expired_and_foreign_tokens_are_refused() {
    let app = spawn_app("sec_tokens").await;
    let token = app.register("victim@example.com").await;
    let secret = app.app.state.config.auth.jwt_secret.clone();
    let now = chrono::Utc::now().timestamp();
    let admin_claims = json!({"sub": "1", "role": "staff", "pos": "admin",
                              "iat": now, "exp": now + 600});
    let (header, payload, signature) = parts(&token);

    // The payload swapped for one claiming admin, the original signature kept.
    let (_, admin_payload, _) = parts(&sign(&admin_claims, Algorithm::HS256, b"x"));
    let tampered_payload = format!("{header}.{admin_payload}.{signature}");
    // One character of the signature changed.
    let mut sig = signature.clone().into_bytes();
    sig[0] = if sig[0] == b'A' { b'B' } else { b'A' };
    let tampered_signature = format!("{header}.{payload}.{}", String::from_utf8(sig).unwrap());
    let alg_none = format!("{ALG_NONE_HEADER}.{admin_payload}.");
    let foreign = sign(
        &admin_claims,
        Algorithm::HS256,
        b"another-deployments-secret-32-bytes-long",
    );
    // Our own key, but an algorithm we do not accept (no algorithm confusion).
    let other_alg = sign(&admin_claims, Algorithm::HS512, secret.as_bytes());
    let expired = sign(
        &json!({"sub": "1", "role": "student", "iat": now - 7200, "exp": now - 3600}),
        Algorithm::HS256,
        secret.as_bytes(),
    );
    let no_expiry = sign(
        &json!({"sub": "1", "role": "student", "iat": now}),
        Algorithm::HS256,
        secret.as_bytes(),
    );

    for (what, bad) in [
        ("tampered payload", tampered_payload),
        ("tampered signature", tampered_signature),
        ("alg none", alg_none),
        ("foreign key", foreign),
        ("HS512", other_alg),
        ("no exp", no_expiry),
        ("garbage", "garbage".to_owned()),
        ("two dots", "..".to_owned()),
    ] {
        println!("{what}");
        assert_refused(&app, &format!("Bearer {bad}"), "invalid_token").await;
    }
    assert_refused(&app, &format!("Bearer {expired}"), "token_expired").await;
    for wrong_scheme in [
        format!("Basic {token}"),
        format!("Token {token}"),
        "Bearer".to_owned(),
        "Bearer    ".to_owned(),
        token.clone(),
    ] {
        assert_refused(&app, &wrong_scheme, "missing_token").await;
    }

    // Nothing above changed the victim's profile; the real token still works.
    let me = app.get_as("/api/v1/me", &token).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["first_name"], "Ada");
    app.stop().await;
}

async fn login(
    app: &TestApp,
    email: &str,
    password: &str,
    forwarded: Option<&str>,
) -> crate::support::Reply {
    let mut req = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}));
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    let resp = req.send().await.expect("sent");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    crate::support::Reply {
        status,
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
    }
}

fn retry_after(r: &crate::support::Reply) -> u64 {
    r.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("429 without a numeric Retry-After: {:?}", r.headers))
}

const GOOD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_limited_per_account() {
    let app = spawn_app_with("sec_limit_account", |c| {
        c.auth.login_failures_per_account = 3;
        c.auth.login_account_window_s = 120;
        c.auth.login_failures_per_address = 0;
    })
    .await;
    app.register("target@example.com").await;
    app.register("bystander@example.com").await;

    // A success does not count; failures before it are forgotten for the account.
    for _ in 0..2 {
        login(&app, "target@example.com", "wrong", None)
            .await
            .assert_problem(401, "invalid_credentials");
    }
    app.login("target@example.com").await;
    for _ in 0..3 {
        login(&app, "TARGET@example.com", "wrong", None)
            .await
            .assert_problem(401, "invalid_credentials");
    }
    // The fourth attempt is refused before the password is checked, even the right one.
    for password in ["wrong", GOOD] {
        let r = login(&app, "target@example.com", password, None).await;
        r.assert_problem(429, "too_many_attempts");
        let wait = retry_after(&r);
        assert!((1..=120).contains(&wait), "Retry-After {wait}");
    }
    // Another account from the same address is not affected.
    app.login("bystander@example.com").await;
    // Unknown accounts are counted too (no way to probe which emails exist).
    for _ in 0..3 {
        login(&app, "ghost@example.com", GOOD, None)
            .await
            .assert_problem(401, "invalid_credentials");
    }
    login(&app, "ghost@example.com", GOOD, None)
        .await
        .assert_problem(429, "too_many_attempts");

    let metrics = app.metrics().await;
    assert!(
        metrics.contains("lyceum_login_throttled_total{scope=\"account\"} 3"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_are_limited_per_address_and_successes_never_count() {
    let app = spawn_app_with("sec_limit_address", |c| {
        c.auth.login_failures_per_account = 0;
        c.auth.login_failures_per_address = 4;
        c.auth.login_address_window_s = 60;
    })
    .await;
    let students = app.students("crowd", 3).await;
    assert_eq!(students.len(), 3);
    // Many successful logins from one address: never throttled.
    for round in 0..10 {
        app.login(&format!("crowd{}@example.com", round % 3)).await;
    }
    // Four failures spread over different accounts, each with a different, untrusted
    // X-Forwarded-For (which must not let a client pick its own address).
    for i in 0..4 {
        login(
            &app,
            &format!("guess{i}@example.com"),
            "wrong",
            Some(&format!("203.0.113.{i}")),
        )
        .await
        .assert_problem(401, "invalid_credentials");
    }
    // Now every login from this address waits, even a correct one of an untouched account.
    let r = login(&app, "crowd1@example.com", GOOD, Some("198.51.100.7")).await;
    r.assert_problem(429, "too_many_attempts");
    assert!((1..=60).contains(&retry_after(&r)));
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("lyceum_login_throttled_total{scope=\"address\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_client() {
    let app = spawn_app_with("sec_limit_proxy", |c| {
        c.auth.login_failures_per_account = 0;
        c.auth.login_failures_per_address = 2;
        c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.register("p@example.com").await;
    for _ in 0..2 {
        login(&app, "p@example.com", "wrong", Some("192.0.2.10"))
            .await
            .assert_problem(401, "invalid_credentials");
    }
    login(&app, "p@example.com", GOOD, Some("192.0.2.10"))
        .await
        .assert_problem(429, "too_many_attempts");
    // A spoofed left-most entry does not help: the proxy appended the real client last.
    login(&app, "p@example.com", GOOD, Some("192.0.2.99, 192.0.2.10"))
        .await
        .assert_problem(429, "too_many_attempts");
    // Another client behind the same proxy is not affected.
    let r = login(&app, "p@example.com", GOOD, Some("192.0.2.11")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redis_down_the_limiter_fails_open_and_says_so() {
    // A port nobody listens on: every limiter call fails fast.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = dead.local_addr().expect("addr").port();
    drop(dead);
    let app = spawn_app_with("sec_limit_redis_down", |c| {
        c.redis.url = format!("redis://127.0.0.1:{port}");
        c.auth.login_failures_per_account = 2;
    })
    .await;
    app.register("open@example.com").await;
    for _ in 0..4 {
        login(&app, "open@example.com", "wrong", None)
            .await
            .assert_problem(401, "invalid_credentials");
    }
    app.login("open@example.com").await;
    let metrics = app.metrics().await;
    let unavailable: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lyceum_login_limiter_unavailable_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("limiter metric present");
    assert!(unavailable >= 5.0, "{unavailable}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_are_limited_per_address() {
    let app = spawn_app_with("sec_limit_register", |c| {
        c.auth.registrations_per_address = 3;
        c.auth.registration_address_window_s = 600;
    })
    .await;
    let register = |email: String| {
        let app = &app;
        async move {
            app.post(
                "/api/v1/auth/register",
                None,
                json!({"email": email, "password": GOOD, "first_name": "Reg",
                       "last_name": "Istrant", "birth_date": "1990-01-01"}),
            )
            .await
        }
    };
    // Invalid input never reaches the database and does not count.
    for _ in 0..5 {
        let r = app
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": "not-an-email", "password": GOOD, "first_name": "R",
                       "last_name": "I", "birth_date": "1990-01-01"}),
            )
            .await;
        r.assert_problem(422, "validation_failed");
    }
    // Two accounts and one taken email: three attempts that reached the database.
    for i in 0..2 {
        let r = register(format!("new{i}@example.com")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    register("NEW0@example.com".into())
        .await
        .assert_problem(409, "email_taken");
    // The fourth is refused before anything is checked, even a fresh address.
    let r = register("new9@example.com".into()).await;
    r.assert_problem(429, "too_many_attempts");
    assert!((1..=600).contains(&retry_after(&r)));
    // Logins from the address are a separate budget.
    let r = login(&app, "new1@example.com", GOOD, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("lyceum_login_throttled_total{scope=\"registration\"} 1"),
        "{metrics}"
    );
    app.stop().await;
}
