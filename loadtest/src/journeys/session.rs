//! Who a journey logs in as, and its session: the seeded accounts the journeys use, logging
//! in, and the per-goose-user sessions of staff (`desk_token`) and course staff
//! (`staffer_login`), each logged in once and again after a failed try.

use goose::prelude::*;
use serde_json::{Value, json};

use super::Context;
use crate::{
    api::{self, Call},
    drill::RequestClass,
    roster::CourseStaffer,
};

/// A login the load may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub email: String,
    pub password: String,
}

impl Account {
    pub fn new(email: &str, password: &str) -> Self {
        Self {
            email: email.into(),
            password: password.into(),
        }
    }
}

/// The seeded staff the journeys log in as (docs/SEEDER.md). `admin1` edits courses, reads
/// the reports and administers accounts.
pub fn administrator() -> Account {
    Account::new("admin1@lyceum.test", "admin-password")
}

pub fn staff_editors() -> Vec<Account> {
    vec![
        Account::new("teacher1@lyceum.test", "teacher-password"),
        administrator(),
    ]
}

pub fn blog_writer() -> Account {
    Account::new("smm1@lyceum.test", "smm-password")
}

pub fn career_advisor() -> Account {
    Account::new("support1@lyceum.test", "support-password")
}

/// A logged-in session: the bearer token and who it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub token: String,
    pub user_id: i64,
}

/// `POST /api/v1/auth/login`; `None` when it did not work (the journey tries again later).
pub async fn login(
    user: &mut GooseUser,
    ctx: &Context,
    account: &Account,
) -> Result<Option<Login>, Box<TransactionError>> {
    let reply = api::send(
        user,
        &ctx.recorder,
        Call::write("auth: login", GooseMethod::Post, "/api/v1/auth/login")
            .class(RequestClass::Read)
            .json(json!({"email": account.email, "password": account.password})),
    )
    .await?;
    if !reply.is_success() {
        return Ok(None);
    }
    let token = reply.body.get("access_token").and_then(Value::as_str);
    let user_id = reply
        .body
        .get("user")
        .and_then(|u| u.get("id"))
        .and_then(Value::as_i64);
    Ok(token.zip(user_id).map(|(token, user_id)| Login {
        token: token.to_owned(),
        user_id,
    }))
}

/// A staff member's session: logged in once per goose user (again after a failed try).
#[derive(Debug, Clone, Default)]
struct Desk {
    login: Option<Login>,
}

/// The bearer token of this goose user's staff session, logging in as `account()` first when
/// there is none yet (the first try may have hit a failover).
pub async fn desk_token(
    user: &mut GooseUser,
    ctx: &Context,
    account: impl FnOnce() -> Account,
) -> Result<Option<String>, Box<TransactionError>> {
    let mut desk = user.get_session_data::<Desk>().cloned().unwrap_or_default();
    if desk.login.is_none() {
        desk.login = login(user, ctx, &account()).await?;
        user.set_session_data(desk.clone());
    }
    Ok(desk.login.map(|l| l.token))
}

/// A course staff member's session: who they are (with their courses), and their login.
#[derive(Debug, Clone, Default)]
struct StafferDesk {
    staffer: Option<CourseStaffer>,
    login: Option<Login>,
}

/// This goose user's course staff member (the next one `next` gives, kept for the user's
/// life) and their login, logging in first when there is none yet. `None` when the roster
/// has nobody of the kind or the login did not work (tried again next time).
pub async fn staffer_login(
    user: &mut GooseUser,
    ctx: &Context,
    next: fn(&Context) -> Option<CourseStaffer>,
) -> Result<Option<(Login, CourseStaffer)>, Box<TransactionError>> {
    let mut desk = user
        .get_session_data::<StafferDesk>()
        .cloned()
        .unwrap_or_default();
    if desk.staffer.is_none() {
        desk.staffer = next(ctx);
    }
    let Some(staffer) = desk.staffer.clone() else {
        return Ok(None);
    };
    if desk.login.is_none() {
        desk.login = login(user, ctx, &staffer.account).await?;
    }
    user.set_session_data(desk.clone());
    Ok(desk.login.map(|l| (l, staffer)))
}
