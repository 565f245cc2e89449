//! Anonymous visitors: catalog search with filters, full-text, sorts and pages; course pages
//! and their reviews; teachers; the lookup tables.

use std::sync::Arc;

use goose::prelude::*;
use rand::Rng;
use serde_json::Value;

use super::{Context, SEARCH_WORDS, StepFuture, ids, items, pick, think, transaction};
use crate::api::{self, Call};

const SORTS: &[&str] = &["newest", "price_asc", "price_desc", "title", "difficulty"];
const DIFFICULTIES: &[&str] = &["beginner", "intermediate", "advanced"];

/// What a visitor remembers between pages.
#[derive(Debug, Clone, Default)]
struct Visit {
    specializations: Vec<String>,
    course_ids: Vec<i64>,
}

pub fn scenario(
    ctx: &Arc<Context>,
    weight: usize,
    think_scale: f64,
) -> Result<Scenario, GooseError> {
    Ok(
        super::scenario(ctx, "browse", weight, think(500, 2000, think_scale))?
            .register_transaction(transaction(ctx, "browse: lookups", lookups).set_on_start())
            .register_transaction(transaction(ctx, "browse: search", search).set_weight(4)?)
            .register_transaction(transaction(ctx, "browse: course", course).set_weight(3)?)
            .register_transaction(transaction(ctx, "browse: teachers", teachers).set_weight(1)?),
    )
}

/// A catalog query string as a visitor would produce it: mostly the first pages, sometimes a
/// filter, a price range, a search term, a sort.
pub fn course_query(rng: &mut impl Rng, specializations: &[String]) -> String {
    let mut params: Vec<String> = Vec::new();
    let page = if rng.random_bool(0.7) {
        1
    } else {
        rng.random_range(2..=5)
    };
    params.push(format!("page={page}"));
    params.push(format!(
        "page_size={}",
        [10, 20, 20, 50][rng.random_range(0..4)]
    ));
    let searching = rng.random_bool(0.3);
    if searching && let Some(word) = pick(rng, SEARCH_WORDS) {
        params.push(format!("q={}", word.replace(' ', "+")));
    }
    if rng.random_bool(0.3)
        && let Some(slug) = pick(rng, specializations)
    {
        params.push(format!("specialization={slug}"));
    }
    if rng.random_bool(0.2)
        && let Some(code) = pick(rng, DIFFICULTIES)
    {
        params.push(format!("difficulty={code}"));
    }
    if rng.random_bool(0.2) {
        let min = rng.random_range(0..5) * 10_000;
        params.push(format!("min_price={min}"));
        params.push(format!(
            "max_price={}",
            min + rng.random_range(2..20) * 10_000
        ));
    }
    if searching && rng.random_bool(0.5) {
        params.push("sort=relevance".into());
    } else if rng.random_bool(0.5)
        && let Some(sort) = pick(rng, SORTS)
    {
        params.push(format!("sort={sort}"));
    }
    format!("/api/v1/courses?{}", params.join("&"))
}

fn visit(user: &GooseUser) -> Visit {
    user.get_session_data::<Visit>()
        .cloned()
        .unwrap_or_default()
}

fn lookups<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let reply = api::send(
            user,
            &ctx.recorder,
            Call::get("browse: specializations", "/api/v1/specializations"),
        )
        .await?;
        let mut v = visit(user);
        v.specializations = items(&reply.body)
            .iter()
            .filter_map(|s| s.get("slug").and_then(Value::as_str).map(str::to_owned))
            .collect();
        api::send(
            user,
            &ctx.recorder,
            Call::get("browse: difficulty levels", "/api/v1/difficulty-levels"),
        )
        .await?;
        user.set_session_data(v);
        Ok(())
    })
}

fn search<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let mut v = visit(user);
        let path = course_query(&mut rand::rng(), &v.specializations);
        let reply = api::send(user, &ctx.recorder, Call::get("browse: course list", path)).await?;
        let found = ids(&reply.body, "id");
        if !found.is_empty() {
            v.course_ids = found;
            user.set_session_data(v);
        }
        Ok(())
    })
}

fn course<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let v = visit(user);
        let Some(id) = pick(&mut rand::rng(), &v.course_ids) else {
            return search(user, ctx).await;
        };
        // A course unpublished by a staff edit meanwhile answers 404: a normal answer.
        api::send(
            user,
            &ctx.recorder,
            Call::get("browse: course page", format!("/api/v1/courses/{id}")).expect(&[404]),
        )
        .await?;
        // Some visitors scroll down to the reviews.
        let read_reviews = rand::rng().random_bool(0.3);
        if read_reviews {
            api::send(
                user,
                &ctx.recorder,
                Call::get(
                    "browse: course reviews",
                    format!("/api/v1/courses/{id}/reviews?page=1"),
                )
                .expect(&[404]),
            )
            .await?;
        }
        Ok(())
    })
}

fn teachers<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let page = rand::rng().random_range(1..=3);
        let reply = api::send(
            user,
            &ctx.recorder,
            Call::get(
                "browse: teacher list",
                format!("/api/v1/teachers?page={page}"),
            ),
        )
        .await?;
        let teacher = pick(&mut rand::rng(), &ids(&reply.body, "user_id"));
        if let Some(id) = teacher {
            api::send(
                user,
                &ctx.recorder,
                Call::get("browse: teacher page", format!("/api/v1/teachers/{id}")),
            )
            .await?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    #[test]
    fn queries_stay_within_the_api_limits() {
        let mut rng = StdRng::seed_from_u64(7);
        let specs = vec!["data-science".to_owned()];
        let mut saw_q = false;
        for _ in 0..500 {
            let q = course_query(&mut rng, &specs);
            assert!(q.starts_with("/api/v1/courses?page="), "{q}");
            let page: u32 = q
                .split("page=")
                .nth(1)
                .and_then(|s| s.split('&').next())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            assert!((1..=5).contains(&page), "{q}");
            // relevance needs a search term.
            assert!(!q.contains("sort=relevance") || q.contains("q="), "{q}");
            assert!(!q.contains(' '), "{q}");
            saw_q |= q.contains("q=");
        }
        assert!(saw_q);
    }
}
