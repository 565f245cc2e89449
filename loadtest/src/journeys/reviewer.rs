//! A reviewer of courses (a seeded one, kept for the goose user's life): claims the oldest
//! waiting submission of their courses, reads it, and accepts it or returns it with
//! feedback.
//!
//! Claims and decisions are safe to repeat (claiming again answers the submission held;
//! deciding again what it already says answers with it), so both are retried on 503 within
//! the budget, and each acknowledged one goes into the ledger ([`Change::Claimed`],
//! [`Change::Decided`]); the certificate a last acceptance issues as well
//! ([`Change::CertificateIssued`]).

use std::sync::Arc;

use goose::prelude::*;
use rand::Rng;
use serde_json::json;

use super::{Context, StepFuture, retry::with_retries, staffer_login, think, transaction};
use crate::{
    api::{self, Call},
    ledger::Change,
};

/// Share of reviews that accept; the rest return the work with feedback.
pub const ACCEPT_SHARE: f64 = 0.7;

pub fn scenario(
    ctx: &Arc<Context>,
    weight: usize,
    think_scale: f64,
) -> Result<Scenario, GooseError> {
    Ok(
        super::scenario(ctx, "reviewer", weight, think(2000, 6000, think_scale))?
            .register_transaction(transaction(ctx, "reviewer: log in", log_in).set_on_start())
            .register_transaction(transaction(ctx, "reviewer: review", review)),
    )
}

fn log_in<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        staffer_login(user, &ctx, Context::next_reviewer).await?;
        Ok(())
    })
}

fn review<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some((me, _)) = staffer_login(user, &ctx, Context::next_reviewer).await? else {
            return Ok(());
        };
        let claimed = with_retries(
            user,
            &ctx,
            || {
                Call::write(
                    "reviewer: claim",
                    GooseMethod::Post,
                    "/api/v1/review-queue/claim",
                )
            },
            &me.token,
            None,
        )
        .await?;
        // 204: the queue of the reviewer's courses is empty.
        let Some(id) = claimed.acknowledged_id() else {
            return Ok(());
        };
        ctx.ledger.changed(Change::Claimed {
            submission_id: id,
            reviewer_id: me.user_id,
        });
        api::send(
            user,
            &ctx.recorder,
            Call::get("reviewer: submission", format!("/api/v1/submissions/{id}")).token(&me.token),
        )
        .await?;
        let (action, body, name) = if rand::rng().random_bool(ACCEPT_SHARE) {
            (
                "accept",
                json!({"feedback": "Good work."}),
                "reviewer: accept",
            )
        } else {
            (
                "return",
                json!({"feedback": "Written by the load generator: add tests for the failure cases."}),
                "reviewer: return",
            )
        };
        let path = format!("/api/v1/submissions/{id}/{action}");
        let decided = with_retries(
            user,
            &ctx,
            || Call::write(name, GooseMethod::Post, path.clone()).json(body.clone()),
            &me.token,
            None,
        )
        .await?;
        if !decided.is_success() {
            return Ok(());
        }
        let submission = &decided.body["submission"];
        ctx.ledger.changed(Change::Decided {
            submission_id: id,
            reviewer_id: me.user_id,
            status: if action == "accept" {
                "accepted"
            } else {
                "returned"
            }
            .into(),
        });
        if let (Some(serial), Some(user_id), Some(course_id)) = (
            decided.body["certificate_serial"].as_str(),
            submission["user_id"].as_i64(),
            submission["course_id"].as_i64(),
        ) {
            ctx.ledger.changed(Change::CertificateIssued {
                serial_number: serial.to_owned(),
                user_id,
                course_id,
            });
        }
        Ok(())
    })
}
