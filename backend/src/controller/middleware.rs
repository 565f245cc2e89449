//! Cross-cutting HTTP behaviour: request ids, recording each request in the HTTP metrics by
//! route template, the request context, the request timeout, and the panic handler.

use std::{
    any::Any,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use axum::{
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Response},
};
use prometheus::IntGauge;
use tower_http::request_id::{self, RequestId};

use super::error::{ApiError, REQUEST, RequestContext};
use super::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids for requests that came without one: UUID-shaped (version 4 layout), made of a
/// random per-process part and a counter. Unique, not secret, and without a `getrandom`
/// system call per request, which tower-http's `MakeRequestUuid` makes.
#[derive(Debug, Clone)]
pub struct MakeRequestId {
    process: u64,
    next: Arc<AtomicU64>,
}

impl MakeRequestId {
    pub fn new() -> Self {
        Self {
            process: rand::random(),
            next: Arc::new(AtomicU64::new(0)),
        }
    }

    fn format(&self, n: u64) -> [u8; 36] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.process.to_be_bytes());
        bytes[8..].copy_from_slice(&n.to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut at = 0;
        for (i, byte) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1; // leave the '-'
            }
            out[at] = HEX[usize::from(byte >> 4)];
            out[at + 1] = HEX[usize::from(byte & 0x0f)];
            at += 2;
        }
        out
    }
}

impl Default for MakeRequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl request_id::MakeRequestId for MakeRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_bytes(&self.format(n))
            .ok()
            .map(RequestId::new)
    }
}

/// The route template that served a response, carried from the router to the metrics layer
/// (a shared string: no copy per request).
#[derive(Debug, Clone)]
struct RouteTemplate(MatchedPath);

struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Outer layer: counts and times every request, and makes the request id and path available
/// to problem documents.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let metrics = state.http_metrics();
    metrics.in_flight.inc();
    let _in_flight = InFlight(metrics.in_flight.clone());
    let started = Instant::now();
    // Clones of parsed parts (a method is a small value, the URI and header share their
    // bytes): nothing is copied per request unless a problem document needs it.
    let method = req.method().clone();
    let context = RequestContext {
        id: req.headers().get(REQUEST_ID).cloned(),
        uri: req.uri().clone(),
    };
    let response = REQUEST.scope(context, next.run(req)).await;
    let route = response
        .extensions()
        .get::<RouteTemplate>()
        .map_or("unmatched", |r| r.0.as_str());
    let status = response.status();
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
    let limit = state.config.http.request_timeout();
    let mut response = match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    };
    if let Some(template) = matched {
        response.extensions_mut().insert(RouteTemplate(template));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_uuid_shaped_and_distinct() {
        let maker = MakeRequestId::new();
        let a = String::from_utf8(maker.format(0).to_vec()).unwrap_or_default();
        let b = String::from_utf8(maker.format(1).to_vec()).unwrap_or_default();
        assert_ne!(a, b);
        for id in [&a, &b] {
            let groups: Vec<&str> = id.split('-').collect();
            let lengths: Vec<usize> = groups.iter().map(|g| g.len()).collect();
            assert_eq!(lengths, [8, 4, 4, 4, 12], "{id}");
            assert!(
                id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
                "{id}"
            );
            assert!(groups[2].starts_with('4'), "version 4: {id}");
            assert!(
                matches!(&groups[3][..1], "8" | "9" | "a" | "b"),
                "variant: {id}"
            );
        }
        let other = MakeRequestId::new();
        assert_ne!(a.as_bytes(), other.format(0), "processes differ");
    }
}
