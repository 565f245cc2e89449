//! `lyceum-backend`: parse the command line, load the configuration, serve until SIGTERM/SIGINT.

use std::{path::PathBuf, process::ExitCode};

use clap::{CommandFactory, FromArgMatches, Parser};
use lyceum_backend::{app, config::Config, telemetry};

/// Lyceum's REST API (JSON under /api/v1, docs page at /docs, OpenAPI at /api/v1/openapi.json,
/// /healthz, /readyz, /metrics).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// TOML configuration file (sections [http], [auth], [redis], [log], [db]).
    #[arg(long, env = "LYCEUM_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let matches = Args::command()
        .after_long_help(lyceum_backend::config::help_text())
        .get_matches();
    let args = match Args::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    let config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(err) => {
            eprintln!("lyceum-backend: bad configuration: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log);
    tracing::info!(?config, "starting");
    let result = async {
        app::App::build(config)
            .await?
            .run_until(app::shutdown_signal())
            .await
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "stopped with an error");
            eprintln!("lyceum-backend: {err:#}");
            ExitCode::FAILURE
        }
    }
}
