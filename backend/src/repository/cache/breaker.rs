//! The circuit breaker in front of Redis: after `threshold` consecutive failures, calls skip
//! Redis for `open_for`, then one trial call decides whether it closes again.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

/// Consecutive-failure circuit breaker with a single trial call after the open period.
#[derive(Debug)]
pub(super) struct Breaker {
    state: Mutex<BreakerState>,
    threshold: u32,
    open_for: Duration,
}

#[derive(Debug, Default)]
struct BreakerState {
    failures: u32,
    open_until: Option<Instant>,
    trial_in_flight: bool,
}

impl Breaker {
    pub(super) fn new(threshold: u32, open_for: Duration) -> Self {
        Self {
            state: Mutex::default(),
            threshold,
            open_for,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        // A panic while holding this lock leaves plain counters behind; keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a call may go to Redis now.
    pub(super) fn allow(&self) -> bool {
        let mut s = self.lock();
        match s.open_until {
            None => true,
            Some(until) if Instant::now() < until => false,
            Some(_) if s.trial_in_flight => false,
            Some(_) => {
                s.trial_in_flight = true;
                true
            }
        }
    }

    /// Returns true when this success closed an open breaker.
    pub(super) fn success(&self) -> bool {
        let mut s = self.lock();
        let was_open = s.open_until.is_some();
        *s = BreakerState::default();
        was_open
    }

    /// Returns true when this failure opened the breaker.
    pub(super) fn failure(&self) -> bool {
        let mut s = self.lock();
        s.failures += 1;
        let reopen = s.trial_in_flight || s.failures >= self.threshold;
        if reopen {
            let newly = s.open_until.is_none();
            s.open_until = Some(Instant::now() + self.open_for);
            s.trial_in_flight = false;
            return newly;
        }
        false
    }

    pub(super) fn is_open(&self) -> bool {
        self.lock().open_until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_after_threshold_and_lets_one_trial_through() {
        let b = Breaker::new(2, Duration::from_millis(30));
        assert!(b.allow());
        assert!(!b.failure());
        assert!(b.failure(), "second consecutive failure opens");
        assert!(!b.allow(), "open: skip Redis");
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow(), "one trial after the open period");
        assert!(!b.allow(), "only one trial at a time");
        assert!(
            !b.failure(),
            "failed trial keeps it open (not newly opened)"
        );
        assert!(!b.allow());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.allow());
        assert!(b.success(), "successful trial closes it");
        assert!(b.allow() && b.allow());
    }
}
