//! Prometheus metrics for the pools: state read at scrape time, plus counters and latency.

use deadpool_postgres::Pool;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    core::{Collector, Desc},
    proto::MetricFamily,
};

/// Counters and histograms fed by [`crate::Db`] on every operation.
#[derive(Debug, Clone)]
pub struct DbMetrics {
    /// Retries after a transient error, by pool and reason.
    pub retries: IntCounterVec,
    /// Operations that gave up with a transient error after spending their budget.
    pub retry_exhausted: IntCounterVec,
    /// Failed attempts by pool and class (a transient reason or `permanent`).
    pub errors: IntCounterVec,
    /// Connections thrown away instead of returned to the pool, by reason.
    pub discarded: IntCounterVec,
    /// Time per attempt: pool checkout plus the operation itself.
    pub operation_seconds: HistogramVec,
}

impl DbMetrics {
    #[allow(clippy::expect_used)] // The metric definitions are constants; failing here is a programming error.
    pub fn new() -> Self {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter definition")
        };
        Self {
            retries: counter(
                "lyceum_db_retries_total",
                "Retries after a transient database error.",
                &["pool", "reason"],
            ),
            retry_exhausted: counter(
                "lyceum_db_retry_exhausted_total",
                "Operations that ran out of retry budget.",
                &["pool", "reason"],
            ),
            errors: counter(
                "lyceum_db_errors_total",
                "Failed database attempts by class.",
                &["pool", "class"],
            ),
            discarded: counter(
                "lyceum_db_connections_discarded_total",
                "Pooled connections thrown away after an error that implicates the connection.",
                &["pool", "reason"],
            ),
            operation_seconds: HistogramVec::new(
                HistogramOpts::new(
                    "lyceum_db_operation_duration_seconds",
                    "Duration of one database attempt, checkout included.",
                )
                .buckets(vec![
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ]),
                &["pool"],
            )
            .expect("valid histogram definition"),
        }
    }

    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.retries.clone()))?;
        registry.register(Box::new(self.retry_exhausted.clone()))?;
        registry.register(Box::new(self.errors.clone()))?;
        registry.register(Box::new(self.discarded.clone()))?;
        registry.register(Box::new(self.operation_seconds.clone()))
    }
}

impl Default for DbMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Pool gauges computed from `Pool::status()` when Prometheus scrapes, so they are never stale.
#[derive(Debug)]
pub struct PoolCollector {
    pools: Vec<(&'static str, Pool)>,
    connections: IntGaugeVec,
    waiting: IntGaugeVec,
    max_size: IntGaugeVec,
}

impl PoolCollector {
    #[allow(clippy::expect_used)] // Constant metric definitions.
    pub fn new(pools: Vec<(&'static str, Pool)>) -> Self {
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge definition")
        };
        Self {
            pools,
            connections: gauge(
                "lyceum_db_pool_connections",
                "Open pooled connections by state (idle or in_use).",
                &["pool", "state"],
            ),
            waiting: gauge(
                "lyceum_db_pool_waiting",
                "Callers waiting for a pooled connection.",
                &["pool"],
            ),
            max_size: gauge(
                "lyceum_db_pool_max_size",
                "Configured maximum pool size.",
                &["pool"],
            ),
        }
    }
}

impl Collector for PoolCollector {
    fn desc(&self) -> Vec<&Desc> {
        [&self.connections, &self.waiting, &self.max_size]
            .into_iter()
            .flat_map(|g| g.desc())
            .collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        for (name, pool) in &self.pools {
            let status = pool.status();
            let idle = status.available as i64;
            let size = status.size as i64;
            self.connections
                .with_label_values(&[name, "idle"])
                .set(idle);
            self.connections
                .with_label_values(&[name, "in_use"])
                .set(size - idle);
            self.waiting
                .with_label_values(&[name])
                .set(status.waiting as i64);
            self.max_size
                .with_label_values(&[name])
                .set(status.max_size as i64);
        }
        [&self.connections, &self.waiting, &self.max_size]
            .into_iter()
            .flat_map(|g| g.collect())
            .collect()
    }
}
