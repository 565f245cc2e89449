//! The HTTP metrics: requests, latency and requests in flight, labelled by route template
//! (never the raw path, so ids do not explode the label set), method and status. Recorded by
//! [`super::middleware::observe`].

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

/// The HTTP metrics of one process.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    pub(super) requests: IntCounterVec,
    pub(super) duration: HistogramVec,
    pub(super) in_flight: IntGauge,
}

impl HttpMetrics {
    #[allow(clippy::expect_used)] // Constant metric definitions.
    pub fn new() -> Self {
        Self {
            requests: IntCounterVec::new(
                Opts::new("lyceum_http_requests_total", "HTTP requests answered."),
                &["method", "route", "status"],
            )
            .expect("valid counter"),
            duration: HistogramVec::new(
                HistogramOpts::new(
                    "lyceum_http_request_duration_seconds",
                    "Time from request to response head.",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0,
                ]),
                &["method", "route", "status"],
            )
            .expect("valid histogram"),
            in_flight: IntGauge::new(
                "lyceum_http_requests_in_flight",
                "Requests being served right now.",
            )
            .expect("valid gauge"),
        }
    }

    pub fn register(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.requests.clone()))?;
        registry.register(Box::new(self.duration.clone()))?;
        registry.register(Box::new(self.in_flight.clone()))
    }
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self::new()
    }
}
