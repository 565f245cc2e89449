//! The command line: arguments, configuration, and the run from start to summary.

use std::{path::PathBuf, process::ExitCode, sync::Arc, time::Duration};

use chrono::NaiveDate;
use clap::Parser;
use lyceum_db::{Db, DbConfig, DbFuture, load_db_config, migrate};
use tokio::time::Instant;

use crate::{
    copy::CountingSink,
    dump,
    error::SeedError,
    foreign_keys,
    generate::{self, Lookups, Table, World},
    load::{self, LoadOptions},
    plan::{self, MAX_SCALE, MIN_SCALE, Params},
    progress::{self, ForeignKeyTimes, Progress, Summary},
    state,
};

const ABOUT: &str = "Fill the Lyceum database with realistic, reproducible fake data.";

const LONG_ABOUT: &str = "\
Fill every Lyceum table with realistic, referentially consistent fake data through
binary COPY on the primary (HAProxy's write port).

SCALE   --scale 1 is a small school: 10 000 users (150 staff), 100 courses, about
        1 200 runs and 50 000 purchases (plus reviews, certificates, career tracks,
        job applications, 50 companies, 300 blog posts, and about 47 000 project
        submissions with their reviews and comments). Counts grow linearly; the
        benchmark uses --scale 40 (400 000 users, 2 000 000 purchases). Decimals such
        as 0.1 work for quick tests. `--plan` prints the exact counts.
SEED    --seed S makes the data identical for the same S, scale and --anchor (the
        generated world's \"now\"): same names, ids, timestamps and password hashes.
RESUME  Each table loads in one transaction together with a row in seeder_state, so a
        table is either complete and recorded or empty. Running again with the same
        parameters loads only what is missing (nothing, if all is there); a connection
        lost mid-table (e.g. a switchover) is retried. Other parameters over seeded
        data are refused.
FKEYS   Foreign keys are dropped for the whole load (recorded in seeder_suspended_fks)
        and put back and validated at the end; a run that stopped part-way leaves them
        recorded and the next run restores and validates them first.
DUMP    --dump-dir DIR writes the rows a load would COPY to DIR (one binary COPY file
        per table and manifest.tsv) instead of loading them; no database is used.
RESET   --reset empties every seeded table (keeping the migration's plans and
        difficulty levels) and seeds from scratch.
LOGINS  Known accounts such as student1@lyceum.test / student-password and
        admin1@lyceum.test / admin-password are printed at the end (docs/SEEDER.md);
        every other user's password is lyceum-password.
CONFIG  Built-in defaults (the local stack), then --config FILE ([db] section), then
        LYCEUM_DB__* variables: LYCEUM_DB__HOST, LYCEUM_DB__WRITE_PORT,
        LYCEUM_DB__USER, LYCEUM_DB__PASSWORD, LYCEUM_DB__DBNAME, ... (see `scripts/stack env`).";

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = "lyceum-seeder", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Args {
    /// Data volume: 1 = 10 000 users and 50 000 purchases; counts grow linearly.
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    pub scale: f64,
    /// Random seed: the same seed, scale and anchor give identical data.
    #[arg(long, default_value_t = 42, value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub seed: u64,
    /// The generated world's "today" (YYYY-MM-DD): history runs four years up to it,
    /// course runs are scheduled up to a year after it.
    #[arg(long, default_value = plan::DEFAULT_ANCHOR)]
    pub anchor: NaiveDate,
    /// Delete all seeded data (and the bookkeeping) first, then seed from scratch.
    #[arg(long)]
    pub reset: bool,
    /// Apply pending schema migrations before seeding.
    #[arg(long)]
    pub migrate: bool,
    /// Tables loaded at the same time [default: write pool size / 2, at least 1].
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Keep retrying a table for this long after a transient error (failover).
    #[arg(long, default_value_t = 60)]
    pub retry_budget_secs: u64,
    /// statement_timeout for COPY and index builds inside a load transaction.
    #[arg(long, default_value_t = 1800)]
    pub statement_timeout_secs: u64,
    /// Print the row count of every table for these parameters and exit (no database).
    #[arg(long)]
    pub plan: bool,
    /// Generate and encode every row without a database, and report the speed.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the rows a load would COPY to files in DIR instead of loading them (no
    /// database): one binary COPY file per table and manifest.tsv (scripts/bench-seeder
    /// loads them with psql \copy to measure the schema's own load cost).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["plan", "dry_run", "reset", "migrate"])]
    pub dump_dir: Option<PathBuf>,
    /// TOML configuration file with a [db] section.
    #[arg(long, env = "LYCEUM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Test hook: roll back and fail any table that would commit after this many.
    #[arg(long, hide = true)]
    pub inject_failure_after: Option<usize>,
    /// Test hook: kill our own database session once while loading this table.
    #[arg(long, hide = true, value_parser = parse_table)]
    pub inject_disconnect: Option<Table>,
}

fn parse_scale(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (MIN_SCALE..=MAX_SCALE).contains(&v) {
        Ok(v)
    } else {
        Err(format!("scale must be between {MIN_SCALE} and {MAX_SCALE}"))
    }
}

fn parse_table(s: &str) -> Result<Table, String> {
    Table::from_name(s).ok_or_else(|| format!("unknown table {s}"))
}

/// The whole program: parse, configure, run, report.
pub fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("lyceum-seeder: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let params = Params {
        seed: args.seed,
        scale: args.scale,
        anchor: args.anchor,
    };
    if args.plan || args.dry_run {
        offline(&params, args.dry_run);
        return ExitCode::SUCCESS;
    }
    if let Some(dir) = &args.dump_dir {
        return dump_files(params, dir);
    }
    let db_cfg = match load_db_config(args.config.as_deref()) {
        Ok(cfg) => cfg,
        Err(err) => {
            eprintln!("lyceum-seeder: bad configuration: {err}");
            return ExitCode::from(2);
        }
    };
    match seed(&args, params, &db_cfg).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!(
                "lyceum-seeder: {} (primary via {}:{}, database {})",
                with_causes(&err),
                db_cfg.host,
                db_cfg.write_port,
                db_cfg.dbname
            );
            ExitCode::from(err.exit_code())
        }
    }
}

