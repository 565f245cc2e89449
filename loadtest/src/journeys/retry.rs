//! Writes the journeys send again while the service is unavailable: every one of them is
//! safe to repeat (an `Idempotency-Key`, or an API that answers a repeat with what it did),
//! so a 503 or a lost connection during a failover is retried within a bounded number of
//! attempts and time (`--purchase-attempts`, `--purchase-retry-secs`).

use std::time::Duration;

use goose::prelude::*;
use rand::Rng;
use tokio::time::Instant;

use super::Context;
use crate::api::{self, Call, Reply};

/// Delay before retry number `attempt` (1-based): the server's `Retry-After` when it sent one
/// (capped), else exponential from 250 ms, capped at 2 s.
pub fn retry_delay(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let cap = Duration::from_secs(2);
    retry_after
        .unwrap_or_else(|| {
            Duration::from_millis(250) * 2u32.saturating_pow(attempt.saturating_sub(1).min(4))
        })
        .min(cap)
}

/// Sends `call` again while the answer says "unavailable", within the budget.
pub async fn with_retries<'a>(
    user: &mut GooseUser,
    ctx: &Context,
    make: impl Fn() -> Call<'a>,
    token: &'a str,
    idempotency_key: Option<&'a str>,
) -> Result<Reply, Box<TransactionError>> {
    let deadline = Instant::now() + ctx.purchase_retry.within;
    let mut attempt = 1;
    loop {
        let mut call = make().token(token);
        if let Some(key) = idempotency_key {
            call = call.idempotency_key(key);
        }
        let reply = api::send(user, &ctx.recorder, call).await?;
        if !reply.is_retryable() || attempt >= ctx.purchase_retry.attempts {
            return Ok(reply);
        }
        let jitter = Duration::from_millis(rand::rng().random_range(0..100));
        let wait = retry_delay(attempt, reply.retry_after) + jitter;
        if Instant::now() + wait > deadline {
            return Ok(reply);
        }
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_honours_retry_after_and_caps() {
        assert_eq!(
            retry_delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            retry_delay(1, Some(Duration::from_secs(30))),
            Duration::from_secs(2)
        );
        assert_eq!(retry_delay(1, None), Duration::from_millis(250));
        assert_eq!(retry_delay(3, None), Duration::from_millis(1000));
        assert_eq!(retry_delay(10, None), Duration::from_secs(2));
    }
}
