//! The load generator's own Prometheus metrics (names fixed by the contract in docs/LOADTEST.md)
//! and the small HTTP server that exposes them on `--metrics-addr`.

use std::net::SocketAddr;

use axum::{Router, http::header, response::IntoResponse, routing::get};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Client-side latency buckets, seconds: sub-millisecond cache hits up to failover stalls.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The four collectors of the contract, registered in their own registry.
#[derive(Debug, Clone)]
pub struct LoadMetrics {
    registry: Registry,
    /// `lyceum_loadtest_requests_total{transaction,status}`; status is the HTTP code or `error`.
    pub requests_total: IntCounterVec,
    /// `lyceum_loadtest_request_duration_seconds{transaction}`.
    pub request_duration: HistogramVec,
    /// `lyceum_loadtest_users_active`.
    pub users_active: IntGauge,
    /// `lyceum_loadtest_drill_phase`: 0 before, 1 fault injected and not recovered, 2 recovered.
    pub drill_phase: IntGauge,
}

impl LoadMetrics {
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests_total = IntCounterVec::new(
            Opts::new(
                "lyceum_loadtest_requests_total",
                "Requests sent by the load generator, by transaction and HTTP status (`error`: no response).",
            ),
            &["transaction", "status"],
        )?;
        let request_duration = HistogramVec::new(
            HistogramOpts::new(
                "lyceum_loadtest_request_duration_seconds",
                "Client-side request latency (until the body is read), by transaction.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["transaction"],
        )?;
        let users_active = IntGauge::new(
            "lyceum_loadtest_users_active",
            "Simulated users currently running.",
        )?;
        let drill_phase = IntGauge::new(
            "lyceum_loadtest_drill_phase",
            "Failover drill: 0 before, 1 while the fault is injected and not yet recovered, 2 after recovery.",
        )?;
        registry.register(Box::new(requests_total.clone()))?;
        registry.register(Box::new(request_duration.clone()))?;
        registry.register(Box::new(users_active.clone()))?;
        registry.register(Box::new(drill_phase.clone()))?;
        Ok(Self {
            registry,
            requests_total,
            request_duration,
            users_active,
            drill_phase,
        })
    }

    /// The Prometheus text exposition of every collector.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Binds `addr` now (so a taken port fails the run before any load) and serves `GET /metrics`
    /// until the process ends.
    pub async fn serve(&self, addr: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let metrics = self.clone();
        let app = Router::new().route(
            "/metrics",
            get(move || {
                let metrics = metrics.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        metrics.render(),
                    )
                        .into_response()
                }
            }),
        );
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                eprintln!("lyceum-loadtest: the metrics server stopped: {err}");
            }
        });
        Ok(bound)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    #[test]
    fn exposes_exactly_the_contract_names() {
        let m = LoadMetrics::new().expect("metrics");
        m.requests_total.with_label_values(&["x", "200"]).inc();
        m.request_duration.with_label_values(&["x"]).observe(0.01);
        let text = m.render();
        for name in [
            "lyceum_loadtest_requests_total{status=\"200\",transaction=\"x\"} 1",
            "lyceum_loadtest_request_duration_seconds_bucket",
            "lyceum_loadtest_users_active 0",
            "lyceum_loadtest_drill_phase 0",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
    }
}
