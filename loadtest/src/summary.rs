//! The end of a run: per-transaction rates and percentiles, answers by status, the drill's
//! recovery times, the ledger check, and the verdict (console text and `drill.json`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    arrivals::ArrivalStats,
    drill::{DrillRun, RecoveryClock},
    ledger::LedgerVerdict,
    recorder::Tally,
};

/// Nearest-rank percentile of ascending `sorted` samples; 0 for no samples.
pub fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One transaction's figures; latencies in milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransactionStats {
    pub name: String,
    pub count: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl TransactionStats {
    pub fn from_samples(name: &str, samples_us: &[u32], seconds: f64) -> Self {
        let mut sorted = samples_us.to_vec();
        sorted.sort_unstable();
        let ms = |us: u32| f64::from(us) / 1000.0;
        Self {
            name: name.to_owned(),
            count: sorted.len(),
            per_second: if seconds > 0.0 {
                sorted.len() as f64 / seconds
            } else {
                0.0
            },
            p50_ms: ms(percentile(&sorted, 50.0)),
            p95_ms: ms(percentile(&sorted, 95.0)),
            p99_ms: ms(percentile(&sorted, 99.0)),
            max_ms: ms(sorted.last().copied().unwrap_or(0)),
        }
    }
}

/// Recovery of one request class, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovery {
    #[serde(flatten)]
    pub clock: RecoveryClock,
    /// First failure to first success after it; `null` when never recovered.
    pub recovery_s: Option<f64>,
    /// From the moment the first failed request was *sent* to that success.
    pub outage_s: Option<f64>,
}

impl From<&RecoveryClock> for Recovery {
    fn from(clock: &RecoveryClock) -> Self {
        Self {
            clock: clock.clone(),
            recovery_s: clock.recovery_seconds(),
            outage_s: clock.outage_seconds(),
        }
    }
}

/// What the ledger check said, or why it did not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerOutcome {
    Checked(LedgerVerdict),
    /// The database could not be read: the run cannot be declared safe.
    Failed(String),
    /// Nothing was bought or tried (e.g. `--scenario healthz`).
    NotApplicable,
}

/// Everything `drill.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub passed: bool,
    /// Why the run failed, one sentence each; empty when it passed.
    pub reasons: Vec<String>,
    pub duration_s: f64,
    pub requests: u64,
    pub requests_per_second: f64,
    pub transactions: Vec<TransactionStats>,
    /// Non-2xx answers and transport errors by status, then problem code.
    pub answers_by_status: BTreeMap<String, BTreeMap<String, u64>>,
    /// 5xx answers and transport errors by status: the requests the drill made fail.
    pub failed_requests_by_status: BTreeMap<String, u64>,
    pub internal_errors: u64,
    pub drill: Option<DrillRun>,
    pub reads: Recovery,
    pub writes: Recovery,
    pub ledger: LedgerOutcome,
    /// The open loop's schedule (`--rate`); `null` in the closed loop.
    pub arrivals: Option<ArrivalStats>,
}

