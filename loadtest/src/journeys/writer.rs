//! The blog's writer (`smm1`): drafts a post, edits it, then publishes it or throws it away.
//! Publishing and deleting invalidate the cached feed the `blog` readers load.

use std::sync::Arc;

use goose::prelude::*;
use rand::Rng;
use serde_json::json;

use super::{Context, StepFuture, blog_writer, desk_token, think, transaction};
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
        super::scenario(ctx, "writer", weight, think(3000, 8000, think_scale))?
            .register_transaction(transaction(ctx, "writer: log in", log_in).set_on_start())
            .register_transaction(transaction(ctx, "writer: write a post", write_post)),
    )
}

fn log_in<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        desk_token(user, &ctx, blog_writer).await?;
        Ok(())
    })
}

const SUBJECTS: &[&str] = &[
    "Rust",
    "PostgreSQL",
    "career change",
    "design reviews",
    "SQL",
];
const TAGS: &[&str] = &["engineering", "careers", "data", "design", "news"];

fn write_post<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some(token) = desk_token(user, &ctx, blog_writer).await? else {
            return Ok(());
        };
        let (title, tag, minutes, publish) = {
            let mut rng = rand::rng();
            (
                format!(
                    "Notes on {} #{:06x}",
                    SUBJECTS[rng.random_range(0..SUBJECTS.len())],
                    rng.random_range(0..0xff_ffff_u32)
                ),
                TAGS[rng.random_range(0..TAGS.len())],
                rng.random_range(3..15),
                rng.random_bool(0.7),
            )
        };
        let draft = api::send(
            user,
            &ctx.recorder,
            Call::write("writer: draft", GooseMethod::Post, "/api/v1/blog/posts")
                .token(&token)
                .json(json!({
                    "title": title,
                    "topic": "engineering",
                    "reading_minutes": minutes,
                    "body": format!("{title}: what we learned, step by step."),
                    "tags": [tag],
                    "published_at": null,
                })),
        )
        .await?;
        let Some(id) = draft.acknowledged_id() else {
            return Ok(());
        };
        let path = format!("/api/v1/blog/posts/{id}");
        api::send(
            user,
            &ctx.recorder,
            Call::write("writer: edit", GooseMethod::Patch, path.clone())
                .token(&token)
                .json(json!({"body": format!("{title}: what we learned, step by step, revised.")})),
        )
        .await?;
        let (last, change) = if publish {
            (
                Call::write("writer: publish", GooseMethod::Patch, path)
                    .json(json!({"published_at": chrono::Utc::now().to_rfc3339()})),
                Change::PostPublished { post_id: id },
            )
        } else {
            (
                Call::write("writer: delete", GooseMethod::Delete, path),
                Change::PostDeleted { post_id: id },
            )
        };
        if api::send(user, &ctx.recorder, last.token(&token))
            .await?
            .is_success()
        {
            ctx.ledger.changed(change);
        }
        Ok(())
    })
}
