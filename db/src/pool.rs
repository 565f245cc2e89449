//! The two pools and the one way to use them: [`Db::read`], [`Db::write`], [`Db::write_once`].
//!
//! Writes go to HAProxy's primary port, plain reads to its replica port. During a
//! role change HAProxy may briefly route a new write connection to the old leader,
//! now a read-only standby, and such a connection passes `SELECT 1`. So every
//! write connection proves it is on the primary when created and again each time it
//! leaves the pool, and any connection that produced a connection-level error is
//! thrown away rather than reused.

use std::{fmt, future::Future, pin::Pin, time::Duration};

use deadpool_postgres::{
    Client, ClientWrapper, Hook, HookError, Manager, ManagerConfig, Metrics, Object, Pool,
    RecyclingMethod, Runtime,
};
use prometheus::Registry;
use tokio::time::Instant;

use crate::{
    DbConfig, DbError,
    metrics::{DbMetrics, PoolCollector},
    retry::{RetryEvent, RetryPolicy, RetryState, Retryable},
    tls::Connector,
};

/// The future an operation returns. Boxed because a closure that borrows the connection
/// cannot otherwise promise a `Send` future, and axum handlers must be `Send`.
/// Write operations as `|c| Box::pin(async move { ... })`.
pub type DbFuture<'c, T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'c>>;

/// Fails on a standby ("recovery is in progress", 55000) and costs one cheap round trip on
/// the primary; unlike `pg_is_in_recovery()` it needs no result check, so deadpool's
/// recycle step (which runs under its own timeout) can use it directly.
const PRIMARY_PROBE: &str = "SELECT pg_current_wal_lsn()";

/// Which pool an operation runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Write,
    Read,
}

impl PoolKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::Read => "read",
        }
    }
}

/// Both pools, their metrics and the default retry policy. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    write: Pool,
    read: Pool,
    metrics: DbMetrics,
    policy: RetryPolicy,
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("write", &self.write.status())
            .field("read", &self.read.status())
            .field("policy", &self.policy)
            .finish()
    }
}

impl Db {
    /// Builds both pools. No connection is opened yet: a cluster that is still
    /// electing a leader does not stop the process from starting.
    pub fn new(cfg: &DbConfig) -> Result<Self, String> {
        cfg.validate()?;
        let write = build_pool(cfg, PoolKind::Write)?;
        let read = build_pool(cfg, PoolKind::Read)?;
        Ok(Self {
            write,
            read,
            metrics: DbMetrics::new(),
            policy: RetryPolicy::with_budget(cfg.retry_budget()),
        })
    }

    pub fn pool(&self, kind: PoolKind) -> &Pool {
        match kind {
            PoolKind::Write => &self.write,
            PoolKind::Read => &self.read,
        }
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.policy
    }

    pub fn metrics(&self) -> &DbMetrics {
        &self.metrics
    }

    /// Registers the pool gauges and operation metrics.
    pub fn register_metrics(&self, registry: &Registry) -> prometheus::Result<()> {
        self.metrics.register(registry)?;
        registry.register(Box::new(PoolCollector::new(vec![
            ("write", self.write.clone()),
            ("read", self.read.clone()),
        ])))
    }

