//! The command line, and one run from arguments to verdict:
//! metrics server → students from the database → goose load (with the drill at its second)
//! → ledger check → summary, `drill.json`, exit code.
//! long: the documented flags (`Args`) take a fifth of it, and the run reads as one sequence;
//! splitting the reporting steps out is the next cut if it grows.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
    time::Duration,
};

use clap::{Parser, ValueEnum};
use goose::{config::GooseConfiguration, prelude::*};
use lyceum_db::{Db, load_db_config};

use crate::{
    arrivals::Arrivals,
    console::{self, DrillPlan},
    drill::{self, DrillKind, DrillRun},
    journeys::{self, Context, RetryBudget, Weights},
    ledger,
    metrics::LoadMetrics,
    recorder::Recorder,
    report::{self, Timelines},
    roster::Roster,
    summary::{LedgerOutcome, RunReport},
};

const ABOUT: &str = "Load the Lyceum API with weighted user journeys, optionally fail the database over mid-run, and check that no acknowledged write was lost.";

const LONG_ABOUT: &str = "\
Load the Lyceum API with goose: weighted journeys of anonymous visitors, students who log in,
buy (with an Idempotency-Key) and review, blog readers, staff editors and analysts, newcomers
who register and manage their account, an administrator, a blog writer and a career advisor,
with think times, a ramp-up and a ramp-down.

DRILL    --drill switchover|kill-leader runs `scripts/stack switchover` or
         `scripts/stack kill leader --wait` (or --drill-command) at --drill-at seconds, with
         this process's environment (LYCEUM_RUN_DIR, LYCEUM_PORT_OFFSET). --drill partition
         (compose) needs --drill-command, e.g. `lyceum-drill partition leader 20`. The summary gives
         the time from the first failed request (5xx or no answer) to the first success sent
         after it, for reads and writes separately, and failed requests by status.
LEDGER   Purchases answered 503 or not answered are retried with the same key. Every purchase
         acknowledged with a 2xx is checked afterwards on the primary (LYCEUM_DB__* variables):
         it exists exactly once, and no run tried is oversold. Every other acknowledged state
         change still holds: a payment stays paid, a logged-out token stays revoked, a
         password change keeps the old tokens refused, a deactivated account stays
         deactivated, an issued certificate exists once.