/// The error and its causes, so a server error shows PostgreSQL's own message (e.g. "could
/// not extend file ...: No space left on device") rather than only "db error".
fn with_causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    text
}

/// Prints the planned row counts; with `generate`, also encodes everything and times it.
fn offline(params: &Params, generate: bool) {
    let started = Instant::now();
    let world = World::build(*params, Lookups::as_migrated());
    let planned = started.elapsed();
    say!("{}", state::describe_params(params));
    say!("{:<18} {:>12}", "table", "rows");
    for table in Table::ALL {
        if generate {
            let t = Instant::now();
            let mut sink = CountingSink::default();
            let rows = generate::write_table(&world, table, &mut sink).unwrap_or_default();
            let elapsed = t.elapsed();
            say!(
                "{:<18} {:>12} {:>9.2} s {:>12} rows/s {:>8} MiB",
                table.name(),
                rows,
                elapsed.as_secs_f64(),
                progress::rate(rows, elapsed),
                sink.bytes / (1024 * 1024)
            );
        } else {
            say!("{:<18} {:>12}", table.name(), world.rows(table));
        }
    }
    say!("{:<18} {:>12}", "total", world.total_rows());
    say!("(world built in {:.2} s)", planned.as_secs_f64());
    if generate {
        say!(
            "(generated in {:.2} s overall)",
            started.elapsed().as_secs_f64()
        );
    }
}