impl RunReport {
    /// Builds the report and decides the verdict.
    pub fn new(tally: &Tally, drill: Option<DrillRun>, ledger: LedgerOutcome) -> Self {
        let duration_s = (tally.last_done_s - tally.first_sent_s.unwrap_or(0.0)).max(0.0);
        let transactions = tally
            .latencies_us
            .iter()
            .map(|(name, samples)| TransactionStats::from_samples(name, samples, duration_s))
            .collect();
        let mut answers_by_status: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut failed_requests_by_status = BTreeMap::new();
        for ((status, code), n) in &tally.problems {
            answers_by_status
                .entry(status.clone())
                .or_default()
                .insert(code.clone(), *n);
            if status == "error" || status.starts_with('5') {
                *failed_requests_by_status.entry(status.clone()).or_default() += n;
            }
        }
        let internal_errors = tally.internal_errors();
        let reads = Recovery::from(&tally.reads);
        let writes = Recovery::from(&tally.writes);

        let mut reasons = Vec::new();
        if internal_errors > 0 {
            reasons.push(format!("{internal_errors} requests were answered 500"));
        }
        match &ledger {
            LedgerOutcome::Checked(v) => {
                if !v.lost.is_empty() {
                    reasons.push(format!("{} acknowledged purchases were lost", v.lost.len()));
                }
                if !v.duplicated.is_empty() {
                    reasons.push(format!(
                        "{} acknowledged purchases were duplicated",
                        v.duplicated.len()
                    ));
                }
                if !v.oversold.is_empty() {
                    reasons.push(format!(
                        "{} runs are oversold or their seats do not add up",
                        v.oversold.len()
                    ));
                }
                if !v.state.undone.is_empty() {
                    reasons.push(format!(
                        "{} acknowledged state changes no longer hold",
                        v.state.undone.len()
                    ));
                }
            }
            LedgerOutcome::Failed(err) => {
                reasons.push(format!("the ledger could not be checked: {err}"))
            }
            LedgerOutcome::NotApplicable => {}
        }
        if let Some(run) = &drill
            && !run.succeeded
        {
            reasons.push(format!(
                "the drill command `{}` failed (exit {:?}; see {})",
                run.command,
                run.exit_code,
                run.log.display()
            ));
        }
        for (class, rec) in [("reads", &reads), ("writes", &writes)] {
            if rec.recovery_s.is_none() {
                reasons.push(format!(
                    "{class} had not recovered when the load ended ({} failed)",
                    rec.clock.failures
                ));
            }
        }
        Self {
            passed: reasons.is_empty(),
            reasons,
            duration_s,
            requests: tally.total,
            requests_per_second: if duration_s > 0.0 {
                tally.total as f64 / duration_s
            } else {
                0.0
            },
            transactions,
            answers_by_status,
            failed_requests_by_status,
            internal_errors,
            drill,
            reads,
            writes,
            ledger,
            arrivals: None,
        }
    }

