//! The constant-rate client of `scripts/bench-api`: sends `GET <url>` at a fixed rate for a
//! fixed time, whether or not earlier answers came back (an open loop, unlike wrk, whose
//! closed loop slows down with the server and so hides queueing). Each latency is measured
//! from the moment the pacing loop released the request, before it waits for a free
//! connection, so a server stall counts in full for every request queued behind it (no
//! coordinated omission). Not from the exact due time: Tokio's timers wake with millisecond
//! granularity, which would add up to 1 ms of this client's own lateness to every request.
//! Prints one line: `sent ok p50_ms p90_ms p99_ms max_ms`.
//!
//! With `max` for the rate it runs a closed loop instead (each connection sends its next
//! request when the last is answered) and prints `sent ok rate`: the saturating rate of this
//! client and the server together on the machine they share, which is what "half the
//! saturating rate" is taken of.
//!
//! Usage: `bench_paced <url> <requests per second | max> <seconds> [connections]`.

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
            let rate = if rate == "max" {
                Ok(f64::INFINITY)
            } else {
                rate.parse::<f64>()
            };
            match (rate, secs.parse::<f64>(), conns) {
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
    if rate.is_infinite() {
        return closed_loop(client, url, seconds, connections).await;
    }
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
        let released = Instant::now();
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
            let ms = released.elapsed().as_secs_f64() * 1000.0;
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

/// `connections` loops, each sending its next request as soon as the last is answered.
async fn closed_loop(
    client: reqwest::Client,
    url: String,
    seconds: f64,
    connections: usize,
) -> ExitCode {
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(seconds);
    let loops: Vec<_> = (0..connections)
        .map(|_| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                let (mut sent, mut ok) = (0u64, 0u64);
                while Instant::now() < until {
                    sent += 1;
                    if let Ok(resp) = client.get(&url).send().await
                        && resp.status().is_success()
                        && resp.bytes().await.is_ok()
                    {
                        ok += 1;
                    }
                }
                (sent, ok)
            })
        })
        .collect();
    let (mut sent, mut ok) = (0, 0);
    for l in loops {
        if let Ok((s, o)) = l.await {
            sent += s;
            ok += o;
        }
    }
    let rate = ok as f64 / start.elapsed().as_secs_f64();
    println!("{sent} {ok} {rate:.1}");
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: bench_paced <url> <requests per second | max> <seconds> [connections (default 64)]"
    );
    ExitCode::from(2)
}
