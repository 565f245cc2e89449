//! Staff editors (`teacher1`, `admin1`): change a course's price, schedule a run and delete
//! it again. Every edit invalidates the catalog cache, so this journey keeps the cache honest
//! under load.

use std::sync::Arc;

use chrono::{Duration as Days, Utc};
use goose::prelude::*;
use rand::Rng;
use serde_json::{Value, json};

use super::{Context, StepFuture, desk_token, ids, pick, think, transaction};
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
        super::scenario(ctx, "staff", weight, think(1000, 4000, think_scale))?
            .register_transaction(transaction(ctx, "staff: log in", log_in).set_on_start())
            .register_transaction(
                transaction(ctx, "staff: edit course", edit_course).set_weight(2)?,
            )
            .register_transaction(
                transaction(ctx, "staff: schedule run", schedule_run).set_weight(1)?,
            ),
    )
}

/// A price nudged by ±100 minor units, never below zero.
pub fn nudged_price(price: i64, up: bool) -> i64 {
    if up || price < 100 {
        price + 100
    } else {
        price - 100
    }
}

/// The id of the run just added: `POST /courses/{id}/runs` answers 201 with the run.
pub fn added_run_id(run: &Value, start_date: &str, seats_total: i64) -> Option<i64> {
    let same = run.get("start_date").and_then(Value::as_str) == Some(start_date)
        && run.get("seats_total").and_then(Value::as_i64) == Some(seats_total);
    same.then(|| run.get("id").and_then(Value::as_i64))
        .flatten()
}

async fn token(
    user: &mut GooseUser,
    ctx: &Context,
) -> Result<Option<String>, Box<TransactionError>> {
    desk_token(user, ctx, || ctx.next_staff_editor()).await
}

fn log_in<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        token(user, &ctx).await?;
        Ok(())
    })
}

/// A course to edit: one from the first catalog page in some order (every scale has one).
async fn some_course(
    user: &mut GooseUser,
    ctx: &Context,
) -> Result<Option<i64>, Box<TransactionError>> {
    let sort = ["newest", "title", "price_asc", "price_desc"][rand::rng().random_range(0..4)];
    let reply = api::send(
        user,
        &ctx.recorder,
        Call::get(
            "staff: course list",
            format!("/api/v1/courses?page=1&page_size=50&sort={sort}"),
        ),
    )
    .await?;
    Ok(pick(&mut rand::rng(), &ids(&reply.body, "id")))
}

fn edit_course<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some(token) = token(user, &ctx).await? else {
            return Ok(());
        };
        let Some(id) = some_course(user, &ctx).await? else {
            return Ok(());
        };
        // Staff read the course page from the primary (no cache).
        let page = api::send(
            user,
            &ctx.recorder,
            Call::get("staff: course page", format!("/api/v1/courses/{id}"))
                .token(&token)
                .expect(&[404]),
        )
        .await?;
        let Some(price) = page.body.get("price").and_then(Value::as_i64) else {
            return Ok(());
        };
        let price = nudged_price(price, rand::rng().random_bool(0.5));
        api::send(
            user,
            &ctx.recorder,
            Call::write(
                "staff: change price",
                GooseMethod::Patch,
                format!("/api/v1/courses/{id}"),
            )
            .token(&token)
            .json(json!({"price": price}))
            .expect(&[404]),
        )
        .await?;
        Ok(())
    })
}

fn schedule_run<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some(token) = token(user, &ctx).await? else {
            return Ok(());
        };
        let Some(id) = some_course(user, &ctx).await? else {
            return Ok(());
        };
        let (start, seats) = {
            let mut rng = rand::rng();
            let start = Utc::now().date_naive() + Days::days(rng.random_range(200..400));
            (start, rng.random_range(10..60_i64))
        };
        let sales_end = start - Days::days(7);
        let added = api::send(
            user,
            &ctx.recorder,
            Call::write(
                "staff: add run",
                GooseMethod::Post,
                format!("/api/v1/courses/{id}/runs"),
            )
            .token(&token)
            .json(json!({
                "start_date": start.to_string(),
                "sales_end_date": sales_end.to_string(),
                "seats_total": seats,
            }))
            .expect(&[404]),
        )
        .await?;
        let Some(run_id) = added_run_id(&added.body, &start.to_string(), seats) else {
            return Ok(());
        };
        // A student may have bought the new run meanwhile: 409 in_use is a normal answer.
        let deleted = api::send(
            user,
            &ctx.recorder,
            Call::write(
                "staff: delete run",
                GooseMethod::Delete,
                format!("/api/v1/courses/{id}/runs/{run_id}"),
            )
            .token(&token)
            .expect(&[404, 409]),
        )
        .await?;
        if deleted.is_success() {
            ctx.ledger.changed(Change::RunDeleted { run_id });
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_never_goes_negative() {
        assert_eq!(nudged_price(50, false), 150);
        assert_eq!(nudged_price(1000, false), 900);
        assert_eq!(nudged_price(1000, true), 1100);
    }

    #[test]
    fn the_added_run_is_the_answer_when_it_matches_what_was_sent() {
        let run = json!({"id": 9, "start_date": "2027-06-01", "seats_total": 30});
        assert_eq!(added_run_id(&run, "2027-06-01", 30), Some(9));
        assert_eq!(added_run_id(&run, "2027-06-02", 30), None);
        assert_eq!(
            added_run_id(&json!({"upcoming_runs": []}), "2027-06-01", 30),
            None
        );
    }
}
