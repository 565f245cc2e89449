//! A well-behaved client through a failover: what the drills in `resilience` send with.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, sync::Mutex, time::Duration};

use reqwest::{RequestBuilder, StatusCode};
use serde_json::Value;

/// Sends the request built by `make` until it gets an answer other than 503 (or a transport
/// error), 100 ms apart, at most 300 times; every answer is counted in `seen` by status.
pub async fn until_not_503(
    make: impl Fn() -> RequestBuilder,
    seen: &Mutex<BTreeMap<String, usize>>,
) -> (StatusCode, Value) {
    for _ in 0..300 {
        let outcome = make().send().await;
        let key = match &outcome {
            Ok(r) => r.status().as_str().to_owned(),
            Err(_) => "transport error".to_owned(),
        };
        *seen.lock().unwrap().entry(key).or_default() += 1;
        match outcome {
            Ok(r) if r.status() != StatusCode::SERVICE_UNAVAILABLE => {
                let status = r.status();
                return (status, r.json().await.unwrap_or_default());
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("still 503 after 300 attempts");
}