    /// A plain read on the replica port, retried within the budget.
    pub async fn read<T, E>(
        &self,
        op: impl FnMut(&mut Client) -> DbFuture<'_, T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + Retryable + fmt::Display,
    {
        self.run(PoolKind::Read, self.policy, op).await
    }

    /// A write (or a read that must see the latest data) on the primary, retried
    /// within the budget. The operation must be idempotent: see [`crate::retry`].
    pub async fn write<T, E>(
        &self,
        op: impl FnMut(&mut Client) -> DbFuture<'_, T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + Retryable + fmt::Display,
    {
        self.run(PoolKind::Write, self.policy, op).await
    }

    /// A write on the primary that is attempted once; a transient error reaches the caller.
    /// Only getting the connection is retried (within the budget): until then nothing ran.
    pub async fn write_once<T, E>(
        &self,
        op: impl FnMut(&mut Client) -> DbFuture<'_, T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + Retryable + fmt::Display,
    {
        self.run(PoolKind::Write, RetryPolicy::NONE, op).await
    }

    /// Runs `op` on a connection from `kind`'s pool under `policy`, with metrics.
    #[tracing::instrument(level = "debug", skip_all, fields(pool = kind.label()))]
    pub async fn run<T, E>(
        &self,
        kind: PoolKind,
        policy: RetryPolicy,
        mut op: impl FnMut(&mut Client) -> DbFuture<'_, T, E>,
    ) -> Result<T, E>
    where
        E: From<DbError> + Retryable + fmt::Display,
    {
        let pool = self.pool(kind);
        let label = kind.label();
        let mut state = RetryState::new(policy);
        // A failed checkout ran nothing on the server (at most the primary probe of a fresh
        // connection), so even a write that must not run twice may try again, within the
        // default budget: during a switchover the write port has no primary for a second or
        // two, and a `write_once` meets that gap here, not in the middle of its statement.
        let mut checkout = RetryState::new(self.policy);
        loop {
            let started = Instant::now();
            let mut ran = true;
            let outcome = match pool.get().await {
                Ok(mut client) => {
                    let result = op(&mut client).await;
                    if let Err(err) = &result
                        && let Some(reason) = err.transient().filter(|t| t.poisons_connection())
                    {
                        // Never hand this connection to the next caller: it may be on a demoted leader.
                        self.metrics
                            .discarded
                            .with_label_values(&[label, reason.label()])
                            .inc();
                        drop(Object::take(client));
                    }
                    result
                }
                Err(err) => {
                    ran = false;
                    Err(E::from(DbError::Pool(err)))
                }
            };
            self.metrics
                .operation_seconds
                .with_label_values(&[label])
                .observe(started.elapsed().as_secs_f64());
            let err = match outcome {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            let decision = if ran { &mut state } else { &mut checkout };
            let Some(event) = decision.after_failure(&err) else {
                self.metrics
                    .errors
                    .with_label_values(&[label, "permanent"])
                    .inc();
                return Err(err);
            };
            self.record_retry(label, &event, &err);
            match event.next_in {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(err),
            }
        }
    }

    fn record_retry(&self, pool: &str, event: &RetryEvent, err: &impl fmt::Display) {
        let reason = event.reason.label();
        self.metrics.errors.with_label_values(&[pool, reason]).inc();
        match event.next_in {
            Some(delay) => {
                self.metrics
                    .retries
                    .with_label_values(&[pool, reason])
                    .inc();
                tracing::info!(pool, attempt = event.attempt, reason, ?delay, error = %err, "transient database error, retrying");
            }
            None => {
                self.metrics
                    .retry_exhausted
                    .with_label_values(&[pool, reason])
                    .inc();
                tracing::warn!(pool, attempt = event.attempt, reason, error = %err, "transient database error, giving up");
            }
        }
    }

    /// Readiness: a connection from the write pool (which proves it is on the primary) answers.
    pub async fn ping_primary(&self, timeout: Duration) -> Result<(), DbError> {
        let attempt = async {
            let client = self.write.get().await?;
            client.simple_query("SELECT 1").await?;
            Ok::<_, DbError>(())
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .map_err(|_| DbError::Timeout(timeout))?
    }
}

fn build_pool(cfg: &DbConfig, kind: PoolKind) -> Result<Pool, String> {
    let (port, size, recycling_method) = match kind {
        PoolKind::Write => (
            cfg.write_port,
            cfg.write_pool_size,
            RecyclingMethod::Custom(PRIMARY_PROBE.into()),
        ),
        // A read connection is good as long as it is open: any node may serve reads.
        PoolKind::Read => (cfg.read_port, cfg.read_pool_size, RecyclingMethod::Fast),
    };
    let mut pg = cfg.pg_config(port);
    pg.application_name(format!("{}-{}", cfg.application_name, kind.label()));
    let manager_cfg = ManagerConfig { recycling_method };
    let manager = match Connector::for_config(cfg)? {
        Connector::Plain => Manager::from_config(pg, tokio_postgres::NoTls, manager_cfg),
        Connector::Verified(tls) => Manager::from_config(pg, tls, manager_cfg),
    };
    let mut builder = Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(cfg.checkout_timeout()))
        // Creating a connection is bounded by connect_timeout in the driver; this is the outer bound.
        .create_timeout(Some(cfg.connect_timeout() + Duration::from_millis(500)))
        .recycle_timeout(Some(cfg.recycle_timeout()));
    if kind == PoolKind::Write {
        builder = builder.post_create(primary_check(cfg.recycle_timeout()));
    }
    builder
        .build()
        .map_err(|e| format!("building the {} pool: {e}", kind.label()))
}

/// Refuses a fresh write connection that landed on a standby.
fn primary_check(timeout: Duration) -> Hook {
    Hook::async_fn(move |client: &mut ClientWrapper, _: &Metrics| {
        Box::pin(async move {
            match tokio::time::timeout(timeout, client.simple_query(PRIMARY_PROBE)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(err)) => Err(HookError::message(format!(
                    "write connection is not on the primary: {err}"
                ))),
                Err(_) => Err(HookError::message(format!(
                    "primary check timed out after {timeout:?}"
                ))),
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    /// Nothing listens on the write port, so every checkout fails before any statement is
    /// sent: even a `write_once` retries that until its budget is spent, and its operation
    /// never runs.
    #[tokio::test]
    async fn write_once_retries_a_checkout_that_ran_nothing() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cfg = DbConfig {
            write_port: port,
            read_port: port,
            retry_budget_ms: 700,
            ..DbConfig::default()
        };
        let db = Db::new(&cfg).expect("pools");
        let calls = AtomicU32::new(0);
        let result: Result<(), DbError> = db
            .write_once(|_| {
                calls.fetch_add(1, Ordering::SeqCst);
                Box::pin(async { Ok(()) })
            })
            .await;
        assert_eq!(
            result.expect_err("nothing listens").transient(),
            Some(crate::Transient::ConnectionLost)
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0, "the operation never ran");
        let retries = db
            .metrics()
            .retries
            .with_label_values(&["write", "connection_lost"])
            .get();
        assert!(retries >= 2, "checkout retried {retries} times");
    }
}
