//! The failover drill: run a fault command at a chosen second of the load, and measure how
//! long reads and writes stayed broken.
//!
//! A request *fails* when the client got no HTTP answer or a 5xx; every other status (a 409
//! sold out, a 404) is an answer and counts as the service being available. Recovery of a
//! class (reads, writes) is timed from the moment the first failed request of that class came
//! back, after the fault started, to the moment the first successful request *sent after
//! that failure* came back. Requests that were already in flight before the failure do not
//! count as proof of recovery.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use serde::Serialize;
use tokio::{io::AsyncWriteExt, process::Command, time::Instant};

/// Which fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DrillKind {
    /// No fault: a plain load run (the ledger check still runs).
    None,
    /// Planned switchover (`scripts/stack switchover`).
    Switchover,
    /// The leader's machine dies (`scripts/stack kill leader --wait`).
    KillLeader,
    /// A node cut off from the network, then reconnected; compose only, so it has no local
    /// command: `--drill-command "lyceum-drill partition leader|replica|etcd SECONDS"`.
    Partition,
}

impl DrillKind {
    /// The local runner's command for this fault, run from the repository root.
    pub fn default_command(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Switchover => Some("scripts/stack switchover"),
            Self::KillLeader => Some("scripts/stack kill leader --wait"),
            Self::Partition => None,
        }
    }
}

/// Which side of the data path a request exercises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestClass {
    Read,
    Write,
}

/// Online recovery clock for one request class; times are seconds since the load started.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RecoveryClock {
    /// Requests that came back before this moment are ignored (the fault's start).
    #[serde(skip)]
    watch_from: Option<f64>,
    /// When the first failed request (after `watch_from`) came back.
    pub first_failure_s: Option<f64>,
    /// When that request was sent: a failure after a long stall (a retry budget running
    /// out) started being felt this early.
    pub first_failure_sent_s: Option<f64>,
    /// When the first success sent after that failure came back.
    pub recovered_s: Option<f64>,
    /// When the last failed request came back (failures may continue after the first success).
    pub last_failure_s: Option<f64>,
    /// Failed requests seen while watching.
    pub failures: u64,
    /// Requests seen while watching.
    pub requests: u64,
}

impl RecoveryClock {
    /// Starts watching at `at` (seconds since the load started).
    pub fn watch_from(at: f64) -> Self {
        Self {
            watch_from: Some(at),
            ..Self::default()
        }
    }

    pub fn is_watching(&self) -> bool {
        self.watch_from.is_some()
    }

    /// One request: sent at `sent`, answered (or failed) at `done`, seconds since the start.
    pub fn observe(&mut self, sent: f64, done: f64, ok: bool) {
        let Some(from) = self.watch_from else { return };
        if done < from {
            return;
        }
        self.requests += 1;
        if !ok {
            self.failures += 1;
            if self.first_failure_s.is_none() {
                self.first_failure_s = Some(done);
                self.first_failure_sent_s = Some(sent);
            }
            self.last_failure_s = Some(self.last_failure_s.map_or(done, |t| t.max(done)));
            return;
        }
        if let (Some(failed), None) = (self.first_failure_s, self.recovered_s)
            && sent >= failed
        {
            self.recovered_s = Some(done);
        }
    }

    /// Seconds from the first failure to the first success after it; `Some(0.0)` when nothing
    /// failed, `None` while still broken.
    pub fn recovery_seconds(&self) -> Option<f64> {
        match (self.first_failure_s, self.recovered_s) {
            (None, _) => Some(0.0),
            (Some(failed), Some(ok)) => Some(ok - failed),
            (Some(_), None) => None,
        }
    }

    /// Like [`Self::recovery_seconds`], but from the moment the first failed request was sent:
    /// the whole window a client could have been waiting in.
    pub fn outage_seconds(&self) -> Option<f64> {
        match (self.first_failure_sent_s, self.recovered_s) {
            (None, _) => Some(0.0),
            (Some(sent), Some(ok)) => Some(ok - sent),
            (Some(_), None) => None,
        }
    }

    /// Nothing failed, or a success followed the first failure.
    pub fn recovered(&self) -> bool {
        self.recovery_seconds().is_some()
    }
}

/// What happened to the fault command.
#[derive(Debug, Clone, Serialize)]
pub struct DrillRun {
    pub kind: DrillKind,
    pub command: String,
    /// Seconds since the load started.
    pub started_s: f64,
    pub finished_s: f64,
    pub exit_code: Option<i32>,
    pub succeeded: bool,
    /// The node that leads after the fault, as the command's output names it (the local
    /// runner and the compose drill wait for it and print it); at `finished_s`.
    pub new_leader: Option<String>,
    /// Where the command's output went.
    pub log: PathBuf,
}

