//! Redis stops while requests flow: every request still succeeds (answered from PostgreSQL),
//! the metrics show the bypasses, and cache hits resume once Redis is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::support::{cache_lookups, run_stack, spawn_app_with};
use lyceum_db::testing::{CLUSTER, ensure_healthy, wait_until};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_succeed_while_redis_is_down_and_hits_resume_after() {
    let _cluster = CLUSTER.lock().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
    let app = spawn_app_with("cache_outage", |c| {
        c.redis.breaker_open_ms = 500;
        c.redis.op_timeout_ms = 100;
    })
    .await;
    app.seed_catalog().await;
    let id = app.course_id("Rust for backend engineers").await;
    let paths = Arc::new(vec![
        format!("/api/v1/courses/{id}"),
        "/api/v1/courses?sort=price_asc".to_owned(),
        "/api/v1/specializations".to_owned(),
    ]);
    for p in paths.iter() {
        assert_eq!(app.get(p).await.status, StatusCode::OK);
    }
    let before = app.metrics().await;
    assert_eq!(app.get(&paths[0]).await.status, StatusCode::OK);
    let warm = app.metrics().await;
    // Served from this process's copy (local_hit) or from Redis (hit), not from PostgreSQL.
    let served = |m: &str| {
        cache_lookups(m, "course_detail", "hit") + cache_lookups(m, "course_detail", "local_hit")
    };
    assert!(served(&warm) > served(&before));

    // Clients browse throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let clients: Vec<_> = (0..3)
        .map(|n| {
            let (http, base, paths) = (app.http.clone(), app.base.clone(), paths.clone());
            let (stop, ok, failures) = (stop.clone(), ok.clone(), failures.clone());
            tokio::spawn(async move {
                let mut i = n;
                while !stop.load(Ordering::Relaxed) {
                    let path = &paths[i % paths.len()];
                    i += 1;
                    match http.get(format!("{base}{path}")).send().await {
                        Ok(r) if r.status() == StatusCode::OK => {
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(r) => failures
                            .lock()
                            .expect("lock")
                            .push(format!("{path}: {}", r.status())),
                        Err(e) => failures.lock().expect("lock").push(format!("{path}: {e}")),
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_millis(300)).await;
    run_stack(&["stop-redis"]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = app.metrics().await;
    let bypasses: u64 = ["course_detail", "course_list", "lookups"]
        .iter()
        .map(|k| cache_lookups(&during, k, "bypass"))
        .sum();
    let errors: u64 = ["course_detail", "course_list", "lookups"]
        .iter()
        .map(|k| cache_lookups(&during, k, "error"))
        .sum();
    assert!(
        bypasses > 0,
        "no bypass counted while Redis was down:\n{during}"
    );
    assert!(errors > 0, "the failed calls are counted too");
    assert!(during.contains("lyceum_cache_breaker_open 1"), "{during}");

    run_stack(&["start-redis"]).await;
    // Hits come back: the breaker lets a trial through, the connection is re-established,
    // misses refill the (empty, restarted) Redis and the next reads hit.
    let hits_before = cache_lookups(&app.metrics().await, "course_detail", "hit");
    let resumed = wait_until(Duration::from_secs(20), async || {
        cache_lookups(&app.metrics().await, "course_detail", "hit") > hits_before
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }
    let failures = failures.lock().expect("lock").clone();
    assert!(failures.is_empty(), "requests failed: {failures:?}");
    assert!(ok.load(Ordering::Relaxed) > 50, "clients kept browsing");
    assert!(resumed, "cache hits did not resume after Redis came back");
    assert!(app.metrics().await.contains("lyceum_cache_breaker_open 0"));
    app.stop().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
}

/// A Redis that accepts connections and never answers (a hung server): every cache call
/// gives up after the call timeout, the breaker opens, and requests keep their usual speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_redis_costs_at_most_the_call_timeout_and_then_is_skipped() {
    // It changes nothing in the cluster, but it times requests: the other tests of this binary
    // move the leader, and a switchover inside the measurement would be read as slowness.
    let _cluster = CLUSTER.lock().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket); // read nothing, answer nothing
        }
    });
    let app = spawn_app_with("cache_hung", move |c| {
        c.redis.url = format!("redis://127.0.0.1:{port}");
        c.redis.op_timeout_ms = 100;
        c.redis.connect_timeout_ms = 100;
        c.redis.breaker_open_ms = 60_000;
    })
    .await;
    app.seed_catalog().await;
    let id = app.course_id("Rust for backend engineers").await;
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let started = std::time::Instant::now();
        let r = if i % 2 == 0 {
            app.get(&format!("/api/v1/courses/{id}")).await
        } else {
            app.get("/api/v1/courses").await
        };
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        if i >= 3 {
            slowest = slowest.max(started.elapsed());
        }
    }
    // Once the breaker is open Redis is not even tried.
    assert!(
        slowest < Duration::from_millis(500),
        "slowest request after the breaker opened: {slowest:?}"
    );
    let m = app.metrics().await;
    assert!(
        cache_lookups(&m, "course_detail", "bypass") + cache_lookups(&m, "course_list", "bypass")
            >= 10,
        "{m}"
    );
    assert!(
        cache_lookups(&m, "course_detail", "error") + cache_lookups(&m, "course_list", "error")
            >= 1,
        "{m}"
    );
    assert!(m.contains("lyceum_cache_breaker_open 1"), "{m}");
    app.stop().await;
    hold.abort();
}
