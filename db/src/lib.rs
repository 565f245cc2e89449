//! Shared database access for every Lyceum process.
//!
//! - [`config`]: layered configuration (defaults < file < `LYCEUM_` environment).
//! - [`Db`]: a write pool on HAProxy's primary port and a read pool on its replica port.
//! - [`Queries`]: statements prepared once per connection, for repositories.
//! - [`retry`]: which errors are transient during a failover, and a bounded retry loop.
//! - [`migrate`]: refinery migrations under an advisory lock, safe with concurrent starters.
//! - [`tls`]: TLS to PostgreSQL verified against a private CA (`db.tls_ca_file`).
//! - [`metrics`]: Prometheus collectors for pool state, retries and operation latency.
//! - `testing` (feature `test-support`): helpers for integration tests against the local stack.
//!
//! This crate knows nothing about HTTP or the domain; it is the floor the others stand on.

pub mod config;
pub mod error;
pub mod metrics;
pub mod migrate;
pub mod pool;
pub mod queries;
pub mod retry;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod tls;

pub use config::{DbConfig, load_db_config, load_layered};
pub use error::{DbError, Transient};
pub use pool::{Db, DbFuture, PoolKind};
pub use queries::Queries;
pub use retry::{RetryPolicy, Retryable};

/// Re-exported so callers use the same driver version as the pools.
pub use deadpool_postgres::{Client, ClientWrapper, Transaction};
pub use tokio_postgres;
