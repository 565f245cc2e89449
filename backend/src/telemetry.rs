//! Logging: tracing-subscriber in human or JSON format, filtered by `log.filter` (or `RUST_LOG`).
//!
//! Every request runs inside an `http` span that carries its request id (see
//! `controller::middleware`), so each line logged while serving it names the request.

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. A second call (several apps in one test process) is a no-op.
pub fn init(cfg: &LogConfig) {
    let filter = quiet_secret_loggers(
        EnvFilter::try_from_default_env()
            .or_else(|_| EnvFilter::try_new(&cfg.filter))
            .unwrap_or_else(|_| EnvFilter::new("info")),
    );
    let registry = tracing_subscriber::registry().with(filter);
    let result = match cfg.format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Human => registry.with(fmt::layer().with_target(true)).try_init(),
    };
    // Already initialised: keep the first subscriber.
    drop(result);
}

/// `tokio_postgres` logs every statement's parameters at debug level, and those include
/// password hashes and personal data; it is capped at `info` unless a directive names it
/// explicitly (someone debugging the driver on purpose).
fn quiet_secret_loggers(filter: EnvFilter) -> EnvFilter {
    if filter.to_string().contains("tokio_postgres") {
        return filter;
    }
    match "tokio_postgres=info".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}
