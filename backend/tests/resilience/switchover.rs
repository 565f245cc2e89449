//! A planned switchover while clients browse (and staff edit): no answer is a 5xx other than
//! 503, and reads recover within the switchover time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::support::spawn_app_with;
use lyceum_db::testing::{CLUSTER, ensure_healthy, leader, stack};
use reqwest::StatusCode;
use serde_json::json;

#[derive(Debug, Clone)]
struct Outcome {
    at: Duration,
    write: bool,
    status: Option<u16>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switchover_while_browsing_gives_only_503s_and_reads_recover() {
    let _cluster = CLUSTER.lock().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
    // No cache: every read must go through the database during the switchover.
    let app = spawn_app_with("switchover", |c| c.redis.enabled = false).await;
    app.seed_catalog().await;
    let admin = app.staff("admin@example.com", "admin").await;
    let id = app.course_id("Rust for backend engineers").await;
    let read_paths = Arc::new(vec![
        format!("/api/v1/courses/{id}"),
        "/api/v1/courses?q=postgresql".to_owned(),
        "/api/v1/courses?sort=price_desc&page_size=2".to_owned(),
        "/api/v1/teachers".to_owned(),
        "/api/v1/specializations".to_owned(),
    ]);

    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Vec::<Outcome>::new()));
    let mut clients = Vec::new();
    for n in 0..4usize {
        let (http, base, paths) = (app.http.clone(), app.base.clone(), read_paths.clone());
        let (stop, outcomes, admin) = (stop.clone(), outcomes.clone(), admin.clone());
        clients.push(tokio::spawn(async move {
            let mut i = n;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                // Client 0 also edits the course now and then.
                let write = n == 0 && i % 5 == 0;
                let req = if write {
                    http.patch(format!("{base}/api/v1/courses/{id}"))
                        .bearer_auth(&admin)
                        .json(&json!({"price": 50_000 + (i % 1000) as i64}))
                } else {
                    http.get(format!("{base}{}", paths[i % paths.len()]))
                };
                let status = req.send().await.ok().map(|r| r.status().as_u16());
                outcomes.lock().expect("lock").push(Outcome {
                    at: t0.elapsed(),
                    write,
                    status,
                });
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(1)).await;
    let old_leader = tokio::task::spawn_blocking(leader).await.expect("leader");
    let switch_start = t0.elapsed();
    let report = tokio::task::spawn_blocking(|| stack(&["switchover"]))
        .await
        .expect("switchover");
    let switch_end = t0.elapsed();
    let switch_time = switch_end - switch_start;
    let new_leader = tokio::task::spawn_blocking(leader).await.expect("leader");
    assert_ne!(old_leader, new_leader, "{report}");
    // Keep browsing for as long again as the switchover took, then a little.
    tokio::time::sleep(switch_time + Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client");
    }

    let outcomes = outcomes.lock().expect("lock").clone();
    let bad: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| !matches!(o.status, Some(200 | 503)))
        .collect();
    assert!(
        bad.is_empty(),
        "answers other than 200/503: {bad:?}\n{report}"
    );
    let reads: Vec<&Outcome> = outcomes.iter().filter(|o| !o.write).collect();
    let failed_reads: Vec<&Outcome> = reads
        .iter()
        .copied()
        .filter(|o| o.status != Some(200))
        .collect();
    let last_failed_read = failed_reads.iter().map(|o| o.at).max();
    if let Some(last) = last_failed_read {
        let recovered_after = last.saturating_sub(switch_start);
        assert!(
            recovered_after <= switch_time + Duration::from_secs(1),
            "reads failed until {recovered_after:?} after the switchover began, which took {switch_time:?}"
        );
    }
    let reads_after: Vec<&&Outcome> = reads.iter().filter(|o| o.at > switch_end).collect();
    assert!(
        reads_after.len() > 20,
        "reads continued after the switchover"
    );
    assert!(
        reads_after
            .iter()
            .rev()
            .take(20)
            .all(|o| o.status == Some(200))
    );
    eprintln!(
        "switchover {old_leader} -> {new_leader} in {switch_time:?}: {} requests, {} reads failed (503), {} writes, {} writes 503",
        outcomes.len(),
        failed_reads.len(),
        outcomes.iter().filter(|o| o.write).count(),
        outcomes
            .iter()
            .filter(|o| o.write && o.status == Some(503))
            .count(),
    );

    // Writes work again on the new leader, and the service reports ready.
    let r = app
        .patch(
            &format!("/api/v1/courses/{id}"),
            Some(&admin),
            json!({"price": 42}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(app.get("/readyz").await.status, StatusCode::OK);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("lyceum_db_operation_duration_seconds"),
        "{metrics}"
    );
    app.stop().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
}
