//! Sending one API request from a goose user: headers, body, recording, and the answer as JSON.
//!
//! Goose counts any non-2xx answer as a failed request in its reports. A journey lists the
//! statuses that are a normal answer for it (a 409 `sold_out` when buying, a 404 while a route
//! is still being built elsewhere); those are marked successful for goose, but the recorder
//! still sees their real status.

use std::time::Duration;

use goose::prelude::*;
use serde_json::Value;
use tokio::time::Instant;

use crate::{
    drill::RequestClass,
    recorder::{Outcome, Recorder},
};

/// One request, described.
#[derive(Debug)]
pub struct Call<'a> {
    /// The `transaction` label (metrics, summary) and the request name in goose's reports.
    pub name: &'a str,
    pub method: GooseMethod,
    pub path: String,
    pub class: RequestClass,
    pub token: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub body: Option<Value>,
    /// Non-2xx statuses that are a normal answer for this journey.
    pub expected: &'a [u16],
}

impl<'a> Call<'a> {
    pub fn get(name: &'a str, path: impl Into<String>) -> Self {
        Self {
            name,
            method: GooseMethod::Get,
            path: path.into(),
            class: RequestClass::Read,
            token: None,
            idempotency_key: None,
            body: None,
            expected: &[],
        }
    }

    /// A request that changes data (POST, PATCH, DELETE), timed as a write by the drill.
    pub fn write(name: &'a str, method: GooseMethod, path: impl Into<String>) -> Self {
        Self {
            method,
            class: RequestClass::Write,
            ..Self::get(name, path)
        }
    }

    pub fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn idempotency_key(mut self, key: &'a str) -> Self {
        self.idempotency_key = Some(key);
        self
    }

    pub fn expect(mut self, statuses: &'a [u16]) -> Self {
        self.expected = statuses;
        self
    }

    /// Overrides the class (login is a POST that writes nothing).
    pub fn class(mut self, class: RequestClass) -> Self {
        self.class = class;
        self
    }
}

/// The answer, already read.
#[derive(Debug, Clone)]
pub struct Reply {
    pub outcome: Outcome,
    /// The JSON body (`Null` when empty or not JSON).
    pub body: Value,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
}

impl Reply {
    pub fn status(&self) -> Option<u16> {
        match self.outcome {
            Outcome::Answered { status, .. } => Some(status),
            Outcome::Transport => None,
        }
    }

    pub fn is_success(&self) -> bool {
        self.status().is_some_and(|s| (200..300).contains(&s))
    }

    /// No answer, or 502–504 (unavailable, from the backend or a proxy in front of it): the
    /// request may be sent again (with the same idempotency key).
    pub fn is_retryable(&self) -> bool {
        matches!(self.status(), None | Some(502..=504))
    }

    /// The `id` of what a 2xx answer acknowledged; `None` for any other answer.
    pub fn acknowledged_id(&self) -> Option<i64> {
        if self.is_success() {
            self.body.get("id").and_then(Value::as_i64)
        } else {
            None
        }
    }

    pub fn code(&self) -> Option<&str> {
        self.body.get("code").and_then(Value::as_str)
    }
}

/// Sends `call` as `user`, records it, and returns the answer. `Err` only when goose itself
/// cannot go on (the load test is shutting down).
pub async fn send(
    user: &mut GooseUser,
    recorder: &Recorder,
    call: Call<'_>,
) -> Result<Reply, Box<TransactionError>> {
    let mut builder = user.get_request_builder(&call.method, &call.path)?;
    if let Some(token) = call.token {
        builder = builder.bearer_auth(token);
    }
    if let Some(key) = call.idempotency_key {
        builder = builder.header("Idempotency-Key", key);
    }
    if let Some(body) = &call.body {
        builder = builder.json(body);
    }
    let request = GooseRequest::builder()
        .method(call.method)
        .path(call.path.as_str())
        .name(call.name)
        .set_request_builder(builder)
        .build();
    let sent = Instant::now();
    let mut goose = user.request(request).await?;
    let (outcome, body, retry_after) = match goose.response {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            match response.text().await {
                Ok(text) => {
                    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let code = (status >= 400)
                        .then(|| body.get("code").and_then(Value::as_str).map(str::to_owned))
                        .flatten();
                    (Outcome::Answered { status, code }, body, retry_after)
                }
                // The connection broke mid-body: the client never saw the answer.
                Err(_) => (Outcome::Transport, Value::Null, None),
            }
        }
        Err(_) => (Outcome::Transport, Value::Null, None),
    };
    if let Outcome::Answered { status, .. } = outcome
        && call.expected.contains(&status)
    {
        user.set_success(&mut goose.request)?;
    }
    recorder.record(call.name, call.class, sent, &outcome);
    Ok(Reply {
        outcome,
        body,
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: Option<u16>) -> Reply {
        Reply {
            outcome: match status {
                Some(status) => Outcome::Answered { status, code: None },
                None => Outcome::Transport,
            },
            body: Value::Null,
            retry_after: None,
        }
    }

    #[test]
    fn only_unavailability_is_retried() {
        assert!(reply(None).is_retryable());
        assert!(reply(Some(503)).is_retryable());
        assert!(!reply(Some(500)).is_retryable());
        assert!(!reply(Some(409)).is_retryable());
        assert!(!reply(Some(201)).is_retryable());
        assert!(reply(Some(201)).is_success());
    }
}
