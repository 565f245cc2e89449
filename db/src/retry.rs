//! A bounded retry loop for transient failover errors.
//!
//! Only idempotent operations may be retried: a connection lost during `COMMIT`
//! leaves the outcome unknown, so a retried non-idempotent insert could run twice.
//! Make the operation idempotent first (a natural key, `ON CONFLICT`, an idempotency key),
//! or use [`RetryPolicy::NONE`] and let the caller answer 503.

use std::{fmt, time::Duration};

use rand::Rng;
use tokio::time::Instant;

use crate::{DbError, Transient};

/// Errors that can say whether a retry might succeed.
pub trait Retryable {
    fn transient(&self) -> Option<Transient>;
}

impl Retryable for DbError {
    fn transient(&self) -> Option<Transient> {
        DbError::transient(self)
    }
}

/// How long and how often to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// No new attempt starts once this much time has passed since the first one.
    pub budget: Duration,
    /// Upper bound of the first backoff; doubles per attempt up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// One attempt, no retry: for operations that are not idempotent.
    pub const NONE: Self = Self {
        budget: Duration::ZERO,
        first_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    };

    /// Exponential backoff from 50 ms up to 1 s, within `budget`.
    pub fn with_budget(budget: Duration) -> Self {
        Self {
            budget,
            first_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
        }
    }

    /// "Full jitter" backoff before retry number `attempt` (1-based): uniform in
    /// `[cap/2, cap]` with `cap = min(max, first * 2^(attempt-1))`, so clients that
    /// failed together do not all come back in the same millisecond.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let growth = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        let cap = self
            .first_backoff
            .saturating_mul(growth)
            .min(self.max_backoff);
        if cap.is_zero() {
            return cap;
        }
        let low = cap / 2;
        rand::rng().random_range(low..=cap)
    }
}

/// What one retry decision looked like, for logs and metrics.
#[derive(Debug, Clone, Copy)]
pub struct RetryEvent {
    /// The attempt that just failed (1-based).
    pub attempt: u32,
    pub reason: Transient,
    /// Sleep before the next attempt, or `None` when the budget is spent and we give up.
    pub next_in: Option<Duration>,
}

/// The retry decision, separated from the loop so callers with their own loop
/// (e.g. [`crate::Db::run`], which also manages connections) share one policy.
#[derive(Debug)]
pub struct RetryState {
    policy: RetryPolicy,
    started: Instant,
    attempt: u32,
}

impl RetryState {
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy,
            started: Instant::now(),
            attempt: 0,
        }
    }

    /// Called after each failed attempt. `None`: permanent error, give up without retrying.
    /// `Some(event)`: transient; retry after `event.next_in`, or give up if it is `None`.
    pub fn after_failure(&mut self, err: &impl Retryable) -> Option<RetryEvent> {
        self.attempt += 1;
        let reason = err.transient()?;
        let backoff = self.policy.backoff(self.attempt);
        let within_budget = self.started.elapsed() + backoff < self.policy.budget;
        Some(RetryEvent {
            attempt: self.attempt,
            reason,
            next_in: within_budget.then_some(backoff),
        })
    }
}

/// Runs `op` until it succeeds, fails permanently, or the budget is spent.
///
/// Returns the last error when giving up, so a caller can still see that it was
/// transient (and answer 503 with `Retry-After`).
pub async fn retry<T, E>(
    policy: &RetryPolicy,
    mut on_retry: impl FnMut(&RetryEvent, &E),
    mut op: impl AsyncFnMut() -> Result<T, E>,
) -> Result<T, E>
where
    E: Retryable + fmt::Display,
{
    let mut state = RetryState::new(*policy);
    loop {
        let err = match op().await {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        let Some(event) = state.after_failure(&err) else {
            return Err(err);
        };
        on_retry(&event, &err);
        match event.next_in {
            Some(delay) => tokio::time::sleep(delay).await,
            None => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[derive(Debug)]
    struct TestError(Option<Transient>);
    impl fmt::Display for TestError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "{:?}", self.0)
        }
    }
    impl Retryable for TestError {
        fn transient(&self) -> Option<Transient> {
            self.0
        }
    }

    fn fast(budget_ms: u64) -> RetryPolicy {
        RetryPolicy {
            budget: Duration::from_millis(budget_ms),
            first_backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(8),
        }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let result: Result<u32, TestError> = retry(
            &fast(1_000),
            |_, _| {},
            || async {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                if n < 4 {
                    Err(TestError(Some(Transient::ReadOnly)))
                } else {
                    Ok(n)
                }
            },
        )
        .await;
        assert_eq!(result.expect("succeeds on the 4th attempt"), 4);
    }

    #[tokio::test]
    async fn permanent_errors_are_returned_at_once() {
        let calls = AtomicU32::new(0);
        let result: Result<(), TestError> = retry(
            &fast(1_000),
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(TestError(None))
            },
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_budget_bounds_the_total_time() {
        let started = Instant::now();
        let mut events = Vec::new();
        let result: Result<(), TestError> = retry(
            &RetryPolicy::with_budget(Duration::from_secs(5)),
            |event, _| events.push(*event),
            || async { Err(TestError(Some(Transient::ConnectionLost))) },
        )
        .await;
        assert!(result.is_err());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let last = events.last().expect("at least one event");
        assert!(last.next_in.is_none(), "the final event says we gave up");
        assert!(
            events.len() >= 5,
            "backoff starts small: {} attempts",
            events.len()
        );
    }

    #[tokio::test]
    async fn no_retry_policy_makes_one_attempt() {
        let calls = AtomicU32::new(0);
        let result: Result<(), TestError> = retry(
            &RetryPolicy::NONE,
            |_, _| {},
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(TestError(Some(Transient::ReadOnly)))
            },
        )
        .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::with_budget(Duration::from_secs(10));
        for _ in 0..100 {
            let first = p.backoff(1);
            assert!(first >= Duration::from_millis(25) && first <= Duration::from_millis(50));
            let late = p.backoff(30);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_secs(1));
        }
    }
}
