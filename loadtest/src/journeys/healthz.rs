//! The raw mode: `GET /healthz` with no think time, the cheapest request the backend answers,
//! so the generator's own ceiling can be compared with wrk (scripts/bench-loadgen).

use std::sync::Arc;

use goose::prelude::*;

use super::{Context, StepFuture, transaction};
use crate::api::{self, Call};

pub fn scenario(ctx: &Arc<Context>) -> Result<Scenario, GooseError> {
    Ok(
        super::scenario(ctx, "healthz", 1, (Default::default(), Default::default()))?
            .register_transaction(transaction(ctx, "healthz", healthz)),
    )
}

fn healthz<'u>(user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        api::send(user, &ctx.recorder, Call::get("healthz", "/healthz")).await?;
        Ok(())
    })
}
