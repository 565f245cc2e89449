//! Account administration against the real stack: staff accounts, role and position changes
//! (a mismatch is 422, the last admin cannot step down), deactivation that kills tokens and
//! login at once while history stays, and the filtered user list.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::fixtures::user_id;
use crate::support::spawn_app;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_create_staff_and_change_roles() {
    let app = spawn_app("accounts_roles").await;
    let admin = app.staff("admin@example.com", "admin").await;
    let mentor = app.staff("mentor@example.com", "mentor").await;

    let body = json!({"account": {"email": "new.teacher@example.com", "password": "correct horse battery",
                                  "first_name": "Ann", "last_name": "Lee", "birth_date": "1990-01-01"},
                      "position": "teacher"});
    let r = app.post("/api/v1/users", Some(&mentor), body.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = app.post("/api/v1/users", Some(&admin), body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["role"], "staff");
    assert_eq!(r.body["staff_position"], "teacher");
    assert_eq!(r.body["active"], true);
    let id = r.body["id"].as_i64().expect("id");
    let r = app.post("/api/v1/users", Some(&admin), body).await;
    assert_eq!(r.body["code"], "email_taken", "{}", r.body);
    let teacher = app.login("new.teacher@example.com").await;
    let me = app.get_as("/api/v1/me", &teacher).await;
    assert_eq!(me.body["staff_position"], "teacher", "{}", me.body);

    for bad in [
        json!({"role": "staff"}),
        json!({"role": "student", "position": "admin"}),
    ] {
        let r = app
            .put(&format!("/api/v1/users/{id}/role"), Some(&admin), bad)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(r.body["code"], "position_mismatch", "{}", r.body);
    }
    let r = app
        .put(
            "/api/v1/users/999999/role",
            Some(&admin),
            json!({"role": "student"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    let r = app
        .put(
            &format!("/api/v1/users/{id}/role"),
            Some(&admin),
            json!({"role": "staff", "position": "reviewer"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["staff_position"], "reviewer");
    // The old token names the old position: refused; a new login carries the new one.
    assert_eq!(
        app.get_as("/api/v1/me", &teacher).await.status,
        StatusCode::UNAUTHORIZED
    );
    let reviewer = app.login("new.teacher@example.com").await;
    assert_eq!(
        app.get_as("/api/v1/me", &reviewer).await.body["staff_position"],
        "reviewer"
    );
    let one = app.get_as(&format!("/api/v1/users/{id}"), &admin).await;
    assert_eq!(one.body["staff_position"], "reviewer", "{}", one.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_admin_cannot_step_down() {
    let app = spawn_app("accounts_last_admin").await;
    let admin = app.staff("admin@example.com", "admin").await;
    let me = user_id(&app, "admin@example.com").await;
    let demote = json!({"role": "staff", "position": "support"});
    let r = app
        .put(
            &format!("/api/v1/users/{me}/role"),
            Some(&admin),
            demote.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["code"], "last_admin");
    let r = app
        .post(
            &format!("/api/v1/users/{me}/deactivate"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["code"], "last_admin");

    // With a second admin, stepping down works (and ends the old token).
    app.staff("second@example.com", "admin").await;
    let r = app
        .put(&format!("/api/v1/users/{me}/role"), Some(&admin), demote)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        app.get_as("/api/v1/users", &admin).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivation_ends_tokens_and_login_but_keeps_history() {
    let app = spawn_app("accounts_deactivate").await;
    app.seed_catalog().await;
    let admin = app.staff("admin@example.com", "admin").await;
    let student = app.register("leaving@example.com").await;
    let id = user_id(&app, "leaving@example.com").await;
    app.sql(&format!(
        "INSERT INTO reviews (user_id, course_id, rating, body) \
         SELECT {id}, id, 5, 'kept' FROM courses ORDER BY id LIMIT 1"
    ))
    .await;
    assert_eq!(
        app.get_as("/api/v1/me", &student).await.status,
        StatusCode::OK
    );

    let r = app
        .post(
            &format!("/api/v1/users/{id}/deactivate"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], false);
    let r = app.get_as("/api/v1/me", &student).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "leaving@example.com", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["code"], "account_deactivated");
    // A wrong password is still just wrong: the state is not shown without the password.
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"email": "leaving@example.com", "password": "wrong horse battery"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM reviews WHERE user_id = {id}"
        ))
        .await,
        1
    );

    let r = app
        .post(
            &format!("/api/v1/users/{id}/reactivate"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["active"], true);
    // The old token stays dead; a new login works.
    assert_eq!(
        app.get_as("/api/v1/me", &student).await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = app.login("leaving@example.com").await;
    assert_eq!(
        app.get_as("/api/v1/me", &again).await.status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_list_users_with_filters() {
    let app = spawn_app("accounts_list").await;
    let admin = app.staff("admin@example.com", "admin").await;
    let smm = app.staff("smm@example.com", "smm").await;
    app.staff("mentor.one@example.com", "mentor").await;
    app.staff("mentor.two@example.com", "mentor").await;
    app.register("student_100%@example.com").await;

    assert_eq!(
        app.get_as("/api/v1/users", &smm).await.status,
        StatusCode::FORBIDDEN
    );
    let r = app
        .get_as("/api/v1/users?position=mentor&page_size=1", &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["has_more"], true);
    let r = app
        .get_as("/api/v1/users?role=student&email=100%25", &admin)
        .await;
    let emails: Vec<&str> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["student_100%@example.com"], "{}", r.body);
    let r = app.get_as("/api/v1/users?email=MENTOR", &admin).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2, "{}", r.body);
    for bad in ["role=king", "position=king", "page_size=0", "email=%20"] {
        let r = app.get_as(&format!("/api/v1/users?{bad}"), &admin).await;
        assert!(r.status.is_client_error(), "{bad}: {}", r.body);
    }
}
