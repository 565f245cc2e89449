//! Applies Lyceum's schema migrations to the cluster's primary.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;
use lyceum_db::{load_db_config, migrate};

/// Apply the schema migrations in `migrations/` (embedded in this binary) to the primary,
/// through HAProxy's write port. Safe to run from several processes at once: they take
/// turns under an advisory lock and each migration is applied exactly once.
///
/// Configuration: built-in defaults (the local stack), then the optional file, then
/// LYCEUM_DB__* environment variables (e.g. LYCEUM_DB__HOST, LYCEUM_DB__WRITE_PORT,
/// LYCEUM_DB__USER, LYCEUM_DB__PASSWORD, LYCEUM_DB__DBNAME).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// TOML configuration file with a [db] section.
    #[arg(long, env = "LYCEUM_CONFIG")]
    config: Option<PathBuf>,
    /// Longest wait for another process that is migrating, in seconds.
    #[arg(long, default_value_t = 120)]
    lock_wait_secs: u64,
    /// Only list the migrations embedded in this binary.
    #[arg(long)]
    list: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if args.list {
        for name in migrate::known_migrations() {
            println!("{name}");
        }
        return ExitCode::SUCCESS;
    }
    let db = match load_db_config(args.config.as_deref()) {
        Ok(cfg) => cfg,
        Err(err) => {
            eprintln!("lyceum-migrate: bad configuration: {err}");
            return ExitCode::from(2);
        }
    };
    match migrate::run_migrations(&db, Duration::from_secs(args.lock_wait_secs)).await {
        Ok(report) if report.applied.is_empty() => {
            println!(
                "applied 0 migrations; schema up to date ({} known)",
                report.known.len()
            );
            ExitCode::SUCCESS
        }
        Ok(report) => {
            println!(
                "applied {} migrations: {}",
                report.applied.len(),
                report.applied.join(", ")
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!(
                "lyceum-migrate: {err} (primary via {}:{}, database {})",
                db.host, db.write_port, db.dbname
            );
            ExitCode::FAILURE
        }
    }
}
