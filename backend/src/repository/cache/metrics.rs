//! The cache's counters: lookups and writes by result, and whether the breaker is open.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// Counters for every cache decision.
#[derive(Debug, Clone)]
pub struct CacheMetrics {
    /// Lookups by key kind and result: hit, miss, error, bypass.
    pub lookups: IntCounterVec,
    /// Stores and invalidations by operation and result: ok, error, bypass.
    pub writes: IntCounterVec,
    /// 1 while the breaker skips Redis.
    pub breaker_open: IntGauge,
}

impl CacheMetrics {
    #[allow(clippy::expect_used)] // Constant metric definitions.
    pub(super) fn new() -> Self {
        Self {
            lookups: IntCounterVec::new(
                Opts::new(
                    "lyceum_cache_lookups_total",
                    "Cache lookups by key kind and result (hit, miss, error, bypass).",
                ),
                &["kind", "result"],
            )
            .expect("valid counter"),
            writes: IntCounterVec::new(
                Opts::new(
                    "lyceum_cache_writes_total",
                    "Cache stores and invalidations by operation and result (ok, error, bypass).",
                ),
                &["op", "result"],
            )
            .expect("valid counter"),
            breaker_open: IntGauge::new(
                "lyceum_cache_breaker_open",
                "1 while the circuit breaker skips Redis.",
            )
            .expect("valid gauge"),
        }
    }

    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.lookups.clone()))?;
        registry.register(Box::new(self.writes.clone()))?;
        registry.register(Box::new(self.breaker_open.clone()))
    }
}
