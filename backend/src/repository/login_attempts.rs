//! Failed-login counters in Redis, shared by every backend instance: one fixed-window counter
//! per key, created with its window as TTL by the first failure and counted up by the next.
//!
//! This module only stores and reads counters; the policy (which keys, which limits, what to
//! do when Redis is down) is `usecase::login_limit`.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::config::RedisConfig;

/// Why Redis could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within the operation timeout")]
    Timeout,
}

/// Fixed-window failure counters under `{redis.key_prefix}:login:fail:`.
#[derive(Clone)]
pub struct LoginAttempts {
    conn: ConnectionManager,
    prefix: String,
    op_timeout: Duration,
}

impl std::fmt::Debug for LoginAttempts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginAttempts")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl LoginAttempts {
    /// A lazy connection: nothing is opened until the first login.
    pub fn new(cfg: &RedisConfig) -> Result<Self, String> {
        let client = super::redis_client::open(cfg)?;
        let manager_cfg = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(cfg.connect_timeout_ms)))
            .set_response_timeout(Some(Duration::from_millis(cfg.op_timeout_ms)))
            .set_number_of_retries(1);
        let conn = ConnectionManager::new_lazy_with_config(client, manager_cfg)
            .map_err(|e| format!("redis client: {e}"))?;
        Ok(Self {
            conn,
            prefix: format!("{}:login:fail:", cfg.key_prefix),
            op_timeout: Duration::from_millis(cfg.op_timeout_ms),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    async fn bounded<T>(
        &self,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CounterError> {
        match tokio::time::timeout(self.op_timeout, fut).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(CounterError::Timeout),
        }
    }

    /// The current count of each named counter (0 when absent), in one round trip.
    pub async fn counts(&self, names: &[&str]) -> Result<Vec<u64>, CounterError> {
        let keys: Vec<String> = names.iter().map(|n| self.key(n)).collect();
        let mut conn = self.conn.clone();
        let counts: Vec<Option<u64>> = self
            .bounded(redis::cmd("MGET").arg(&keys).query_async(&mut conn))
            .await?;
        Ok(counts.into_iter().map(Option::unwrap_or_default).collect())
    }

    /// Time left in a counter's window (zero when it has none).
    pub async fn resets_in(&self, name: &str) -> Result<Duration, CounterError> {
        let mut conn = self.conn.clone();
        let pttl: i64 = self
            .bounded(
                redis::cmd("PTTL")
                    .arg(self.key(name))
                    .query_async(&mut conn),
            )
            .await?;
        Ok(Duration::from_millis(u64::try_from(pttl).unwrap_or(0)))
    }

    /// Counts one failure on each `(name, window)`; the first failure starts the window.
    pub async fn add_failure(&self, counters: &[(&str, Duration)]) -> Result<(), CounterError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (name, window) in counters {
            let key = self.key(name);
            // SET … NX EX starts the window only if none is running; INCR then counts.
            pipe.cmd("SET")
                .arg(&key)
                .arg(0)
                .arg("EX")
                .arg(window.as_secs().max(1))
                .arg("NX")
                .ignore()
                .incr(&key, 1)
                .ignore();
        }
        let mut conn = self.conn.clone();
        self.bounded(pipe.query_async::<()>(&mut conn)).await
    }

    /// Drops a counter (an account's failures after its owner logged in).
    pub async fn clear(&self, name: &str) -> Result<(), CounterError> {
        let mut conn = self.conn.clone();
        let key = self.key(name);
        self.bounded(redis::cmd("DEL").arg(&key).query_async::<()>(&mut conn))
            .await
    }
}
