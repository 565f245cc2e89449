//! The baseline of `scripts/bench-api`: the smallest axum service that answers
//! `GET /api/v1/courses/{id}` with fixed bytes (a course page captured from the real backend),
//! on the same axum and Tokio versions, runtime and release profile as `lyceum-backend`.
//! Whatever the backend spends beyond this per cached page is its own overhead.
//!
//! Usage: `bench_baseline <bind address> <file with the response body>`.

use std::{net::SocketAddr, process::ExitCode};

use axum::{Router, body::Bytes, http::header, response::IntoResponse, routing::get};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, bind, body_file] = args.as_slice() else {
        eprintln!("usage: bench_baseline <bind address> <file with the response body>");
        return ExitCode::from(2);
    };
    let Ok(bind) = bind.parse::<SocketAddr>() else {
        eprintln!("bench_baseline: {bind:?} is not an address like 127.0.0.1:8080");
        return ExitCode::from(2);
    };
    let body = match std::fs::read(body_file) {
        Ok(b) => Bytes::from(b),
        Err(err) => {
            eprintln!("bench_baseline: cannot read {body_file}: {err}");
            return ExitCode::from(2);
        }
    };
    let app = Router::new().route(
        "/api/v1/courses/{id}",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() }
        }),
    );
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(l) => l,
        Err(err) => {
            eprintln!("bench_baseline: cannot bind {bind}: {err}");
            return ExitCode::FAILURE;
        }
    };
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("bench_baseline: {err}");
            ExitCode::FAILURE
        }
    }
}
