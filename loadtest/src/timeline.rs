//! Requests by the second they completed in: the load's course over time, for the progress
//! line on the console (the last ten seconds) and for the report's charts (every second).

use crate::summary::percentile;

/// One second of the run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Second {
    pub requests: u64,
    /// Requests that failed from the client's point of view: 5xx or no answer.
    pub failures: u64,
    /// Latency of every request completed in this second, microseconds.
    pub latencies_us: Vec<u32>,
}

/// Figures over a range of seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub seconds: f64,
    pub requests: u64,
    pub failures: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Window {
    pub fn requests_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Per-second buckets from the start of the run; a bucket exists for every second up to the
/// last one a request completed in.
#[derive(Debug, Default)]
pub struct Timeline {
    seconds: Vec<Second>,
}

impl Timeline {
    /// A request completed `done_s` seconds after the start, taking `latency_us`.
    pub fn record(&mut self, done_s: f64, latency_us: u32, failed: bool) {
        let i = done_s.max(0.0) as usize;
        if self.seconds.len() <= i {
            self.seconds.resize_with(i + 1, Second::default);
        }
        let s = &mut self.seconds[i];
        s.requests += 1;
        s.failures += u64::from(failed);
        s.latencies_us.push(latency_us);
    }

    pub fn seconds(&self) -> &[Second] {
        &self.seconds
    }

    /// The first `seconds` seconds from the start, each summarised (one chart's points: a
    /// group's charts span the whole run, not only the seconds the group had requests in).
    pub fn per_second(&self, seconds: usize) -> Vec<Window> {
        (0..seconds).map(|i| self.window(i, i + 1)).collect()
    }

    /// Seconds `from..to` (seconds without a request count as empty ones).
    pub fn window(&self, from: usize, to: usize) -> Window {
        let to = to.max(from);
        let slice = self
            .seconds
            .get(from.min(self.seconds.len())..to.min(self.seconds.len()));
        let slice = slice.unwrap_or(&[]);
        let mut latencies: Vec<u32> = slice
            .iter()
            .flat_map(|s| s.latencies_us.iter().copied())
            .collect();
        latencies.sort_unstable();
        let ms = |us: u32| f64::from(us) / 1000.0;
        Window {
            seconds: (to - from) as f64,
            requests: slice.iter().map(|s| s.requests).sum(),
            failures: slice.iter().map(|s| s.failures).sum(),
            p50_ms: ms(percentile(&latencies, 50.0)),
            p99_ms: ms(percentile(&latencies, 99.0)),
        }
    }
}

/// The group a transaction belongs to: its name up to the colon (`student: buy` is in
/// `student`, the journey that sends it; `auth: login` in `auth`, which every journey uses).
pub fn group_of(transaction: &str) -> &str {
    transaction
        .split_once(':')
        .map_or(transaction, |(group, _)| group)
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_group_is_the_name_up_to_the_colon() {
        assert_eq!(group_of("student: buy"), "student");
        assert_eq!(group_of("auth: login"), "auth");
        assert_eq!(group_of("healthz"), "healthz");
    }

    #[test]
    fn buckets_by_completion_second_and_summarises_a_window() {
        let mut t = Timeline::default();
        t.record(0.2, 1_000, false);
        t.record(0.9, 3_000, true);
        t.record(2.5, 2_000, false);
        assert_eq!(t.seconds().len(), 3);
        assert_eq!(
            t.seconds()[1],
            Second::default(),
            "a second without requests"
        );
        let w = t.window(0, 3);
        assert_eq!((w.requests, w.failures), (3, 1));
        assert!((w.requests_per_second() - 1.0).abs() < 1e-9);
        assert!((w.p50_ms - 2.0).abs() < 1e-9);
        assert!((w.p99_ms - 3.0).abs() < 1e-9);
        // Beyond the last request: an empty window, not a panic.
        let w = t.window(5, 15);
        assert_eq!((w.requests, w.p99_ms), (0, 0.0));
        assert_eq!(w.seconds, 10.0);
        let each = t.per_second(5);
        assert_eq!(each.len(), 5);
        assert_eq!((each[2].requests, each[4].requests), (1, 0));
        assert_eq!(
            (each[0].requests, each[0].failures, each[1].requests),
            (2, 1, 0)
        );
    }
}
