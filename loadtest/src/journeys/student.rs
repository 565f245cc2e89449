//! A seeded student: logs in once, browses, buys a run with an `Idempotency-Key`, pays (or
//! cancels, or leaves it pending), reviews the course, looks at their purchases, and submits
//! the next project of a course they are enrolled in.
//!
//! Buying is where the drill bites: a 503 or a lost connection is retried with the SAME key,
//! within a bounded number of attempts and time, and every purchase a 2xx answer acknowledged
//! goes into the ledger that is checked against the database after the run.

use std::sync::Arc;

use goose::prelude::*;
use rand::Rng;
use serde_json::{Value, json};

use super::{
    Context, Login, StepFuture, browse::course_query, ids, items, login, pick, retry::with_retries,
    think, transaction,
};
use crate::{
    api::{self, Call},
    ledger::{Ack, Change},
};

const PLANS: &[&str] = &["basic", "career_track", "discounted"];

/// What a student keeps between transactions.
#[derive(Debug, Clone, Default)]
struct Session {
    login: Option<Login>,
    course_ids: Vec<i64>,
}

pub fn scenario(
    ctx: &Arc<Context>,
    weight: usize,
    think_scale: f64,
) -> Result<Scenario, GooseError> {
    Ok(
        super::scenario(ctx, "student", weight, think(500, 2500, think_scale))?
            .register_transaction(transaction(ctx, "student: log in", log_in).set_on_start())
            .register_transaction(transaction(ctx, "student: browse", browse).set_weight(3)?)
            .register_transaction(transaction(ctx, "student: buy", buy).set_weight(2)?)
            .register_transaction(
                transaction(ctx, "student: my purchases", my_purchases).set_weight(1)?,
            )
            .register_transaction(transaction(ctx, "student: submit", submit).set_weight(1)?),
    )
}

/// A run that can be bought today: seats left and sales not over (`YYYY-MM-DD` compares as text).
pub fn buyable_runs(course: &Value, today: &str) -> Vec<i64> {
    course
        .get("upcoming_runs")
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter(|run| run.get("seats_left").and_then(Value::as_i64).unwrap_or(0) > 0)
        .filter(|run| {
            run.get("sales_end_date")
                .and_then(Value::as_str)
                .is_some_and(|d| d >= today)
        })
        .filter_map(|run| run.get("id").and_then(Value::as_i64))
        .collect()
}

fn session(user: &GooseUser) -> Session {
    user.get_session_data::<Session>()
        .cloned()
        .unwrap_or_default()
}

/// The session's login, logging in first when there is none yet (the first try may have hit
/// a failover).
async fn ensure_login(
    user: &mut GooseUser,
    ctx: &Context,
) -> Result<Option<Login>, Box<TransactionError>> {
    let mut s = session(user);
    if s.login.is_none() {
        let Some(account) = ctx.next_student() else {
            return Ok(None);
        };
        s.login = login(user, ctx, &account).await?;
        user.set_session_data(s.clone());
    }
    Ok(s.login)
}

fn log_in<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        ensure_login(user, &ctx).await?;
        Ok(())
    })
}

async fn list_courses(
    user: &mut GooseUser,
    ctx: &Context,
) -> Result<Vec<i64>, Box<TransactionError>> {
    let path = course_query(&mut rand::rng(), &[]);
    let reply = api::send(user, &ctx.recorder, Call::get("student: course list", path)).await?;
    let found = ids(&reply.body, "id");
    if !found.is_empty() {
        let mut s = session(user);
        s.course_ids = found.clone();
        user.set_session_data(s);
    }
    Ok(found)
}

fn browse<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let found = list_courses(user, &ctx).await?;
        let course = pick(&mut rand::rng(), &found);
        if let Some(id) = course {
            api::send(
                user,
                &ctx.recorder,
                Call::get("student: course page", format!("/api/v1/courses/{id}")).expect(&[404]),
            )
            .await?;
        }
        Ok(())
    })
}

