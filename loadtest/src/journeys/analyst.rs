//! An analyst (`admin1`) opening the three reports, with varied parameters.

use std::sync::Arc;

use goose::prelude::*;
use rand::Rng;

use super::{Context, StepFuture, administrator, desk_token, think, transaction};
use crate::api::{self, Call};

pub fn scenario(
    ctx: &Arc<Context>,
    weight: usize,
    think_scale: f64,
) -> Result<Scenario, GooseError> {
    Ok(
        super::scenario(ctx, "analyst", weight, think(2000, 5000, think_scale))?
            .register_transaction(transaction(ctx, "analyst: log in", log_in).set_on_start())
            .register_transaction(
                transaction(ctx, "analyst: top courses", top_courses).set_weight(2)?,
            )
            .register_transaction(transaction(ctx, "analyst: revenue", revenue).set_weight(1)?)
            .register_transaction(
                transaction(ctx, "analyst: employment", employment).set_weight(1)?,
            ),
    )
}

/// A revenue window `from=YYYY-MM&to=YYYY-MM` of 1–12 months ending at or before `end`.
pub fn revenue_window(rng: &mut impl Rng, end_year: i32, end_month: u32) -> String {
    let end = end_year * 12 + end_month as i32 - 1 - rng.random_range(0..12);
    let start = end - rng.random_range(0..12);
    let ym = |m: i32| format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1);
    format!("from={}&to={}", ym(start), ym(end))
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

async fn report(
    user: &mut GooseUser,
    ctx: &Context,
    name: &str,
    path: String,
) -> TransactionResult {
    let Some(token) = token(user, ctx).await? else {
        return Ok(());
    };
    api::send(user, &ctx.recorder, Call::get(name, path).token(&token)).await?;
    Ok(())
}

fn top_courses<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let limit = [5, 10, 10, 20][rand::rng().random_range(0..4)];
        report(
            user,
            &ctx,
            "analyst: top courses",
            format!("/api/v1/reports/top-courses?limit={limit}"),
        )
        .await
    })
}

fn revenue<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let window = revenue_window(&mut rand::rng(), 2026, 11);
        report(
            user,
            &ctx,
            "analyst: revenue",
            format!("/api/v1/reports/revenue?{window}"),
        )
        .await
    })
}

fn employment<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        report(
            user,
            &ctx,
            "analyst: employment",
            "/api/v1/reports/employment".into(),
        )
        .await
    })
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    #[test]
    fn revenue_windows_are_ordered_months() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..200 {
            let w = revenue_window(&mut rng, 2026, 1);
            let (from, to) = w
                .strip_prefix("from=")
                .and_then(|s| s.split_once("&to="))
                .unwrap_or(("", ""));
            assert_eq!(from.len(), 7, "{w}");
            assert!(from <= to, "{w}");
            assert!(to <= "2026-01", "{w}");
            let month: u32 = to[5..].parse().unwrap_or(0);
            assert!((1..=12).contains(&month), "{w}");
        }
    }
}