REPORTS  --report-dir (default reports/loadtest-<UTC time>/): index.html (the verdict, a
         timeline chart of the run with the drill shaded and the leader change marked, one
         chart per transaction group, the summary; needs no network), charts/*.svg,
         summary.txt, drill.json (the verdict), ledger.json, changes.json, drill-command.log, and goose's
         report.html and report.json.
CONSOLE  A progress line every --progress-every seconds on stderr (requests/s, p50 and p99
         of those seconds, failed requests, users, drill phase); the summary, then a verdict
         banner with the report paths last.
METRICS  GET /metrics on --metrics-addr: lyceum_loadtest_requests_total,
         lyceum_loadtest_request_duration_seconds, lyceum_loadtest_users_active,
         lyceum_loadtest_drill_phase.
EXIT     0 passed; 1 a 500 was answered, an acknowledged purchase was lost or duplicated, a
         run is oversold, an acknowledged state change no longer holds, the drill command failed or the service had not recovered by the
         end; 2 bad arguments or the run could not start.

Every option can also be set with its LYCEUM_LOADTEST_* variable (shown below).";

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioSet {
    /// The weighted mix of user journeys (see --weights).
    Mixed,
    /// Raw mode: GET /healthz with no think time, to measure the generator (no database).
    Healthz,
}

#[derive(Debug, Parser)]
#[command(name = "lyceum-loadtest", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Args {
    /// Base URL of the backend.
    #[arg(
        long,
        env = "LYCEUM_LOADTEST_HOST",
        default_value = "http://127.0.0.1:8080"
    )]
    pub host: String,
    /// Simulated users at full load.
    #[arg(long, env = "LYCEUM_LOADTEST_USERS", default_value_t = 40, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub users: u32,
    /// Seconds at full load (between ramp-up and ramp-down).
    #[arg(long, env = "LYCEUM_LOADTEST_DURATION", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration: u64,
    /// Seconds to start all users.
    #[arg(long, env = "LYCEUM_LOADTEST_RAMP_UP", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub ramp_up: u64,
    /// Seconds to stop all users at the end.
    #[arg(long, env = "LYCEUM_LOADTEST_RAMP_DOWN", default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub ramp_down: u64,
    /// Which load to run.
    #[arg(long, value_enum, env = "LYCEUM_LOADTEST_SCENARIO", default_value_t = ScenarioSet::Mixed)]
    pub scenario: ScenarioSet,
    /// Scenario weights of the mixed load; names left out keep their default, 0 turns one off.
    #[arg(
        long,
        env = "LYCEUM_LOADTEST_WEIGHTS",
        default_value = "browse=38,student=28,blog=14,staff=4,analyst=8,account=4,admin=1,writer=1,career=2"
    )]
    pub weights: Weights,
    /// Multiplies every journey's think time (0: none).
    #[arg(long, env = "LYCEUM_LOADTEST_THINK_SCALE", default_value_t = 1.0, value_parser = parse_think_scale)]
    pub think_scale: f64,
    /// Open loop: transactions started per second across all users, on a fixed schedule
    /// whatever the answers' speed; think times are off. Starts no user is free for within
    /// 1 s are dropped and counted. Give enough --users to serve the rate. [default: closed
    /// loop, each user waits for its answer and thinks]
    #[arg(long, env = "LYCEUM_LOADTEST_RATE", value_parser = parse_rate)]
    pub rate: Option<f64>,
    /// Per-request timeout, seconds.
    #[arg(long, env = "LYCEUM_LOADTEST_REQUEST_TIMEOUT", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub request_timeout: u64,
    /// Folder for the reports [default: reports/loadtest-<UTC time>].
    #[arg(long, env = "LYCEUM_LOADTEST_REPORT_DIR")]
    pub report_dir: Option<PathBuf>,
    /// How the last lines name the report folder [default: --report-dir]; in a container,
    /// the folder's path on the host.
    #[arg(long, env = "LYCEUM_LOADTEST_REPORT_DIR_SHOWN_AS")]
    pub report_dir_shown_as: Option<String>,
    /// Also print goose's own console output: a log line per user started and stopped, and
    /// its metrics tables at the end (report.html and report.json have them either way).
    #[arg(long, env = "LYCEUM_LOADTEST_GOOSE_CONSOLE")]
    pub goose_console: bool,
    /// Seconds between two progress lines on stderr (0: none).
    #[arg(long, env = "LYCEUM_LOADTEST_PROGRESS_EVERY", default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub progress_every: u64,
    /// Where to serve /metrics for Prometheus (`off` to disable).
    #[arg(
        long,
        env = "LYCEUM_LOADTEST_METRICS_ADDR",
        default_value = "127.0.0.1:9095"
    )]
    pub metrics_addr: String,
    /// Fault to inject during the load.
    #[arg(long, value_enum, env = "LYCEUM_LOADTEST_DRILL", default_value_t = DrillKind::None)]
    pub drill: DrillKind,
    /// Seconds after the load starts to inject it [default: the middle of the full-load phase].
    #[arg(long, env = "LYCEUM_LOADTEST_DRILL_AT")]
    pub drill_at: Option<u64>,
    /// Shell command that injects the fault (e.g. `docker compose kill pg1`)
    /// [default: the local runner's command for --drill, run from the current folder].
    #[arg(long, env = "LYCEUM_LOADTEST_DRILL_COMMAND")]
    pub drill_command: Option<String>,
    /// The drill command is killed after this many seconds.
    #[arg(long, env = "LYCEUM_LOADTEST_DRILL_TIMEOUT", default_value_t = 120)]
    pub drill_timeout: u64,
    /// Students read from the database to log in as (plus student1..5@lyceum.test).
    #[arg(long, env = "LYCEUM_LOADTEST_STUDENTS", default_value_t = 1000, value_parser = clap::value_parser!(i64).range(0..=1_000_000))]
    pub students: i64,
    /// Attempts per purchase (and per payment) while the answer is 503 or missing.
    #[arg(long, env = "LYCEUM_LOADTEST_PURCHASE_ATTEMPTS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub purchase_attempts: u32,
    /// Seconds a purchase keeps retrying.
    #[arg(
        long,
        env = "LYCEUM_LOADTEST_PURCHASE_RETRY_SECS",
        default_value_t = 30
    )]
    pub purchase_retry_secs: u64,
    /// TOML file with a [db] section (else LYCEUM_DB__* variables and the local-stack defaults).
    #[arg(long, env = "LYCEUM_CONFIG")]
    pub config: Option<PathBuf>,
}

fn parse_think_scale(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err("must be between 0 and 100".into())
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v > 0.0 && v <= 100_000.0 {
        Ok(v)
    } else {
        Err("must be above 0 and at most 100000 (transactions per second)".into())
    }
}

impl Args {
    /// Seconds from the start of the load to the fault.
    pub fn drill_second(&self) -> u64 {
        self.drill_at.unwrap_or(self.ramp_up + self.duration / 2)
    }

    fn total_seconds(&self) -> u64 {
        self.ramp_up + self.duration + self.ramp_down
    }

    /// Checks the combinations clap cannot.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.host.starts_with("http://") || self.host.starts_with("https://")) {
            return Err(format!("--host {}: expected http://HOST:PORT", self.host));
        }
        if self.drill != DrillKind::None {
            if self.drill_second() >= self.total_seconds() {
                return Err(format!(
                    "--drill-at {} is not before the end of the load ({} s)",
                    self.drill_second(),
                    self.total_seconds()
                ));
            }
            if self.scenario == ScenarioSet::Healthz {
                return Err("a drill needs --scenario mixed".into());
            }
            if self.drill_command().is_none() {
                return Err(format!(
                    "--drill {} has no local command: give --drill-command (in compose: \
                     lyceum-drill partition leader|replica|etcd SECONDS)",
                    self.drill
                        .to_possible_value()
                        .map_or("?".into(), |v| v.get_name().to_owned())
                ));
            }
        }
        Ok(())
    }

    fn drill_command(&self) -> Option<String> {
        self.drill_command
            .clone()
            .or_else(|| self.drill.default_command().map(str::to_owned))
    }
}

/// Parses, runs, and turns the verdict into the exit code.
pub fn main() -> ExitCode {
    let args = Args::parse();
    if let Err(msg) = args.validate() {
        eprintln!("lyceum-loadtest: {msg}");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("lyceum-loadtest: cannot start the runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("lyceum-loadtest: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn default_report_dir() -> PathBuf {
    PathBuf::from("reports").join(format!(
        "loadtest-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    ))
}

/// One whole run; `Ok(passed)`, or `Err` when it could not start.
async fn run(args: Args) -> anyhow::Result<bool> {
    let report_dir = args.report_dir.clone().unwrap_or_else(default_report_dir);
    std::fs::create_dir_all(&report_dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", report_dir.display()))?;

    let metrics = LoadMetrics::new()?;
    if args.metrics_addr != "off" {
        let addr: SocketAddr = args
            .metrics_addr
            .parse()
            .map_err(|e| anyhow::anyhow!("--metrics-addr {}: {e}", args.metrics_addr))?;
        let bound = metrics
            .serve(addr)
            .await
            .map_err(|e| anyhow::anyhow!("cannot serve metrics on {addr}: {e}"))?;
        eprintln!("lyceum-loadtest: metrics on http://{bound}/metrics");
    }

    preflight(&args.host).await?;

    let needs_db = args.scenario == ScenarioSet::Mixed && args.weights.acknowledges_writes();
    let db = if needs_db {
        let cfg = load_db_config(args.config.as_deref())
            .map_err(|e| anyhow::anyhow!("bad database configuration: {e}"))?;
        Some(Db::new(&cfg).map_err(|e| anyhow::anyhow!("bad database configuration: {e}"))?)
    } else {
        None
    };
    let roster = match &db {
        Some(db) => Roster::load(db, args.students).await.map_err(|e| {
            anyhow::anyhow!("cannot read the accounts to log in as through the read port: {e} (is the stack up? eval \"$(scripts/stack env)\")")
        })?,
        None => Roster::default(),
    };

    let drill_command = args.drill_command();
    let plan = if drill_command.is_some() {
        DrillPlan::At(args.drill_second())
    } else {
        DrillPlan::None
    };
    let recorder = Recorder::new(metrics.clone(), drill_command.is_some());
    let start = recorder.start();
    let mut ctx = Context::new(
        recorder,
        roster,
        RetryBudget {
            attempts: args.purchase_attempts,
            within: Duration::from_secs(args.purchase_retry_secs),
        },
    );
    if let Some(rate) = args.rate {
        let full_load =
            Duration::from_secs(args.ramp_up)..Duration::from_secs(args.ramp_up + args.duration);
        ctx = ctx.with_arrivals(Arrivals::new(rate, start, full_load));
    }
    let ctx = Arc::new(ctx);
    let attack = build_attack(&args, &ctx, &report_dir)?;

    let drill_task = drill_command.map(|command| {
        let ctx = Arc::clone(&ctx);
        let at = Duration::from_secs(args.drill_second());
        let (kind, timeout) = (args.drill, Duration::from_secs(args.drill_timeout));
        let log = report_dir.join("drill-command.log");
        tokio::spawn(async move {
            tokio::time::sleep_until(ctx.recorder.start() + at).await;
            eprintln!("lyceum-loadtest: drill: running `{command}`");
            ctx.recorder.fault_started();
            let run = drill::run_command(kind, &command, &log, ctx.recorder.start(), timeout).await;
            ctx.recorder.fault_finished();
            eprintln!(
                "lyceum-loadtest: drill: `{command}` finished after {:.1} s (exit {:?})",
                run.finished_s - run.started_s,
                run.exit_code
            );
            run
        })
    });

    let progress = (args.progress_every > 0).then(|| {
        console::spawn_progress(
            Arc::clone(&ctx),
            Duration::from_secs(args.progress_every),
            plan,
        )
    });
    let outcome = attack.execute().await;
    if let Some(task) = progress {
        task.abort();
    }
    outcome.map_err(|e| anyhow::anyhow!("goose: {e}"))?;
    metrics.users_active.set(0);

    let drill_run: Option<DrillRun> = match drill_task {
        Some(task) => Some(task.await?),
        None => None,
    };

    let acks = ctx.ledger.acks();
    let runs_tried = ctx.ledger.runs_tried();
    let changes = ctx.ledger.changes();
    let ledger_outcome = match &db {
        Some(db) if !(acks.is_empty() && runs_tried.is_empty() && changes.is_empty()) => {
            match ledger::verify(db, &acks, &runs_tried, &changes).await {
                Ok(v) => LedgerOutcome::Checked(v),
                Err(e) => LedgerOutcome::Failed(e.to_string()),
            }
        }
        _ => LedgerOutcome::NotApplicable,
    };

    let mut report = ctx
        .recorder
        .with_tally(|tally| RunReport::new(tally, drill_run, ledger_outcome));
    report.arrivals = ctx.arrivals.as_ref().map(Arrivals::stats);
    let text = report.render();
    println!("\n{text}");
    let timelines = ctx.recorder.with_tally(Timelines::from_tally);
    report::write_folder(&report_dir, &report, &text, &acks, &changes, &timelines)?;
    let shown_as = args
        .report_dir_shown_as
        .clone()
        .unwrap_or_else(|| report_dir.display().to_string());
    println!("\n{}", console::banner(&report, &shown_as));
    Ok(report.passed)
}

fn build_attack(
    args: &Args,
    ctx: &Arc<Context>,
    report_dir: &Path,
) -> Result<GooseAttack, GooseError> {
    let mut config = GooseConfiguration::default();
    config.report_file = vec![
        report_dir.join("report.html").display().to_string(),
        report_dir.join("report.json").display().to_string(),
    ];
    let scenarios = match args.scenario {
        // The open loop's schedule replaces the think times.
        ScenarioSet::Mixed if args.rate.is_some() => journeys::mixed(ctx, args.weights, 0.0)?,
        ScenarioSet::Mixed => journeys::mixed(ctx, args.weights, args.think_scale)?,
        ScenarioSet::Healthz => vec![journeys::healthz::scenario(ctx)?],
    };
    let mut attack = GooseAttack::initialize_with_config(config)?;
    for scenario in scenarios {
        attack = attack.register_scenario(scenario);
    }
    let mut attack = attack
        .set_default(GooseDefault::Host, args.host.as_str())?
        .set_default(GooseDefault::Users, args.users as usize)?
        .set_default(GooseDefault::RunTime, args.duration as usize)?
        .set_default(
            GooseDefault::Timeout,
            args.request_timeout.to_string().as_str(),
        )?
        // The reports cover the whole run, ramp-up and drill included.
        .set_default(GooseDefault::NoResetMetrics, true)?
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoWebSocket, true)?;
    if !args.goose_console {
        // The progress lines and the summary tell the run; goose's hundreds of lines (users
        // launched and exiting, its tables) would bury them.
        attack = attack
            .set_default(GooseDefault::Quiet, 1)?
            .set_default(GooseDefault::NoPrintMetrics, true)?;
    }
    attack = if args.ramp_up > 0 {
        attack.set_default(GooseDefault::IncreaseTime, args.ramp_up as usize)?
    } else {
        // No ramp-up: every user starts at once.
        attack.set_default(GooseDefault::IncreaseRate, args.users.to_string().as_str())?
    };
    if args.ramp_down > 0 {
        // Without it goose stops every user at once.
        attack = attack.set_default(GooseDefault::DecreaseTime, args.ramp_down as usize)?;
    }
    Ok(*attack)
}

/// The `host:port` of an `http(s)://host[:port][/...]` URL.
pub fn authority(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host_port = rest.split('/').next().filter(|h| !h.is_empty())?;
    if host_port.contains(':') {
        Some(host_port.to_owned())
    } else {
        let port = if scheme == "https" { 443 } else { 80 };
        Some(format!("{host_port}:{port}"))
    }
}

/// Fails fast when nothing listens at the backend's address, instead of a run of errors.
async fn preflight(host: &str) -> anyhow::Result<()> {
    let addr = authority(host).ok_or_else(|| anyhow::anyhow!("--host {host}: not a URL"))?;
    match tokio::time::timeout(
        Duration::from_secs(3),
        tokio::net::TcpStream::connect(&addr),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(anyhow::anyhow!(
            "the backend at {addr} does not answer: {e}"
        )),
        Err(_) => Err(anyhow::anyhow!(
            "the backend at {addr} does not answer within 3 s"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["lyceum-loadtest"];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_drill_defaults_to_the_middle_of_the_full_load() {
        let a = args(&[
            "--ramp-up",
            "10",
            "--duration",
            "40",
            "--drill",
            "switchover",
        ]);
        assert_eq!(a.drill_second(), 30);
        assert!(a.validate().is_ok());
        assert_eq!(
            a.drill_command().as_deref(),
            Some("scripts/stack switchover")
        );
    }

    #[test]
    fn a_drill_after_the_end_or_in_raw_mode_is_refused() {
        let a = args(&[
            "--duration",
            "10",
            "--drill",
            "kill-leader",
            "--drill-at",
            "100",
        ]);
        assert!(a.validate().is_err());
        let a = args(&["--scenario", "healthz", "--drill", "switchover"]);
        assert!(a.validate().is_err());
        let a = args(&["--host", "localhost:8080"]);
        assert!(a.validate().is_err());
        // A partition has no local command: without --drill-command nothing would run.
        let err = args(&["--drill", "partition"])
            .validate()
            .expect_err("a partition without a command is refused");
        assert!(
            err.contains("--drill partition has no local command"),
            "{err}"
        );
        let a = args(&[
            "--drill",
            "partition",
            "--drill-command",
            "lyceum-drill partition leader 20",
        ]);
        assert!(a.validate().is_ok());
    }

    #[test]
    fn bad_values_are_rejected_by_the_parser() {
        for bad in [
            &["--users", "0"][..],
            &["--think-scale", "-1"],
            &["--weights", "nobody=3"],
            &["--drill", "explode"],
        ] {
            let mut argv = vec!["lyceum-loadtest"];
            argv.extend_from_slice(bad);
            assert!(Args::try_parse_from(argv).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn authority_adds_the_scheme_port() {
        assert_eq!(
            authority("http://127.0.0.1:8280").as_deref(),
            Some("127.0.0.1:8280")
        );
        assert_eq!(
            authority("http://localhost/").as_deref(),
            Some("localhost:80")
        );
        assert_eq!(
            authority("https://example.test/x").as_deref(),
            Some("example.test:443")
        );
        assert_eq!(authority("localhost:80"), None);
    }

    #[test]
    fn a_custom_drill_command_wins() {
        let a = args(&[
            "--drill",
            "kill-leader",
            "--drill-command",
            "docker compose kill pg1",
        ]);
        assert_eq!(
            a.drill_command().as_deref(),
            Some("docker compose kill pg1")
        );
    }
}