fn buy<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some(me) = ensure_login(user, &ctx).await? else {
            return Ok(());
        };
        let mut known = session(user).course_ids;
        if known.is_empty() {
            known = list_courses(user, &ctx).await?;
        }
        let Some(course_id) = pick(&mut rand::rng(), &known) else {
            return Ok(());
        };
        let page = api::send(
            user,
            &ctx.recorder,
            Call::get(
                "student: course page",
                format!("/api/v1/courses/{course_id}"),
            )
            .expect(&[404]),
        )
        .await?;
        let today = chrono::Utc::now().date_naive().to_string();
        let Some(run_id) = pick(&mut rand::rng(), &buyable_runs(&page.body, &today)) else {
            return Ok(());
        };
        let (key, plan) = {
            let mut rng = rand::rng();
            (
                format!("lt-{}-{:016x}", me.user_id, rng.random::<u64>()),
                pick(&mut rng, PLANS).unwrap_or("basic"),
            )
        };
        ctx.ledger.tried_run(run_id);
        // 409: sold out, sales closed, already enrolled: normal answers of a shop.
        let body = json!({"course_run_id": run_id, "plan": plan});
        let reply = with_retries(
            user,
            &ctx,
            || {
                Call::write("student: purchase", GooseMethod::Post, "/api/v1/purchases")
                    .json(body.clone())
                    .expect(&[409])
            },
            &me.token,
            Some(&key),
        )
        .await?;
        let Some(purchase_id) = reply.acknowledged_id() else {
            return Ok(());
        };
        ctx.ledger.acknowledged(Ack {
            user_id: reply
                .body
                .get("user_id")
                .and_then(Value::as_i64)
                .unwrap_or(me.user_id),
            idempotency_key: key.clone(),
            purchase_id,
            course_run_id: reply
                .body
                .get("course_run_id")
                .and_then(Value::as_i64)
                .unwrap_or(run_id),
        });

        // Most buyers pay; some change their mind; some leave it pending.
        let roll: f64 = rand::rng().random();
        let action = if roll < 0.8 {
            "pay"
        } else if roll < 0.9 {
            "cancel"
        } else {
            return Ok(());
        };
        let name: &'static str = if action == "pay" {
            "student: pay"
        } else {
            "student: cancel"
        };
        let path = format!("/api/v1/purchases/{purchase_id}/{action}");
        // Repeating a transition already done answers 200, so these are safe to retry.
        let done = with_retries(
            user,
            &ctx,
            || Call::write(name, GooseMethod::Post, path.clone()).expect(&[409]),
            &me.token,
            None,
        )
        .await?;
        if action == "pay" && done.is_success() {
            ctx.ledger.changed(Change::Paid {
                purchase_id,
                user_id: me.user_id,
                course_id,
            });
        }
        if action == "pay" && done.is_success() && rand::rng().random_bool(0.5) {
            review(user, &ctx, &me, course_id).await?;
        }
        Ok(())
    })
}

async fn review(
    user: &mut GooseUser,
    ctx: &Context,
    me: &Login,
    course_id: i64,
) -> TransactionResult {
    let rating = [5, 5, 5, 4, 4, 3, 2, 1][rand::rng().random_range(0..8)];
    // 409 already reviewed (a course bought twice), 403 not a buyer: normal answers.
    let posted = api::send(
        user,
        &ctx.recorder,
        Call::write("student: review", GooseMethod::Post, format!("/api/v1/courses/{course_id}/reviews"))
            .token(&me.token)
            .json(json!({"rating": rating, "body": "Written by the load generator: clear lessons, useful projects."}))
            .expect(&[403, 409]),
    )
    .await?;
    if let Some(review_id) = posted.acknowledged_id() {
        ctx.ledger.changed(Change::Reviewed {
            review_id,
            user_id: me.user_id,
            course_id,
        });
    }
    Ok(())
}

