//! The career advisor (`support1`): opens a graduate's career track, files an application to a
//! partner company and moves it through interview to an offer, a hire or a rejection.

use std::sync::Arc;

use goose::prelude::*;
use rand::Rng;
use serde_json::{Value, json};

use super::{
    Context, StepFuture, career_advisor, desk_token, ids, items, pick, think, transaction,
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
        super::scenario(ctx, "career", weight, think(2000, 6000, think_scale))?
            .register_transaction(transaction(ctx, "career: log in", log_in).set_on_start())
            .register_transaction(transaction(ctx, "career: application", application)),
    )
}

fn log_in<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        desk_token(user, &ctx, career_advisor).await?;
        Ok(())
    })
}

/// Where an application ends: most graduates are interviewed, some of them hired.
pub fn outcome(roll: f64) -> &'static [&'static str] {
    if roll < 0.5 {
        &["interview", "rejected"]
    } else if roll < 0.8 {
        &["interview", "offer", "hired"]
    } else {
        &["rejected"]
    }
}

/// The ids of the active partner companies on a page of companies.
pub fn active_partners(page: &Value) -> Vec<i64> {
    items(page)
        .iter()
        .filter(|c| c.get("agreement_active").and_then(Value::as_bool) == Some(true))
        .filter_map(|c| c.get("id").and_then(Value::as_i64))
        .collect()
}

fn application<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        let Some(token) = desk_token(user, &ctx, career_advisor).await? else {
            return Ok(());
        };
        let page = rand::rng().random_range(1..4);
        let tracks = api::send(
            user,
            &ctx.recorder,
            Call::get(
                "career: tracks",
                format!("/api/v1/career/tracks?page={page}&page_size=50"),
            )
            .token(&token),
        )
        .await?;
        let Some(track) = pick(&mut rand::rng(), &ids(&tracks.body, "id")) else {
            return Ok(());
        };
        let apps = format!("/api/v1/career/tracks/{track}/applications");
        api::send(
            user,
            &ctx.recorder,
            Call::get("career: applications", apps.clone()).token(&token),
        )
        .await?;
        let companies = api::send(
            user,
            &ctx.recorder,
            Call::get(
                "career: companies",
                "/api/v1/career/companies?active=true&page_size=50",
            )
            .token(&token),
        )
        .await?;
        let Some(company) = pick(&mut rand::rng(), &active_partners(&companies.body)) else {
            return Ok(());
        };
        let filed = api::send(
            user,
            &ctx.recorder,
            Call::write("career: apply", GooseMethod::Post, apps)
                .token(&token)
                .json(json!({"company_id": company})),
        )
        .await?;
        let Some(id) = filed.acknowledged_id() else {
            return Ok(());
        };
        let steps = outcome(rand::rng().random());
        // Only a whole acknowledged sequence goes into the ledger: after a lost answer the
        // status is unknown.
        let mut all_acknowledged = true;
        for status in steps {
            let moved = api::send(
                user,
                &ctx.recorder,
                Call::write(
                    "career: move application",
                    GooseMethod::Patch,
                    format!("/api/v1/career/applications/{id}"),
                )
                .token(&token)
                .json(json!({"status": status})),
            )
            .await?;
            if !moved.is_success() {
                all_acknowledged = false;
                break;
            }
        }
        if let (true, Some(last)) = (all_acknowledged, steps.last()) {
            ctx.ledger.changed(Change::ApplicationMoved {
                application_id: id,
                status: (*last).to_owned(),
            });
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_ends_hired_or_rejected() {
        for roll in [0.0, 0.6, 0.9] {
            let last = outcome(roll).last().copied();
            assert!(matches!(last, Some("hired" | "rejected")), "{last:?}");
        }
    }

    #[test]
    fn only_active_partners_are_picked() {
        let page = json!({"items": [
            {"id": 1, "agreement_active": true},
            {"id": 2, "agreement_active": false},
            {"id": 3}
        ]});
        assert_eq!(active_partners(&page), vec![1]);
    }
}