/// `--dump-dir`: writes the files and a line per table.
fn dump_files(params: Params, dir: &std::path::Path) -> ExitCode {
    let started = Instant::now();
    match dump::dump(params, dir) {
        Ok(dumped) => {
            say!("{}", state::describe_params(&params));
            say!("{:<22} {:>12} {:>10}", "table", "rows", "MiB");
            for d in &dumped {
                say!(
                    "{:<22} {:>12} {:>10.1}",
                    d.table.name(),
                    d.rows,
                    d.bytes as f64 / 1_048_576.0
                );
            }
            let rows: u64 = dumped.iter().map(|d| d.rows).sum();
            say!("{:<22} {:>12}", "total", rows);
            say!(
                "(written to {} in {:.2} s; manifest {})",
                dir.display(),
                started.elapsed().as_secs_f64(),
                dump::MANIFEST
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("lyceum-seeder: cannot dump to {}: {err}", dir.display());
            ExitCode::FAILURE
        }
    }
}

impl crate::copy::ChunkSink for &mut CountingSink {
    fn accept(&mut self, chunk: bytes::Bytes, rows: u64) -> Result<(), crate::copy::Stopped> {
        (**self).accept(chunk, rows)
    }
}

async fn seed(args: &Args, params: Params, cfg: &DbConfig) -> Result<(), SeedError> {
    let started = Instant::now();
    if args.migrate {
        let report = migrate::run_migrations(cfg, Duration::from_secs(120)).await?;
        if !report.applied.is_empty() {
            say!("applied migrations: {}", report.applied.join(", "));
        }
    }
    let db = Db::new(cfg).map_err(SeedError::Config)?;
    db.write(|c| Box::pin(async move { state::ensure_schema(&***c).await }))
        .await?;
    if args.reset {
        let sql = state::reset_sql();
        db.write(|c| {
            let sql = sql.clone();
            Box::pin(async move {
                c.batch_execute(&sql).await?;
                Ok::<_, SeedError>(())
            })
        })
        .await?;
        say!("reset: every seeded table and seeder_state emptied");
    }
    let jobs = args.jobs.unwrap_or(cfg.write_pool_size / 2).max(1);
    let statement_timeout = Duration::from_secs(args.statement_timeout_secs);
    // Foreign keys a run left suspended (it stopped part-way) come back, validated,
    // before anything else happens (see `foreign_keys`).
    let leftover = foreign_keys::restore_all(&db, jobs, statement_timeout).await?;
    if leftover.restored + leftover.validated > 0 {
        say!(
            "foreign keys left suspended by an earlier run: {} restored, {} validated ({:.2} s)",
            leftover.restored,
            leftover.validated,
            leftover.elapsed.as_secs_f64()
        );
    }
    let recorded = db.write(read_state).await?;
    let todo = state::pending(&recorded, &params)?;
    let requested = state::describe_params(&params);
    if todo.is_empty() {
        say!("already seeded with {requested}: nothing to do");
        return Ok(());
    }
    if todo.len() < Table::ALL.len() {
        say!(
            "resuming {requested}: {} of {} tables already loaded, {} to go",
            Table::ALL.len() - todo.len(),
            Table::ALL.len(),
            todo.len()
        );
    } else {
        say!("seeding {requested}");
    }
    let lookups = db
        .write(|c| Box::pin(async move { state::read_lookups(&***c).await }))
        .await?;
    let world = Arc::new(
        tokio::task::spawn_blocking(move || World::build(params, lookups))
            .await
            .map_err(|e| SeedError::Generator(Table::Users, e.to_string()))?,
    );
    let plan = started.elapsed();
    let rows: u64 = todo.iter().map(|t| world.rows(*t)).sum();
    say!(
        "planned {rows} rows in {} tables ({:.2} s)",
        todo.len(),
        plan.as_secs_f64()
    );
    let opts = LoadOptions {
        jobs,
        retry_budget: Duration::from_secs(args.retry_budget_secs),
        statement_timeout,
        inject_failure_after: args.inject_failure_after,
        inject_disconnect: args.inject_disconnect,
        ..LoadOptions::default()
    };
    let suspending = Instant::now();
    let suspended = foreign_keys::suspend_all(&db, statement_timeout).await?;
    let suspending = suspending.elapsed();
    let progress = Progress::new();
    // Each table is analyzed as part of its load (see `load`), so the statistics are
    // fresh when this returns. On failure the keys stay recorded for the next run.
    let tables = load::load_all(&db, world.clone(), &todo, &opts, &progress).await?;
    let restored = foreign_keys::restore_all(&db, jobs, statement_timeout).await?;
    let summary = Summary {
        tables,
        plan,
        foreign_keys: ForeignKeyTimes {
            suspended,
            suspending,
            validated: restored.validated,
            validating: restored.elapsed,
        },
        wall: started.elapsed(),
    };
    say!("\n{}", summary.render());
    say!("{}", progress::render_accounts(&world.known));
    Ok(())
}

fn read_state(c: &mut lyceum_db::Client) -> DbFuture<'_, Vec<state::Recorded>, SeedError> {
    Box::pin(async move { state::read(&***c).await })
}

#[cfg(test)]
mod tests {
    use super::with_causes;

    #[derive(Debug, thiserror::Error)]
    enum Outer {
        #[error("database error: {0}")]
        Wraps(#[source] Inner),
        #[error("db error")]
        Opaque(#[source] Inner),
    }

    #[derive(Debug, thiserror::Error)]
    #[error("ERROR: could not extend file: No space left on device")]
    struct Inner;

    #[test]
    fn causes_are_appended_once() {
        // A cause already in the message is not repeated; a hidden one is shown.
        let shown = with_causes(&Outer::Wraps(Inner));
        assert_eq!(
            shown,
            "database error: ERROR: could not extend file: No space left on device"
        );
        let hidden = with_causes(&Outer::Opaque(Inner));
        assert_eq!(
            hidden,
            "db error: ERROR: could not extend file: No space left on device"
        );
    }
}
