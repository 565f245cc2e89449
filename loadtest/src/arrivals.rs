//! Open-loop pacing (`--rate`): transactions start on a fixed schedule, one every 1/rate
//! seconds across all users, whatever the answers' speed. In the closed loop (the default) a
//! user sends its next request only after the last answer, so a slow server is sent fewer
//! requests and its slowness hides behind them. Here the users are a pool that serves the
//! schedule: a free user takes the next due start; when none is free, the starts fall behind.
//! A start more than `MAX_LAG` late is dropped and counted (as k6's constant-arrival-rate
//! does), so a backlog never turns into a burst, and the report shows what the server could
//! not take: dropped starts and how late the others began.

use std::{
    ops::Range,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use serde::Serialize;
use tokio::time::Instant;

use crate::summary::TransactionStats;

/// A start later than this is dropped rather than run late.
pub const MAX_LAG: Duration = Duration::from_secs(1);

/// The shared schedule of transaction starts.
#[derive(Debug)]
pub struct Arrivals {
    rate: f64,
    start: Instant,
    interval: Duration,
    /// Starts due in this window (since `start`) are counted: the ramps are not.
    counted: Range<Duration>,
    /// Starts taken so far (the next one's number).
    taken: AtomicU64,
    tally: Mutex<ArrivalTally>,
}

#[derive(Debug, Default)]
struct ArrivalTally {
    scheduled: u64,
    dropped: u64,
    lags_us: Vec<u32>,
}

/// The schedule's figures, for the summary and `drill.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArrivalStats {
    /// Transaction starts per second asked for.
    pub rate: f64,
    /// Starts due at full load (ramp-up and ramp-down left out).
    pub scheduled: u64,
    /// Of those, dropped: no user was free within `MAX_LAG` (1 s) of their time.
    pub dropped: u64,
    /// How late the others started, from their due time (ms).
    pub lag_p50_ms: f64,
    pub lag_p99_ms: f64,
    pub lag_max_ms: f64,
}

impl Arrivals {
    /// `rate` starts per second from `start`; those due within `counted` are reported.
    pub fn new(rate: f64, start: Instant, counted: Range<Duration>) -> Self {
        Self {
            rate,
            start,
            interval: Duration::from_secs_f64(1.0 / rate),
            counted,
            taken: AtomicU64::new(0),
            tally: Mutex::new(ArrivalTally::default()),
        }
    }

    /// Waits for this user's next start: the earliest due one not taken, dropping those
    /// already over `MAX_LAG` late.
    pub async fn next(&self) {
        let due = self.claim(Instant::now());
        tokio::time::sleep_until(due).await;
    }

    /// Takes the earliest start not taken that is at most `MAX_LAG` late at `now` (counting
    /// it and those dropped on the way), and answers when it is due.
    fn claim(&self, now: Instant) -> Instant {
        loop {
            let k = self.taken.fetch_add(1, Ordering::Relaxed);
            let since_start = self.interval.mul_f64(k as f64);
            let due = self.start + since_start;
            let lag = now.saturating_duration_since(due);
            let dropped = lag > MAX_LAG;
            if self.counted.contains(&since_start) {
                let mut t = self.tally.lock().expect("arrival tally");
                t.scheduled += 1;
                if dropped {
                    t.dropped += 1;
                } else {
                    t.lags_us
                        .push(u32::try_from(lag.as_micros()).unwrap_or(u32::MAX));
                }
            }
            if !dropped {
                return due;
            }
        }
    }

    pub fn stats(&self) -> ArrivalStats {
        let t = self.tally.lock().expect("arrival tally");
        // The lags' percentiles as the summary computes a transaction's latencies.
        let lag = TransactionStats::from_samples("start lag", &t.lags_us, 0.0);
        ArrivalStats {
            rate: self.rate,
            scheduled: t.scheduled,
            dropped: t.dropped,
            lag_p50_ms: lag.p50_ms,
            lag_p99_ms: lag.p99_ms,
            lag_max_ms: lag.max_ms,
        }
    }
}

impl ArrivalStats {
    /// The summary's line.
    pub fn line(&self) -> String {
        format!(
            "Arrivals (open loop): {:.1}/s asked; {} due at full load, {} dropped (no user free within {} s); started late by p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.rate,
            self.scheduled,
            self.dropped,
            MAX_LAG.as_secs(),
            self.lag_p50_ms,
            self.lag_p99_ms,
            self.lag_max_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: Range<Duration> = Duration::ZERO..Duration::from_secs(3600);
    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn idle_users_start_on_the_schedule() {
        let t0 = Instant::now();
        let a = Arrivals::new(10.0, t0, ALL);
        // Five users free at once: each waits for its own start, 100 ms apart.
        let dues: Vec<Duration> = (0..5).map(|_| a.claim(t0) - t0).collect();
        assert_eq!(dues, [ms(0), ms(100), ms(200), ms(300), ms(400)]);
        let s = a.stats();
        assert_eq!((s.scheduled, s.dropped, s.lag_max_ms), (5, 0, 0.0));
    }

    #[test]
    fn a_busy_pool_starts_late_then_drops_what_is_over_a_second_late() {
        let t0 = Instant::now();
        let a = Arrivals::new(10.0, t0, ALL);
        assert_eq!(a.claim(t0), t0);
        // The only user was busy until 0.5 s: the start due at 0.1 s begins 0.4 s late.
        assert_eq!(a.claim(t0 + ms(500)), t0 + ms(100));
        assert_eq!(a.stats().lag_max_ms, 400.0);
        // Then busy until 2.5 s: the starts due at 0.2 ..= 1.4 s are over 1 s late and
        // dropped; the one due at 1.5 s begins 1.0 s late.
        assert_eq!(a.claim(t0 + ms(2500)), t0 + ms(1500));
        let s = a.stats();
        assert_eq!((s.scheduled, s.dropped), (16, 13));
        assert_eq!(s.lag_max_ms, 1000.0);
        // Free again at once: the start due at 1.6 s, already past.
        assert_eq!(a.claim(t0 + ms(2500)), t0 + ms(1600));
    }

    #[test]
    fn the_ramps_are_not_counted() {
        let t0 = Instant::now();
        let a = Arrivals::new(10.0, t0, Duration::from_secs(1)..Duration::from_secs(2));
        for _ in 0..25 {
            a.claim(t0);
        }
        // Starts due at 1.0 .. 1.9 s: ten of the 25.
        assert_eq!(a.stats().scheduled, 10);
    }

    #[test]
    fn the_line_names_rate_drops_and_lag() {
        let a = Arrivals::new(50.0, Instant::now(), ALL);
        let line = a.stats().line();
        assert!(
            line.starts_with("Arrivals (open loop): 50.0/s asked; 0 due"),
            "{line}"
        );
    }
}
