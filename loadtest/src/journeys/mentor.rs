//! A mentor of courses (a seeded one, kept for the goose user's life): lists the waiting
//! submissions of one of their courses, reads one, and comments on it.
//!
//! A comment is safe to repeat (the same text by the same author on the same submission
//! within a minute answers with the comment stored), so it is retried on 503 within the
//! budget; each acknowledged one goes into the ledger ([`Change::Commented`]), which checks
//! it was stored exactly once.

use std::sync::Arc;

use goose::prelude::*;
use rand::Rng;
use serde_json::json;

use super::{
    Context, StepFuture, ids, pick, retry::with_retries, staffer_login, think, transaction,
};
use crate::{
    api::{self, Call},
    ledger::Change,
};

pub fn scenario(
    ctx: &Arc<Context>,
    weight: usize,
    think_scale: f64,
) -> Result<Scenario, GooseError> {
    Ok(
        super::scenario(ctx, "mentor", weight, think(2000, 6000, think_scale))?
            .register_transaction(transaction(ctx, "mentor: log in", log_in).set_on_start())
            .register_transaction(transaction(ctx, "mentor: comment", comment)),
    )
}

fn log_in<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        staffer_login(user, &ctx, Context::next_mentor).await?;
        Ok(())
    })
}

fn comment<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some((me, mentor)) = staffer_login(user, &ctx, Context::next_mentor).await? else {
            return Ok(());
        };
        let Some(course) = pick(&mut rand::rng(), &mentor.courses) else {
            return Ok(());
        };
        let waiting = api::send(
            user,
            &ctx.recorder,
            Call::get(
                "mentor: course submissions",
                format!("/api/v1/courses/{course}/submissions?status=submitted&page_size=20"),
            )
            .token(&me.token),
        )
        .await?;
        let Some(id) = pick(&mut rand::rng(), &ids(&waiting.body, "id")) else {
            return Ok(());
        };
        api::send(
            user,
            &ctx.recorder,
            Call::get("mentor: submission", format!("/api/v1/submissions/{id}")).token(&me.token),
        )
        .await?;
        // A text of its own, so a comment stored twice shows in the ledger check.
        let body = json!({"body": format!(
            "Load generator note {:08x}: what happens with an empty input?",
            rand::rng().random::<u32>()
        )});
        let said = with_retries(
            user,
            &ctx,
            || {
                Call::write(
                    "mentor: comment",
                    GooseMethod::Post,
                    format!("/api/v1/submissions/{id}/comments"),
                )
                .json(body.clone())
            },
            &me.token,
            None,
        )
        .await?;
        if let Some(comment_id) = said.acknowledged_id() {
            ctx.ledger.changed(Change::Commented {
                comment_id,
                submission_id: id,
                author_id: me.user_id,
            });
        }
        Ok(())
    })
}