/// The new leader named in a drill command's output: `scripts/stack kill leader --wait`
/// prints "write port serves from new leader pg2 after ...", `scripts/stack switchover`
/// "... done: write port serves from pg2 after ...", the compose drill "new leader pg2 after ...".
pub fn new_leader_in(output: &str) -> Option<String> {
    output.lines().rev().find_map(|line| {
        ["new leader ", "serves from "].iter().find_map(|marker| {
            let (_, rest) = line.split_once(marker)?;
            // "NAME after N s": the success line, not an error that mentions a new leader.
            let mut words = rest.split_whitespace();
            let name = words.next()?;
            (words.next() == Some("after")).then(|| name.to_owned())
        })
    })
}

/// Runs `command` with `sh -c` (inheriting the environment, so `LYCEUM_RUN_DIR` and
/// `LYCEUM_PORT_OFFSET` reach `scripts/stack`), output to `log`, at most `timeout`.
pub async fn run_command(
    kind: DrillKind,
    command: &str,
    log: &Path,
    load_start: Instant,
    timeout: Duration,
) -> DrillRun {
    let started_s = load_start.elapsed().as_secs_f64();
    let outcome = tokio::time::timeout(
        timeout,
        Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await;
    let finished_s = load_start.elapsed().as_secs_f64();
    let (exit_code, text) = match outcome {
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            (out.status.code(), text)
        }
        Ok(Err(err)) => (None, format!("could not start `{command}`: {err}\n")),
        Err(_) => (
            None,
            format!("`{command}` did not finish within {timeout:?}; killed\n"),
        ),
    };
    if let Ok(mut file) = tokio::fs::File::create(log).await {
        let header = format!(
            "$ {command}\n# started at {started_s:.3} s, finished at {finished_s:.3} s, exit {exit_code:?}\n"
        );
        let _ = file.write_all(header.as_bytes()).await;
        let _ = file.write_all(text.as_bytes()).await;
    }
    DrillRun {
        kind,
        command: command.to_owned(),
        started_s,
        finished_s,
        exit_code,
        succeeded: exit_code == Some(0),
        new_leader: new_leader_in(&text),
        log: log.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_counted_before_watching_starts() {
        let mut clock = RecoveryClock::default();
        clock.observe(0.0, 1.0, false);
        assert_eq!(clock.failures, 0);
        assert_eq!(clock.recovery_seconds(), Some(0.0));
    }

    #[test]
    fn recovery_runs_from_first_failure_to_first_success_sent_after_it() {
        let mut clock = RecoveryClock::watch_from(10.0);
        clock.observe(9.0, 9.5, false); // before the fault: ignored
        clock.observe(10.0, 10.2, true);
        clock.observe(10.1, 11.0, false); // first failure at 11.0
        clock.observe(10.5, 11.5, true); // sent before the failure: in flight, not proof
        assert_eq!(clock.recovery_seconds(), None);
        assert!(!clock.recovered());
        clock.observe(11.2, 12.0, false);
        clock.observe(12.1, 13.5, true); // first success sent after 11.0
        clock.observe(13.0, 14.0, false); // a later blip does not move the recovery
        assert_eq!(clock.first_failure_s, Some(11.0));
        assert_eq!(clock.recovered_s, Some(13.5));
        assert_eq!(clock.last_failure_s, Some(14.0));
        assert_eq!(clock.failures, 3);
        assert_eq!(clock.requests, 6);
        let secs = clock.recovery_seconds().unwrap_or(f64::NAN);
        assert!((secs - 2.5).abs() < 1e-9, "{secs}");
        // The first failure was sent at 10.1: the client waited from then until 13.5.
        let outage = clock.outage_seconds().unwrap_or(f64::NAN);
        assert!((outage - 3.4).abs() < 1e-9, "{outage}");
    }

    #[test]
    fn no_failure_means_zero_recovery_time() {
        let mut clock = RecoveryClock::watch_from(0.0);
        clock.observe(0.0, 0.1, true);
        assert_eq!(clock.recovery_seconds(), Some(0.0));
        assert!(clock.recovered());
    }

    #[test]
    fn the_new_leader_is_read_from_each_drill_commands_output() {
        let local_kill =
            "killed pg1 (SIGKILL)\nwrite port serves from new leader pg2 after 9.8 s\n";
        assert_eq!(new_leader_in(local_kill).as_deref(), Some("pg2"));
        let switchover = "switchover pg2 -> pg3 ...\nswitchover pg2 -> pg3 done: write port serves from pg3 after 3.1 s\n";
        assert_eq!(new_leader_in(switchover).as_deref(), Some("pg3"));
        let compose = "killed pg1 (leader; container 0123456789ab of project p)\nnew leader pg2 after 11.2 s\n";
        assert_eq!(new_leader_in(compose).as_deref(), Some("pg2"));
        assert_eq!(
            new_leader_in("kill-leader: no new leader within 90 s\n"),
            None
        );
        assert_eq!(new_leader_in(""), None);
    }

    #[test]
    fn default_commands_use_the_local_runner() {
        assert_eq!(DrillKind::None.default_command(), None);
        assert_eq!(
            DrillKind::Switchover.default_command(),
            Some("scripts/stack switchover")
        );
        assert_eq!(
            DrillKind::KillLeader.default_command(),
            Some("scripts/stack kill leader --wait")
        );
    }
}
