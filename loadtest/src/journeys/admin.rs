//! The administrator (`admin1`): finds accounts, runs a staff member's whole lifecycle
//! (created with a position, assigned to a course, moved to another position, deactivated),
//! and issues certificates to students whose payment the load saw acknowledged.
//!
//! Each staff member is one this journey created, so no seeded account or other journey is
//! touched. A deactivation is the last change made to its account: the ledger checks that it
//! holds ([`Change::Deactivated`]), and each issued certificate exists once
//! ([`Change::CertificateIssued`]).

use std::sync::Arc;

use goose::prelude::*;
use rand::Rng;
use serde_json::{Value, json};

use super::{Context, StepFuture, administrator, desk_token, ids, pick, think, transaction};
use crate::{
    api::{self, Call, Reply},
    ledger::Change,
};

pub fn scenario(
    ctx: &Arc<Context>,
    weight: usize,
    think_scale: f64,
) -> Result<Scenario, GooseError> {
    Ok(
        super::scenario(ctx, "admin", weight, think(2000, 6000, think_scale))?
            .register_transaction(transaction(ctx, "admin: log in", log_in).set_on_start())
            .register_transaction(
                transaction(ctx, "admin: find accounts", find_accounts).set_weight(2)?,
            )
            .register_transaction(
                transaction(ctx, "admin: staff lifecycle", staff_lifecycle).set_weight(1)?,
            )
            .register_transaction(
                transaction(ctx, "admin: issue certificate", issue_certificate).set_weight(2)?,
            ),
    )
}

async fn token(
    user: &mut GooseUser,
    ctx: &Context,
) -> Result<Option<String>, Box<TransactionError>> {
    desk_token(user, ctx, administrator).await
}

fn log_in<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        token(user, &ctx).await?;
        Ok(())
    })
}

/// The account search staff use most: by role and position, by email, active or not.
pub fn account_query(roll: u32) -> &'static str {
    match roll % 4 {
        0 => "role=staff&position=teacher",
        1 => "role=student&active=true&page_size=50",
        2 => "email=student1",
        _ => "active=false",
    }
}

fn find_accounts<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some(token) = token(user, &ctx).await? else {
            return Ok(());
        };
        let query = account_query(rand::rng().random_range(0..4));
        api::send(
            user,
            &ctx.recorder,
            Call::get("admin: account list", format!("/api/v1/users?{query}")).token(&token),
        )
        .await?;
        Ok(())
    })
}

async fn admin_write(
    user: &mut GooseUser,
    ctx: &Context,
    token: &str,
    name: &str,
    method: GooseMethod,
    path: String,
    body: Option<Value>,
) -> Result<Reply, Box<TransactionError>> {
    let mut call = Call::write(name, method, path).token(token);
    if let Some(body) = body {
        call = call.json(body);
    }
    api::send(user, &ctx.recorder, call).await
}

fn staff_lifecycle<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some(token) = token(user, &ctx).await? else {
            return Ok(());
        };
        let (email, correct_a_mistake) = {
            let mut rng = rand::rng();
            (
                format!("staff.{:016x}@load.lyceum.test", rng.random::<u64>()),
                rng.random_bool(0.25),
            )
        };
        let created = admin_write(
            user,
            &ctx,
            &token,
            "admin: create staff",
            GooseMethod::Post,
            "/api/v1/users".into(),
            Some(json!({
                "account": {"email": email, "password": "staff-load-password",
                            "first_name": "Load", "last_name": "Mentor", "birth_date": "1988-02-03"},
                "position": "mentor",
            })),
        )
        .await?;
        let Some(id) = created.acknowledged_id() else {
            return Ok(());
        };
        let courses = api::send(
            user,
            &ctx.recorder,
            Call::get("admin: course list", "/api/v1/courses?page=1&page_size=20"),
        )
        .await?;
        // Picked before the awaits: the thread's rng cannot be held across them.
        let course = pick(&mut rand::rng(), &ids(&courses.body, "id"));
        if let Some(course) = course {
            let staff = |role: &str| format!("/api/v1/courses/{course}/staff/{role}/{id}");
            admin_write(
                user,
                &ctx,
                &token,
                "admin: assign course staff",
                GooseMethod::Put,
                staff("mentor"),
                None,
            )
            .await?;
            // The new position cannot hold the mentor role: the API drops it in the same
            // transaction.
            admin_write(
                user,
                &ctx,
                &token,
                "admin: change position",
                GooseMethod::Put,
                format!("/api/v1/users/{id}/role"),
                Some(json!({"role": "staff", "position": "reviewer"})),
            )
            .await?;
            admin_write(
                user,
                &ctx,
                &token,
                "admin: assign course staff",
                GooseMethod::Put,
                staff("reviewer"),
                None,
            )
            .await?;
            admin_write(
                user,
                &ctx,
                &token,
                "admin: remove course staff",
                GooseMethod::Delete,
                staff("reviewer"),
                None,
            )
            .await?;
        }
        let deactivate = format!("/api/v1/users/{id}/deactivate");
        let mut done = admin_write(
            user,
            &ctx,
            &token,
            "admin: deactivate",
            GooseMethod::Post,
            deactivate.clone(),
            None,
        )
        .await?;
        if correct_a_mistake && done.is_success() {
            // Deactivated by mistake: reactivated, then deactivated for good.
            admin_write(
                user,
                &ctx,
                &token,
                "admin: reactivate",
                GooseMethod::Post,
                format!("/api/v1/users/{id}/reactivate"),
                None,
            )
            .await?;
            done = admin_write(
                user,
                &ctx,
                &token,
                "admin: deactivate",
                GooseMethod::Post,
                deactivate,
                None,
            )
            .await?;
        }
        if done.is_success() {
            ctx.ledger.changed(Change::Deactivated { user_id: id });
        }
        Ok(())
    })
}

fn issue_certificate<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some(token) = token(user, &ctx).await? else {
            return Ok(());
        };
        let Some((user_id, course_id)) = pick(&mut rand::rng(), &ctx.ledger.paid_pairs()) else {
            return Ok(());
        };
        // 409: the student holds this course's certificate already (issued earlier in the run
        // or seeded).
        let issued = api::send(
            user,
            &ctx.recorder,
            Call::write(
                "admin: issue certificate",
                GooseMethod::Post,
                "/api/v1/certificates",
            )
            .token(&token)
            .json(json!({"user_id": user_id, "course_id": course_id}))
            .expect(&[409]),
        )
        .await?;
        if let Some(serial) = issued
            .is_success()
            .then(|| issued.body.get("serial_number").and_then(Value::as_str))
            .flatten()
        {
            ctx.ledger.changed(Change::CertificateIssued {
                serial_number: serial.to_owned(),
                user_id,
                course_id,
            });
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_queries_cover_each_filter() {
        let all: Vec<&str> = (0..4).map(account_query).collect();
        for filter in ["role=", "position=", "email=", "active="] {
            assert!(all.iter().any(|q| q.contains(filter)), "{filter}");
        }
    }
}
