//! Schema migrations from `migrations/`, embedded at build time and applied under a
//! PostgreSQL advisory lock, so any number of processes may start at the same moment:
//! one applies, the others wait and then find nothing left to do.

use std::time::Duration;

use tokio::time::Instant;
use tokio_postgres::Client;

use crate::{
    DbConfig, DbError, Transient,
    retry::{RetryPolicy, Retryable, retry},
    tls::Connector,
};

mod embedded {
    refinery::embed_migrations!("../migrations");
}

/// Key of the session-level advisory lock that serialises migrators ("LYCEUM" in ASCII).
/// Session-level, so a migrator that dies releases it with its connection.
pub const MIGRATION_LOCK_KEY: i64 = 0x4C59_4345_554D;

/// What one run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Migrations this process applied, as `V<version>__<name>`.
    pub applied: Vec<String>,
    /// Every migration embedded in this binary, in order.
    pub known: Vec<String>,
    /// Time spent waiting for another migrator to finish.
    pub waited: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("migration failed: {0}")]
    Refinery(#[from] refinery::Error),
    #[error("another migrator held the migration lock for more than {0:?}")]
    LockTimeout(Duration),
    /// The configuration cannot work (e.g. an unreadable `db.tls_ca_file`).
    #[error("{0}")]
    Config(String),
}

impl Retryable for MigrateError {
    fn transient(&self) -> Option<Transient> {
        match self {
            Self::Db(e) => e.transient(),
            // refinery wraps driver errors; a connection lost mid-run is worth a retry because
            // each migration commits on its own and the next run resumes after the last one.
            Self::Refinery(e) => {
                let mut source = std::error::Error::source(e);
                while let Some(s) = source {
                    if let Some(pg) = s.downcast_ref::<tokio_postgres::Error>() {
                        return crate::error::classify_pg(pg);
                    }
                    source = s.source();
                }
                None
            }
            Self::LockTimeout(_) | Self::Config(_) => None,
        }
    }
}

/// Names of the migrations compiled into this binary.
pub fn known_migrations() -> Vec<String> {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect()
}

/// Applies pending migrations on the primary (through the write port), retrying a
/// failover within `cfg.retry_budget_ms`; waits at most `lock_wait` for other migrators.
#[tracing::instrument(skip_all)]
pub async fn run_migrations(
    cfg: &DbConfig,
    lock_wait: Duration,
) -> Result<MigrationReport, MigrateError> {
    let policy = RetryPolicy::with_budget(cfg.retry_budget().max(lock_wait));
    retry(
        &policy,
        |event, err| tracing::warn!(attempt = event.attempt, error = %err, "migration attempt failed"),
        async || migrate_once(cfg, lock_wait).await,
    )
    .await
}

async fn migrate_once(
    cfg: &DbConfig,
    lock_wait: Duration,
) -> Result<MigrationReport, MigrateError> {
    let connector = Connector::for_config(cfg).map_err(MigrateError::Config)?;
    let (mut client, driver) = connector
        .connect(&cfg.pg_config(cfg.write_port))
        .await
        .map_err(DbError::from)?;
    let result = async {
        let waited = acquire_lock(&client, lock_wait).await?;
        let report = embedded::migrations::runner()
            .set_abort_divergent(true)
            .run_async(&mut client)
            .await?;
        client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
            .await
            .map_err(DbError::from)?;
        Ok(MigrationReport {
            applied: report
                .applied_migrations()
                .iter()
                .map(|m| m.to_string())
                .collect(),
            known: known_migrations(),
            waited,
        })
    }
    .await;
    drop(client);
    driver.abort();
    result
}

/// Polls `pg_try_advisory_lock` rather than blocking in `pg_advisory_lock`, so the wait has a
/// deadline we control and a dead peer cannot stall us beyond it.
async fn acquire_lock(client: &Client, lock_wait: Duration) -> Result<Duration, MigrateError> {
    let started = Instant::now();
    loop {
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
            .await
            .map_err(DbError::from)?;
        if row.get::<_, bool>(0) {
            return Ok(started.elapsed());
        }
        if started.elapsed() >= lock_wait {
            return Err(MigrateError::LockTimeout(lock_wait));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
