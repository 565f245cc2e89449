//! Anonymous blog readers: post lists (sometimes by tag), posts, the tag list.

use std::sync::Arc;

use goose::prelude::*;
use rand::Rng;
use serde_json::Value;

use super::{Context, StepFuture, ids, items, pick, think, transaction};
use crate::api::{self, Call};

/// What a reader remembers: posts seen in lists and the tags they carry.
#[derive(Debug, Clone, Default)]
struct Reading {
    post_ids: Vec<i64>,
    tags: Vec<String>,
}

pub fn scenario(
    ctx: &Arc<Context>,
    weight: usize,
    think_scale: f64,
) -> Result<Scenario, GooseError> {
    Ok(
        super::scenario(ctx, "blog", weight, think(1000, 3000, think_scale))?
            .register_transaction(transaction(ctx, "blog: list", list).set_weight(3)?)
            .register_transaction(transaction(ctx, "blog: post", post).set_weight(3)?)
            .register_transaction(transaction(ctx, "blog: tags", tags).set_weight(1)?),
    )
}

/// A tag's name whether the API lists tags as strings or as objects.
pub fn tag_name(tag: &Value) -> Option<String> {
    tag.as_str()
        .or_else(|| tag.get("name").and_then(Value::as_str))
        .or_else(|| tag.get("slug").and_then(Value::as_str))
        .map(str::to_owned)
}

fn reading(user: &GooseUser) -> Reading {
    user.get_session_data::<Reading>()
        .cloned()
        .unwrap_or_default()
}

fn list<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let mut r = reading(user);
        let (page, tag) = {
            let mut rng = rand::rng();
            let page = if rng.random_bool(0.7) {
                1
            } else {
                rng.random_range(2..=4)
            };
            let tag = if rng.random_bool(0.3) {
                pick(&mut rng, &r.tags)
            } else {
                None
            };
            (page, tag)
        };
        let mut path = format!("/api/v1/blog/posts?page={page}&page_size=10");
        if let Some(tag) = tag {
            path.push_str(&format!("&tag={}", tag.replace(' ', "+")));
        }
        let reply = api::send(user, &ctx.recorder, Call::get("blog: post list", path)).await?;
        let found = ids(&reply.body, "id");
        if !found.is_empty() {
            r.post_ids = found;
        }
        for post in items(&reply.body) {
            for tag in post
                .get("tags")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice)
            {
                if let Some(name) = tag_name(tag)
                    && !r.tags.contains(&name)
                    && r.tags.len() < 50
                {
                    r.tags.push(name);
                }
            }
        }
        user.set_session_data(r);
        Ok(())
    })
}

fn post<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let r = reading(user);
        let Some(id) = pick(&mut rand::rng(), &r.post_ids) else {
            return list(user, ctx).await;
        };
        // A post deleted or unpublished meanwhile answers 404: a normal answer.
        api::send(
            user,
            &ctx.recorder,
            Call::get("blog: post", format!("/api/v1/blog/posts/{id}")).expect(&[404]),
        )
        .await?;
        Ok(())
    })
}

fn tags<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let reply = api::send(
            user,
            &ctx.recorder,
            Call::get("blog: tags", "/api/v1/blog/tags"),
        )
        .await?;
        let mut r = reading(user);
        for name in items(&reply.body).iter().filter_map(tag_name) {
            if !r.tags.contains(&name) && r.tags.len() < 50 {
                r.tags.push(name);
            }
        }
        user.set_session_data(r);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tags_may_be_strings_or_objects() {
        assert_eq!(tag_name(&json!("rust")), Some("rust".into()));
        assert_eq!(
            tag_name(&json!({"id": 1, "name": "sql"})),
            Some("sql".into())
        );
        assert_eq!(tag_name(&json!(3)), None);
    }
}
