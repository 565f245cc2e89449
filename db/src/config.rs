//! Typed configuration: built-in defaults < optional file < `LYCEUM_…` environment variables.
//!
//! Nested keys use a double underscore in the environment, so `db.write_port` is
//! `LYCEUM_DB__WRITE_PORT`. The defaults match the local stack (`scripts/stack up`).

use std::{
    fmt,
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, de::DeserializeOwned};

/// Prefix of every environment variable Lyceum reads.
pub const ENV_PREFIX: &str = "LYCEUM";

/// Loads `T` from its serde defaults, then `file` (if given; it must exist), then the environment.
///
/// `T` should be `#[serde(default)]` so every layer may leave keys out.
pub fn load_layered<T: DeserializeOwned>(file: Option<&Path>) -> Result<T, config::ConfigError> {
    let mut builder = config::Config::builder();
    if let Some(path) = file {
        builder = builder.add_source(config::File::from(path).required(true));
    }
    builder
        .add_source(
            config::Environment::with_prefix(ENV_PREFIX)
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true),
        )
        .build()?
        .try_deserialize()
}

/// Loads only the `[db]` section (file and `LYCEUM_DB__*`), for tools that need nothing else;
/// other sections of a shared configuration file are ignored.
pub fn load_db_config(file: Option<&Path>) -> Result<DbConfig, config::ConfigError> {
    #[derive(Default, Deserialize)]
    #[serde(default)]
    struct DbSection {
        db: DbConfig,
    }
    load_layered::<DbSection>(file).map(|section| section.db)
}

/// How to reach PostgreSQL through HAProxy and how patient to be.
///
/// Every wait has a bound: connect, pool checkout, recycle check and statements.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DbConfig {
    /// HAProxy address.
    pub host: String,
    /// HAProxy port that always leads to the current leader.
    pub write_port: u16,
    /// HAProxy port that leads to a healthy replica (or the leader when none is healthy).
    pub read_port: u16,
    pub user: String,
    /// Never logged: `Debug` redacts it.
    pub password: String,
    pub dbname: String,
    /// Maximum connections in the write pool.
    pub write_pool_size: usize,
    /// Maximum connections in the read pool.
    pub read_pool_size: usize,
    /// TCP connect plus startup handshake.
    pub connect_timeout_ms: u64,
    /// How long a caller may wait for a free pooled connection.
    pub checkout_timeout_ms: u64,
    /// How long the health check of a reused connection may take.
    pub recycle_timeout_ms: u64,
    /// Server-side `statement_timeout` for every pooled session.
    pub statement_timeout_ms: u64,
    /// Server-side `idle_in_transaction_session_timeout`, so a stuck client cannot hold locks.
    pub idle_in_transaction_timeout_ms: u64,
    /// Idle time before the first TCP keepalive probe.
    pub keepalive_idle_s: u64,
    /// Unacknowledged data older than this kills the socket (Linux `TCP_USER_TIMEOUT`).
    pub tcp_user_timeout_ms: u64,
    /// Total time an idempotent operation may spend retrying transient errors.
    pub retry_budget_ms: u64,
    /// Shown in `pg_stat_activity`.
    pub application_name: String,
    /// PEM file of the CA that signed PostgreSQL's certificates. Set: every connection is TLS,
    /// verified like libpq's `verify-full` (chain and `host`), never plain text (`tls` module).
    /// Unset (the default): no TLS.
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for DbConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            write_port: 5000,
            read_port: 5001,
            user: "lyceum".into(),
            password: "lyceum".into(),
            dbname: "lyceum".into(),
            write_pool_size: 16,
            read_pool_size: 16,
            connect_timeout_ms: 2_000,
            checkout_timeout_ms: 3_000,
            recycle_timeout_ms: 1_000,
            statement_timeout_ms: 10_000,
            idle_in_transaction_timeout_ms: 30_000,
            keepalive_idle_s: 10,
            tcp_user_timeout_ms: 10_000,
            retry_budget_ms: 8_000,
            application_name: "lyceum".into(),
            tls_ca_file: None,
        }
    }
}

