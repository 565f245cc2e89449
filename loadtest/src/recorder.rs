//! Every request's outcome, in one place: the live Prometheus metrics, latency samples for the
//! summary's percentiles, answers by status and problem code, and the drill's recovery clocks.
//!
//! Goose keeps its own statistics for its reports; this recorder exists because the contract's
//! metric names, the drill's timing and the 500 check need every attempt (retries included)
//! with its send and completion time.

use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard},
};

use tokio::time::Instant;

use crate::{
    drill::{RecoveryClock, RequestClass},
    metrics::LoadMetrics,
    timeline::{Timeline, group_of},
};

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer, with the problem document's `code` for 4xx/5xx when there was one.
    Answered { status: u16, code: Option<String> },
    /// No HTTP answer: connection refused or reset, timeout.
    Transport,
}

impl Outcome {
    /// Available from the client's point of view: any answer below 500.
    pub fn is_available(&self) -> bool {
        matches!(self, Self::Answered { status, .. } if *status < 500)
    }

    /// The `status` label: the HTTP code, or `error`.
    pub fn status_label(&self) -> String {
        match self {
            Self::Answered { status, .. } => status.to_string(),
            Self::Transport => "error".into(),
        }
    }
}

/// Counts and samples gathered so far.
#[derive(Debug, Default)]
pub struct Tally {
    /// Latency samples in microseconds, per transaction.
    pub latencies_us: BTreeMap<String, Vec<u32>>,
    /// Non-2xx answers and transport errors: (status label, problem code or "-") -> count.
    pub problems: BTreeMap<(String, String), u64>,
    pub total: u64,
    /// Seconds since the start: first request sent, last request done.
    pub first_sent_s: Option<f64>,
    pub last_done_s: f64,
    pub reads: RecoveryClock,
    pub writes: RecoveryClock,
    /// Set once the fault command has finished; the drill phase may then move to 2.
    pub fault_done: bool,
    /// Every request by the second it completed in.
    pub timeline: Timeline,
    /// The same, per transaction group (`student`, `browse`, ...: [`group_of`]).
    pub groups: BTreeMap<String, Timeline>,
}

