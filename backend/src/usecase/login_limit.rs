//! Login throttling: failed attempts are counted per account and per client address, and once
//! either reaches its limit further attempts are refused with 429 until the window ends.
//!
//! Only failures count, so hundreds of students logging in correctly from one address (the
//! load generator, a campus NAT) are never throttled by each other. A successful login clears
//! its own account's counter but not the address counter, so one known password cannot be
//! used to reset the budget for guessing other accounts from the same address.
//!
//! Registrations are limited per client address the same way, except that every attempt that
//! reaches the database counts (an account created, or an email or national id found taken):
//! the limit is against mass account creation and against probing which addresses are
//! registered, not against guessing.
//!
//! The counters live in Redis (`repository::login_attempts`) so every instance shares them.
//! When Redis cannot be asked the limiter fails open: the login proceeds, a warning is logged
//! and `lyceum_login_limiter_unavailable_total` counts it. Logins stay available during a
//! Redis outage at the price of no throttling for its duration; argon2 and
//! `auth.hash_concurrency` still bound how fast anyone can guess.

use std::{net::IpAddr, time::Duration};

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

use super::ServiceError;
use crate::{
    config::{AuthConfig, RedisConfig},
    repository::login_attempts::LoginAttempts,
};

/// Longest account name kept in a Redis key (an email is at most 254 characters).
const MAX_ACCOUNT_KEY_CHARS: usize = 320;

/// One dimension of the limit: at most `max_failures` in `window` (0 = unlimited).
#[derive(Debug, Clone, Copy)]
struct Limit {
    max_failures: u32,
    window: Duration,
}

impl Limit {
    fn active(self) -> bool {
        self.max_failures > 0
    }
}

/// The counters one attempt touches, with their limits.
struct Scopes {
    account: String,
    address: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LoginLimiter {
    /// `None` when `redis.enabled = false`: no shared store, no throttling (logged at start).
    store: Option<LoginAttempts>,
    per_account: Limit,
    per_address: Limit,
    registrations: Limit,
    refused: IntCounterVec,
    unavailable: IntCounter,
}

impl LoginLimiter {
    #[allow(clippy::expect_used)] // Constant metric definitions.
    pub fn new(auth: &AuthConfig, redis: &RedisConfig) -> Result<Self, String> {
        let store = if redis.enabled {
            Some(LoginAttempts::new(redis)?)
        } else {
            tracing::warn!("redis.enabled = false: login attempts are not rate limited");
            None
        };
        Ok(Self {
            store,
            per_account: Limit {
                max_failures: auth.login_failures_per_account,
                window: Duration::from_secs(auth.login_account_window_s),
            },
            per_address: Limit {
                max_failures: auth.login_failures_per_address,
                window: Duration::from_secs(auth.login_address_window_s),
            },
            registrations: Limit {
                max_failures: auth.registrations_per_address,
                window: Duration::from_secs(auth.registration_address_window_s),
            },
            refused: IntCounterVec::new(
                Opts::new(
                    "lyceum_login_throttled_total",
                    "Login and registration attempts refused with 429, by the limit that refused them (account, address, registration).",
                ),
                &["scope"],
            )
            .expect("valid counter"),
            unavailable: IntCounter::new(
                "lyceum_login_limiter_unavailable_total",
                "Login attempts let through unchecked because Redis could not be asked.",
            )
            .expect("valid counter"),
        })
    }