impl DbConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
    pub fn checkout_timeout(&self) -> Duration {
        Duration::from_millis(self.checkout_timeout_ms)
    }
    pub fn recycle_timeout(&self) -> Duration {
        Duration::from_millis(self.recycle_timeout_ms)
    }
    pub fn retry_budget(&self) -> Duration {
        Duration::from_millis(self.retry_budget_ms)
    }

    /// Rejects settings that would make a wait unbounded or a pool useless.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("write_pool_size", self.write_pool_size as u64),
            ("read_pool_size", self.read_pool_size as u64),
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("checkout_timeout_ms", self.checkout_timeout_ms),
            ("recycle_timeout_ms", self.recycle_timeout_ms),
            ("statement_timeout_ms", self.statement_timeout_ms),
            (
                "idle_in_transaction_timeout_ms",
                self.idle_in_transaction_timeout_ms,
            ),
            ("keepalive_idle_s", self.keepalive_idle_s),
            ("tcp_user_timeout_ms", self.tcp_user_timeout_ms),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(format!(
                    "db.{name} must be greater than zero (0 would mean no bound)"
                ));
            }
        }
        if self.write_port == 0 || self.read_port == 0 {
            return Err("db.write_port and db.read_port must be set".into());
        }
        Ok(())
    }

    /// The driver configuration for one HAProxy port.
    pub fn pg_config(&self, port: u16) -> tokio_postgres::Config {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&self.host)
            .port(port)
            .user(&self.user)
            .password(&self.password)
            .dbname(&self.dbname)
            .application_name(&self.application_name)
            .connect_timeout(self.connect_timeout())
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(self.keepalive_idle_s))
            .keepalives_interval(Duration::from_secs(2))
            .keepalives_retries(3)
            .tcp_user_timeout(Duration::from_millis(self.tcp_user_timeout_ms))
            .options(format!(
                "-c statement_timeout={} -c idle_in_transaction_session_timeout={}",
                self.statement_timeout_ms, self.idle_in_transaction_timeout_ms
            ));
        crate::tls::apply(self, &mut pg);
        pg
    }
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbConfig")
            .field("host", &self.host)
            .field("write_port", &self.write_port)
            .field("read_port", &self.read_port)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("dbname", &self.dbname)
            .field("write_pool_size", &self.write_pool_size)
            .field("read_pool_size", &self.read_pool_size)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("checkout_timeout_ms", &self.checkout_timeout_ms)
            .field("retry_budget_ms", &self.retry_budget_ms)
            .field("tls_ca_file", &self.tls_ca_file)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct AppConfig {
        db: DbConfig,
    }

    #[test]
    fn debug_output_never_contains_the_password() {
        let cfg = DbConfig {
            password: "s3cret-pw".into(),
            ..DbConfig::default()
        };
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn file_overrides_defaults_and_keeps_the_rest() {
        // Keys the stack's `env` never sets, so the environment layer cannot interfere.
        let dir = std::env::temp_dir().join(format!("lyceum-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("lyceum.toml");
        std::fs::write(
            &path,
            "[db]\nstatement_timeout_ms = 1234\nwrite_pool_size = 4\n",
        )
        .expect("write");
        let cfg: AppConfig = load_layered(Some(&path)).expect("load");
        assert_eq!(cfg.db.statement_timeout_ms, 1234);
        assert_eq!(cfg.db.write_pool_size, 4);
        assert_eq!(
            cfg.db.checkout_timeout_ms,
            DbConfig::default().checkout_timeout_ms
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_missing_file_is_an_error_not_a_silent_default() {
        let err = load_layered::<AppConfig>(Some(Path::new("/nonexistent/lyceum.toml")));
        assert!(err.is_err());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let dir = std::env::temp_dir().join(format!("lyceum-cfg-unknown-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("lyceum.toml");
        std::fs::write(&path, "[db]\nwrite_prot = 6000\n").expect("write");
        let err = load_layered::<AppConfig>(Some(&path)).expect_err("typo must not pass");
        assert!(err.to_string().contains("write_prot"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn zero_timeouts_are_refused() {
        let cfg = DbConfig {
            checkout_timeout_ms: 0,
            ..DbConfig::default()
        };
        let err = cfg.validate().expect_err("zero timeout");
        assert!(err.contains("checkout_timeout_ms"));
        assert!(DbConfig::default().validate().is_ok());
    }
}