fn my_purchases<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some(me) = ensure_login(user, &ctx).await? else {
            return Ok(());
        };
        let reply = api::send(
            user,
            &ctx.recorder,
            Call::get(
                "student: my purchases",
                "/api/v1/purchases?page=1&page_size=20",
            )
            .token(&me.token),
        )
        .await?;
        let purchase = pick(&mut rand::rng(), &ids(&reply.body, "id"));
        if let Some(id) = purchase {
            api::send(
                user,
                &ctx.recorder,
                Call::get("student: purchase page", format!("/api/v1/purchases/{id}"))
                    .token(&me.token),
            )
            .await?;
        }
        Ok(())
    })
}

/// The project to submit next: the first in syllabus order that was never submitted or was
/// returned (not one that waits for review or is accepted).
pub fn next_project(progress: &Value) -> Option<i64> {
    progress
        .get("topics")
        .and_then(Value::as_array)?
        .iter()
        .flat_map(|t| items(&t["projects"]))
        .find(|p| matches!(p["status"].as_str(), None | Some("returned")))
        .and_then(|p| p["project_id"].as_i64())
}

fn submit<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some(me) = ensure_login(user, &ctx).await? else {
            return Ok(());
        };
        let mine = api::send(
            user,
            &ctx.recorder,
            Call::get("student: my purchases", "/api/v1/purchases?page_size=50").token(&me.token),
        )
        .await?;
        let enrolled: Vec<i64> = items(&mine.body)
            .iter()
            .filter(|p| p["status"] == "paid")
            .filter_map(|p| p["course_id"].as_i64())
            .collect();
        let Some(course_id) = pick(&mut rand::rng(), &enrolled) else {
            return Ok(());
        };
        let progress = api::send(
            user,
            &ctx.recorder,
            Call::get(
                "student: progress",
                format!("/api/v1/me/courses/{course_id}/progress"),
            )
            .token(&me.token)
            .expect(&[404]),
        )
        .await?;
        let Some(project_id) = next_project(&progress.body) else {
            return Ok(());
        };
        // The same URL and note again answers with the stored attempt: safe to retry.
        let body = json!({
            "project_id": project_id,
            "repository_url": format!(
                "https://git.example/lt/{}/{project_id}/{:08x}",
                me.user_id,
                rand::rng().random::<u32>()
            ),
            "note": "Written by the load generator.",
        });
        let path = format!("/api/v1/courses/{course_id}/submissions");
        // 403: refunded meanwhile; 409: an attempt waits, or the project is accepted (two
        // goose users sharing the student).
        let sent = with_retries(
            user,
            &ctx,
            || {
                Call::write("student: submit", GooseMethod::Post, path.clone())
                    .json(body.clone())
                    .expect(&[403, 409])
            },
            &me.token,
            None,
        )
        .await?;
        if let Some(submission_id) = sent.acknowledged_id() {
            ctx.ledger.changed(Change::Submitted {
                submission_id,
                user_id: me.user_id,
                project_id,
            });
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_project_is_the_first_not_waiting_or_accepted() {
        let progress = json!({"topics": [
            {"projects": [{"project_id": 1, "status": "accepted"}, {"project_id": 2, "status": "submitted"}]},
            {"projects": [{"project_id": 3, "status": "returned"}, {"project_id": 4, "status": null}]}
        ]});
        assert_eq!(next_project(&progress), Some(3));
        let done = json!({"topics": [{"projects": [{"project_id": 1, "status": "accepted"}]}]});
        assert_eq!(next_project(&done), None);
        assert_eq!(next_project(&Value::Null), None);
    }

    #[test]
    fn only_runs_with_seats_and_open_sales_are_bought() {
        let page = json!({"upcoming_runs": [
            {"id": 1, "seats_left": 3, "sales_end_date": "2026-12-01"},
            {"id": 2, "seats_left": 0, "sales_end_date": "2026-12-01"},
            {"id": 3, "seats_left": 5, "sales_end_date": "2026-10-01"},
            {"id": 4, "seats_left": 5, "sales_end_date": "2026-11-01"}
        ]});
        assert_eq!(buyable_runs(&page, "2026-11-01"), vec![1, 4]);
        assert!(buyable_runs(&Value::Null, "2026-11-01").is_empty());
    }
}