    pub fn register_metrics(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.refused.clone()))?;
        registry.register(Box::new(self.unavailable.clone()))
    }

    fn scopes(email: &str, client: Option<IpAddr>) -> Scopes {
        let account: String = email
            .trim()
            .to_lowercase()
            .chars()
            .take(MAX_ACCOUNT_KEY_CHARS)
            .collect();
        Scopes {
            account: format!("account:{account}"),
            address: client.map(|ip| format!("addr:{ip}")),
        }
    }

    fn fail_open(&self, what: &str, err: &dyn std::fmt::Display) {
        self.unavailable.inc();
        tracing::warn!(error = %err, "login limiter cannot reach redis ({what}); letting the attempt through");
    }

    /// `TooManyAttempts` when the account or the address has used up its failures.
    pub async fn check(&self, email: &str, client: Option<IpAddr>) -> Result<(), ServiceError> {
        let scopes = Self::scopes(email, client);
        let mut checks = vec![("account", scopes.account.as_str(), self.per_account)];
        if let Some(addr) = &scopes.address {
            checks.push(("address", addr.as_str(), self.per_address));
        }
        self.refuse_over(checks).await
    }

    /// `TooManyAttempts` when the address has used up its registrations.
    pub async fn check_registration(&self, client: Option<IpAddr>) -> Result<(), ServiceError> {
        let Some(name) = Self::registration_scope(client) else {
            return Ok(());
        };
        self.refuse_over(vec![("registration", name.as_str(), self.registrations)])
            .await
    }

    /// Counts a registration that reached the database against the address.
    pub async fn registration_counted(&self, client: Option<IpAddr>) {
        let (Some(store), Some(name)) = (&self.store, Self::registration_scope(client)) else {
            return;
        };
        if !self.registrations.active() {
            return;
        }
        if let Err(err) = store
            .add_failure(&[(name.as_str(), self.registrations.window)])
            .await
        {
            self.fail_open("count", &err);
        }
    }

    fn registration_scope(client: Option<IpAddr>) -> Option<String> {
        client.map(|ip| format!("register:addr:{ip}"))
    }

    /// The first of `checks` (scope, counter, limit) whose counter reached its limit, as 429.
    async fn refuse_over(
        &self,
        mut checks: Vec<(&'static str, &str, Limit)>,
    ) -> Result<(), ServiceError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        checks.retain(|(_, _, limit)| limit.active());
        if checks.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = checks.iter().map(|(_, name, _)| *name).collect();
        let counts = match store.counts(&names).await {
            Ok(counts) => counts,
            Err(err) => {
                self.fail_open("check", &err);
                return Ok(());
            }
        };
        let Some(((scope, name, limit), _)) = checks
            .iter()
            .zip(&counts)
            .find(|((_, _, limit), count)| **count >= u64::from(limit.max_failures))
        else {
            return Ok(());
        };
        self.refused.with_label_values(&[*scope]).inc();
        // If Redis stops answering between the two calls, the whole window is a safe promise.
        let left = store.resets_in(name).await.unwrap_or(limit.window);
        // Never promise less than a second or more than the window.
        let wait = left.clamp(Duration::from_secs(1), limit.window);
        tracing::info!(scope, retry_after_s = wait.as_secs(), "throttled");
        Err(ServiceError::TooManyAttempts { retry_after: wait })
    }

    /// Counts a wrong password (or unknown email) against the account and the address.
    pub async fn failed(&self, email: &str, client: Option<IpAddr>) {
        let Some(store) = &self.store else {
            return;
        };
        let scopes = Self::scopes(email, client);
        let mut counters = Vec::with_capacity(2);
        if self.per_account.active() {
            counters.push((scopes.account.as_str(), self.per_account.window));
        }
        if let (Some(addr), true) = (&scopes.address, self.per_address.active()) {
            counters.push((addr.as_str(), self.per_address.window));
        }
        if counters.is_empty() {
            return;
        }
        if let Err(err) = store.add_failure(&counters).await {
            self.fail_open("count", &err);
        }
    }

    /// The owner got in: their account's failures no longer matter. The address keeps its count.
    pub async fn succeeded(&self, email: &str) {
        let Some(store) = &self.store else {
            return;
        };
        if !self.per_account.active() {
            return;
        }
        let scopes = Self::scopes(email, None);
        if let Err(err) = store.clear(&scopes.account).await {
            self.fail_open("clear", &err);
        }
    }
}