impl Tally {
    /// Answers with status 500 (`internal`): always a bug.
    pub fn internal_errors(&self) -> u64 {
        self.problems
            .iter()
            .filter(|((status, _), _)| status == "500")
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
impl Tally {
    /// A run of `total` requests over 5 s, watched from the start, nothing failed: for the
    /// tests of what is made of a tally.
    pub fn finished(total: u64) -> Self {
        Self {
            total,
            first_sent_s: Some(0.0),
            last_done_s: 5.0,
            reads: RecoveryClock::watch_from(0.0),
            writes: RecoveryClock::watch_from(0.0),
            ..Self::default()
        }
    }
}

/// Shared by every goose user; cheap to call from the request path.
#[derive(Debug)]
pub struct Recorder {
    start: Instant,
    metrics: LoadMetrics,
    tally: Mutex<Tally>,
}

impl Recorder {
    /// Without a drill the recovery clocks watch the whole run.
    pub fn new(metrics: LoadMetrics, drill_planned: bool) -> Self {
        let tally = Tally {
            reads: if drill_planned {
                RecoveryClock::default()
            } else {
                RecoveryClock::watch_from(0.0)
            },
            writes: if drill_planned {
                RecoveryClock::default()
            } else {
                RecoveryClock::watch_from(0.0)
            },
            ..Tally::default()
        };
        Self {
            start: Instant::now(),
            metrics,
            tally: Mutex::new(tally),
        }
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn metrics(&self) -> &LoadMetrics {
        &self.metrics
    }

    pub fn seconds_since_start(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.start).as_secs_f64()
    }

    fn tally(&self) -> MutexGuard<'_, Tally> {
        // A panic while holding the lock leaves plain counters behind; keep counting.
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault command starts now: the clocks start watching, the phase becomes 1.
    pub fn fault_started(&self) {
        let now = self.seconds_since_start(Instant::now());
        let mut tally = self.tally();
        tally.reads = RecoveryClock::watch_from(now);
        tally.writes = RecoveryClock::watch_from(now);
        self.metrics.drill_phase.set(1);
    }

    /// The fault command has finished; the phase becomes 2 once both classes have recovered.
    pub fn fault_finished(&self) {
        let mut tally = self.tally();
        tally.fault_done = true;
        self.update_phase(&tally);
    }

    fn update_phase(&self, tally: &Tally) {
        if tally.fault_done
            && self.metrics.drill_phase.get() == 1
            && tally.reads.recovered()
            && tally.writes.recovered()
        {
            self.metrics.drill_phase.set(2);
        }
    }

    /// One request attempt of `transaction`, sent at `sent`, ending now with `outcome`.
    pub fn record(&self, transaction: &str, class: RequestClass, sent: Instant, outcome: &Outcome) {
        let done = Instant::now();
        let elapsed = done.saturating_duration_since(sent);
        let status = outcome.status_label();
        self.metrics
            .requests_total
            .with_label_values(&[transaction, status.as_str()])
            .inc();
        self.metrics
            .request_duration
            .with_label_values(&[transaction])
            .observe(elapsed.as_secs_f64());

        let sent_s = self.seconds_since_start(sent);
        let done_s = self.seconds_since_start(done);
        let mut tally = self.tally();
        tally.total += 1;
        tally.first_sent_s = Some(tally.first_sent_s.map_or(sent_s, |t| t.min(sent_s)));
        tally.last_done_s = tally.last_done_s.max(done_s);
        let micros = u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX);
        tally
            .latencies_us
            .entry(transaction.to_owned())
            .or_default()
            .push(micros);
        match outcome {
            Outcome::Answered { status: s, .. } if (200..300).contains(s) => {}
            Outcome::Answered { code, .. } => {
                let code = code.clone().unwrap_or_else(|| "-".into());
                *tally.problems.entry((status, code)).or_default() += 1;
            }
            Outcome::Transport => {
                *tally.problems.entry((status, "-".into())).or_default() += 1;
            }
        }
        let ok = outcome.is_available();
        tally.timeline.record(done_s, micros, !ok);
        let group = group_of(transaction);
        match tally.groups.get_mut(group) {
            Some(timeline) => timeline.record(done_s, micros, !ok),
            None => {
                let mut timeline = Timeline::default();
                timeline.record(done_s, micros, !ok);
                tally.groups.insert(group.to_owned(), timeline);
            }
        }
        match class {
            RequestClass::Read => tally.reads.observe(sent_s, done_s, ok),
            RequestClass::Write => tally.writes.observe(sent_s, done_s, ok),
        }
        self.update_phase(&tally);
    }

    /// Runs `f` on the tally (for the summary at the end).
    pub fn with_tally<T>(&self, f: impl FnOnce(&Tally) -> T) -> T {
        f(&self.tally())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn answered(status: u16, code: Option<&str>) -> Outcome {
        Outcome::Answered {
            status,
            code: code.map(str::to_owned),
        }
    }

    #[test]
    fn counts_problems_by_status_and_code_and_flags_500s() {
        let rec = Recorder::new(LoadMetrics::new().expect("metrics"), false);
        let t = Instant::now();
        rec.record("a", RequestClass::Read, t, &answered(200, None));
        rec.record(
            "a",
            RequestClass::Write,
            t,
            &answered(409, Some("sold_out")),
        );
        rec.record(
            "a",
            RequestClass::Write,
            t,
            &answered(503, Some("service_unavailable")),
        );
        rec.record("b", RequestClass::Read, t, &answered(500, Some("internal")));
        rec.record("b", RequestClass::Read, t, &Outcome::Transport);
        rec.with_tally(|tally| {
            assert_eq!(tally.total, 5);
            assert_eq!(tally.internal_errors(), 1);
            assert_eq!(
                tally.problems.get(&("409".into(), "sold_out".into())),
                Some(&1)
            );
            assert_eq!(tally.problems.get(&("error".into(), "-".into())), Some(&1));
            assert_eq!(tally.latencies_us.get("a").map(Vec::len), Some(3));
            let second = tally.timeline.window(0, 1);
            assert_eq!((second.requests, second.failures), (5, 3));
            let groups: Vec<(&str, u64)> = tally
                .groups
                .iter()
                .map(|(g, t)| (g.as_str(), t.window(0, 1).requests))
                .collect();
            assert_eq!(groups, [("a", 3), ("b", 2)]);
            // 409 is an answer; 503, 500 and the transport error are failures.
            assert_eq!(tally.writes.failures, 1);
            assert_eq!(tally.reads.failures, 2);
        });
        let text = rec.metrics().render();
        assert!(
            text.contains("lyceum_loadtest_requests_total{status=\"error\",transaction=\"b\"} 1")
        );
    }

    #[test]
    fn drill_phase_moves_to_recovered_only_after_the_fault_and_a_success() {
        let rec = Recorder::new(LoadMetrics::new().expect("metrics"), true);
        assert_eq!(rec.metrics().drill_phase.get(), 0);
        rec.fault_started();
        assert_eq!(rec.metrics().drill_phase.get(), 1);
        rec.record(
            "w",
            RequestClass::Write,
            Instant::now(),
            &Outcome::Transport,
        );
        rec.fault_finished();
        assert_eq!(rec.metrics().drill_phase.get(), 1, "writes still broken");
        rec.record(
            "w",
            RequestClass::Write,
            Instant::now(),
            &answered(201, None),
        );
        assert_eq!(rec.metrics().drill_phase.get(), 2);
    }
}
