//! Cross-cutting HTTP behaviour: metrics by route template, the request context, the request
//! timeout, and the panic handler.

use std::{any::Any, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::HeaderName,
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

use super::error::{ApiError, REQUEST, RequestContext};
use crate::app::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route template that served a response, carried from the router to the metrics layer.
#[derive(Debug, Clone)]
struct RouteTemplate(String);

/// HTTP metrics, labelled by route template (never the raw path, so ids do not explode the
/// label set) and status.
#[derive(Debug, Clone)]
pub struct HttpMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGauge,
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

struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Outer layer: counts and times every request, and makes the request id and path available
/// to problem documents.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let metrics = &state.http_metrics;
    metrics.in_flight.inc();
    let _in_flight = InFlight(metrics.in_flight.clone());
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let context = RequestContext {
        id: req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        path: req.uri().path().to_owned(),
    };
    let response = REQUEST.scope(context, next.run(req)).await;
    let route = response
        .extensions()
        .get::<RouteTemplate>()
        .map_or("unmatched", |r| r.0.as_str());
    let status = response.status().as_u16().to_string();
    let labels = [method.as_str(), route, status.as_str()];
    metrics.requests.with_label_values(&labels).inc();
    metrics
        .duration
        .with_label_values(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

/// Route layer: bounds the handler's time and tags the response with its route template.
pub async fn per_route(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    req: Request,
    next: Next,
) -> Response {
    let template = matched.map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let limit = state.config.http.request_timeout();
    let mut response = match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    };
    response.extensions_mut().insert(RouteTemplate(template));
    response
}

/// Answers a panicking handler with a problem document instead of dropping the connection.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    tracing::error!(panic = %what, "handler panicked");
    ApiError::Panic.into_response()
}
