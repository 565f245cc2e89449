//! The constant-rate client of `scripts/bench-api`: sends `GET <url>` at a fixed rate for a
//! fixed time, whether or not earlier answers came back (an open loop, unlike wrk, whose
//! closed loop slows down with the server and so hides queueing). Each latency is measured
//! from the moment the request was *due*, so a stall on either side counts in full
//! (no coordinated omission). Prints one line: `sent ok p50_ms p90_ms p99_ms max_ms`.
//!
//! Usage: `bench_paced <url> <requests per second> <seconds> [connections]`.

use std::{
    process::ExitCode,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (url, rate, seconds, connections) = match args.as_slice() {
        [_, url, rate, secs, rest @ ..] if rest.len() <= 1 => {
            let conns = rest.first().map_or(Ok(64), |c| c.parse::<usize>());
            match (rate.parse::<f64>(), secs.parse::<f64>(), conns) {
                (Ok(r), Ok(s), Ok(c)) if r > 0.0 && s > 0.0 && c > 0 => (url.clone(), r, s, c),
                _ => return usage(),
            }
        }
        _ => return usage(),
    };
    let client = match reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(err) => {
            eprintln!("bench_paced: {err}");
            return ExitCode::FAILURE;
        }
    };
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let ok = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let limit = Arc::new(tokio::sync::Semaphore::new(connections));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let total = (rate * seconds).round() as u64;
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let (client, url, latencies, ok, limit) = (
            client.clone(),
            url.clone(),
            latencies.clone(),
            ok.clone(),
            limit.clone(),
        );
        tasks.push(tokio::spawn(async move {
            // At most `connections` in flight, like a load tool's connection count; a request
            // waiting for a free connection is late, and that wait is part of its latency.
            let Ok(_permit) = limit.acquire().await else {
                return;
            };
            let answered = match client.get(&url).send().await {
                Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
                Err(_) => false,
            };
            let ms = due.elapsed().as_secs_f64() * 1000.0;
            if answered {
                ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            latencies.lock().unwrap_or_else(|e| e.into_inner()).push(ms);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let mut all = std::mem::take(&mut *latencies.lock().unwrap_or_else(|e| e.into_inner()));
    all.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if all.is_empty() {
            return 0.0;
        }
        let rank = ((p / 100.0) * all.len() as f64).ceil() as usize;
        all[rank.clamp(1, all.len()) - 1]
    };
    println!(
        "{total} {} {:.3} {:.3} {:.3} {:.3}",
        ok.load(std::sync::atomic::Ordering::Relaxed),
        pct(50.0),
        pct(90.0),
        pct(99.0),
        pct(100.0)
    );
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: bench_paced <url> <requests per second> <seconds> [connections (default 64)]"
    );
    ExitCode::from(2)
}