    /// The console summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!(
            "Load: {} requests in {:.1} s = {:.1} req/s",
            self.requests, self.duration_s, self.requests_per_second
        ));
        line(format!(
            "  {:<28} {:>8} {:>8} {:>9} {:>9} {:>9} {:>9}",
            "transaction", "count", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
        ));
        for t in &self.transactions {
            line(format!(
                "  {:<28} {:>8} {:>8.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                t.name, t.count, t.per_second, t.p50_ms, t.p95_ms, t.p99_ms, t.max_ms
            ));
        }
        if let Some(arrivals) = &self.arrivals {
            line(arrivals.line());
        }
        if self.answers_by_status.is_empty() {
            line("Answers other than 2xx: none".into());
        } else {
            line("Answers other than 2xx (status: code x count):".into());
            for (status, codes) in &self.answers_by_status {
                let codes: Vec<String> = codes.iter().map(|(c, n)| format!("{c} x{n}")).collect();
                line(format!("  {status}: {}", codes.join(", ")));
            }
        }
        match &self.drill {
            None => line("Drill: none".into()),
            Some(run) => line(format!(
                "Drill: {:?} `{}` at {:.1} s, finished at {:.1} s ({})",
                run.kind,
                run.command,
                run.started_s,
                run.finished_s,
                if run.succeeded {
                    "ok".to_owned()
                } else {
                    format!("FAILED, exit {:?}", run.exit_code)
                }
            )),
        }
        for (class, rec) in [("reads", &self.reads), ("writes", &self.writes)] {
            let recovered = match rec.recovery_s {
                Some(s) if rec.clock.failures == 0 => format!("no failed request ({s:.1} s)"),
                Some(s) => format!(
                    "recovered in {s:.2} s after the first failure (at {:.2} s); {:.2} s since it was sent",
                    rec.clock.first_failure_s.unwrap_or(0.0),
                    rec.outage_s.unwrap_or(0.0)
                ),
                None => "NOT recovered".into(),
            };
            line(format!(
                "  {class:<6}: {recovered}; {} failed of {} watched",
                rec.clock.failures, rec.clock.requests
            ));
        }
        if !self.failed_requests_by_status.is_empty() {
            let parts: Vec<String> = self
                .failed_requests_by_status
                .iter()
                .map(|(s, n)| format!("{s} x{n}"))
                .collect();
            line(format!("  failed requests by status: {}", parts.join(", ")));
        }
        match &self.ledger {
            LedgerOutcome::Checked(v) => {
                line(format!(
                    "Ledger: {} acknowledged purchases ({} acknowledgements): {} lost, {} duplicated; {} runs checked, {} oversold",
                    v.acknowledged_purchases,
                    v.acknowledgements,
                    v.lost.len(),
                    v.duplicated.len(),
                    v.runs_checked,
                    v.oversold.len()
                ));
                let kinds: Vec<String> = v
                    .state
                    .checked
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect();
                line(format!(
                    "  state changes: {} acknowledged ({}), {} no longer hold",
                    v.state.total(),
                    if kinds.is_empty() {
                        "none".into()
                    } else {
                        kinds.join(", ")
                    },
                    v.state.undone.len()
                ));
                for u in v.state.undone.iter().take(10) {
                    // JSON, not Debug: it leaves the refresh token out.
                    let what = serde_json::to_string(&u.change).unwrap_or_default();
                    line(format!(
                        "    UNDONE {}: {} {what}",
                        u.change.kind(),
                        u.problem
                    ));
                }
            }
            LedgerOutcome::Failed(err) => line(format!("Ledger: NOT checked: {err}")),
            LedgerOutcome::NotApplicable => line("Ledger: nothing was bought".into()),
        }
        line(format!("500 answers: {}", self.internal_errors));
        if self.passed {
            line("VERDICT: PASSED".into());
        } else {
            line(format!("VERDICT: FAILED: {}", self.reasons.join("; ")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Ack, Finding};

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 95.0), 95);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn stats_convert_to_milliseconds_and_rate() {
        let s = TransactionStats::from_samples("x", &[3000, 1000, 2000, 4000], 2.0);
        assert_eq!(s.count, 4);
        assert!((s.per_second - 2.0).abs() < 1e-9);
        assert!((s.p50_ms - 2.0).abs() < 1e-9);
        assert!((s.max_ms - 4.0).abs() < 1e-9);
    }

    fn tally() -> Tally {
        let mut t = Tally {
            total: 4,
            first_sent_s: Some(1.0),
            last_done_s: 3.0,
            reads: RecoveryClock::watch_from(0.0),
            writes: RecoveryClock::watch_from(0.0),
            ..Tally::default()
        };
        t.latencies_us
            .insert("a".into(), vec![1000, 2000, 3000, 4000]);
        t.problems
            .insert(("503".into(), "service_unavailable".into()), 2);
        t.problems.insert(("409".into(), "sold_out".into()), 1);
        t
    }

    #[test]
    fn a_clean_run_passes_and_counts_failures_by_status() {
        let r = RunReport::new(
            &tally(),
            None,
            LedgerOutcome::Checked(crate::ledger::check(&[], &[], &[], &[])),
        );
        assert!(r.passed, "{:?}", r.reasons);
        assert!((r.requests_per_second - 2.0).abs() < 1e-9);
        assert_eq!(r.failed_requests_by_status.get("503"), Some(&2));
        assert!(!r.failed_requests_by_status.contains_key("409"));
        let text = r.render();
        assert!(text.contains("VERDICT: PASSED"), "{text}");
        assert!(text.contains("409: sold_out x1"), "{text}");
    }

    #[test]
    fn a_500_a_lost_write_or_an_unchecked_ledger_fails_the_run() {
        let mut t = tally();
        t.problems.insert(("500".into(), "internal".into()), 1);
        let r = RunReport::new(&t, None, LedgerOutcome::NotApplicable);
        assert!(!r.passed);
        assert_eq!(r.internal_errors, 1);

        let lost = LedgerVerdict {
            lost: vec![Finding {
                ack: Ack {
                    user_id: 1,
                    idempotency_key: "k".into(),
                    purchase_id: 2,
                    course_run_id: 3,
                },
                problem: "gone".into(),
            }],
            ..LedgerVerdict::default()
        };
        let r = RunReport::new(&tally(), None, LedgerOutcome::Checked(lost));
        assert!(!r.passed);
        assert!(r.reasons[0].contains("lost"), "{:?}", r.reasons);

        let r = RunReport::new(&tally(), None, LedgerOutcome::Failed("down".into()));
        assert!(!r.passed);
    }

    #[test]
    fn writes_still_broken_at_the_end_fail_the_run() {
        let mut t = tally();
        t.writes.observe(1.0, 2.0, false);
        let r = RunReport::new(&t, None, LedgerOutcome::NotApplicable);
        assert!(!r.passed);
        assert!(r.render().contains("NOT recovered"));
    }
}
