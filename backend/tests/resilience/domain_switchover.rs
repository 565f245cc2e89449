//! A planned switchover while career staff move applications in and out of `hired`, buyers
//! post reviews and visitors read: no answer is a 500, clients that retry 503s finish their
//! work, the hired counter still equals the hired rows, and every acknowledged review exists
//! exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::support::fixtures::{buy, purchase, user_id};
use crate::support::retry::until_not_503;
use crate::support::spawn_app;
use lyceum_db::testing::{CLUSTER, ensure_healthy, leader, stack};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn switchover_while_hiring_and_reviewing_loses_nothing_and_never_answers_500() {
    let _cluster = CLUSTER.lock().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
    let app = spawn_app("domain_switchover").await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    let support = app.staff("support@example.com", "support").await;
    let r = app
        .post(
            "/api/v1/career/companies",
            Some(&support),
            json!({"short_name": "Acme", "legal_name": "Acme Corporation Ltd"}),
        )
        .await;
    let acme = r.body["id"].as_i64().unwrap();
    let mut applications = Vec::new();
    for i in 0..6 {
        let email = format!("grad{i}@example.com");
        let token = app.register(&email).await;
        purchase(&app, &email, course, "career_track", "paid").await;
        let uid = user_id(&app, &email).await;
        let track = app
            .post(
                "/api/v1/career/tracks",
                Some(&support),
                json!({"user_id": uid, "course_id": course, "support_start": "2026-09-01"}),
            )
            .await
            .body["id"]
            .as_i64()
            .unwrap();
        let r = app
            .post(
                &format!("/api/v1/career/tracks/{track}/applications"),
                Some(&token),
                json!({"company_id": acme}),
            )
            .await;
        applications.push(r.body["id"].as_i64().unwrap());
    }
    let mut reviewers = Vec::new();
    for i in 0..80 {
        let email = format!("buyer{i}@example.com");
        reviewers.push(app.register(&email).await);
        buy(&app, &email, course).await;
    }

    let seen = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();

    // Career staff: move applications round and round, retrying 503s with the same request.
    let mover = {
        let (http, base, support) = (app.http.clone(), app.base.clone(), support.clone());
        let (seen, stop, applications) = (seen.clone(), stop.clone(), applications.clone());
        tokio::spawn(async move {
            let cycle = ["hired", "offer", "rejected", "hired", "interview"];
            let mut moves = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let application = applications[moves % applications.len()];
                let status = cycle[(moves / applications.len()) % cycle.len()];
                let url = format!("{base}/api/v1/career/applications/{application}");
                let (code, body) = until_not_503(
                    || {
                        http.patch(&url)
                            .bearer_auth(&support)
                            .json(&json!({"status": status}))
                    },
                    &seen,
                )
                .await;
                assert_eq!(code, StatusCode::OK, "{body}");
                moves += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            moves
        })
    };
    // Buyers: one review each, one after the other, retrying 503s. A retry whose first
    // attempt had committed gets 409 already_reviewed; that review must exist.
    let reviewer_task = {
        let (http, base) = (app.http.clone(), app.base.clone());
        let (seen, stop) = (seen.clone(), stop.clone());
        tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            let mut conflicted_after_retry = 0;
            for token in reviewers {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let url = format!("{base}/api/v1/courses/{course}/reviews");
                let attempts_before: usize = seen.lock().unwrap().values().sum();
                let (code, body) = until_not_503(
                    || {
                        http.post(&url)
                            .bearer_auth(&token)
                            .json(&json!({"rating": 4, "body": "during failover"}))
                    },
                    &seen,
                )
                .await;
                match code {
                    StatusCode::CREATED => acknowledged.push(body["id"].as_i64().unwrap()),
                    StatusCode::CONFLICT => {
                        assert_eq!(body["code"], "already_reviewed", "{body}");
                        let attempts: usize = seen.lock().unwrap().values().sum();
                        assert!(
                            attempts > attempts_before + 1,
                            "409 only after a retried 503"
                        );
                        conflicted_after_retry += 1;
                    }
                    other => panic!("review answered {other}: {body}"),
                }
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
            (acknowledged, conflicted_after_retry)
        })
    };
    // Visitors read lists served by both pools and the cache.
    let reader = {
        let (http, base) = (app.http.clone(), app.base.clone());
        let (seen, stop) = (seen.clone(), stop.clone());
        tokio::spawn(async move {
            let paths = [
                format!("/api/v1/courses/{course}/reviews"),
                "/api/v1/blog/posts".to_owned(),
                "/api/v1/career/companies".to_owned(),
                format!("/api/v1/courses/{course}"),
            ];
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let url = format!("{base}{}", paths[i % paths.len()]);
                let (code, body) = until_not_503(|| http.get(&url), &seen).await;
                assert_eq!(code, StatusCode::OK, "{url}: {body}");
                i += 1;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };

    tokio::time::sleep(Duration::from_secs(1)).await;
    let old_leader = tokio::task::spawn_blocking(leader).await.expect("leader");
    let switch_start = t0.elapsed();
    let report = tokio::task::spawn_blocking(|| stack(&["switchover"]))
        .await
        .expect("switchover");
    let switch_time = t0.elapsed() - switch_start;
    let new_leader = tokio::task::spawn_blocking(leader).await.expect("leader");
    assert_ne!(old_leader, new_leader, "{report}");
    tokio::time::sleep(switch_time + Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    let moves = mover.await.expect("mover");
    let (acknowledged, conflicts) = reviewer_task.await.expect("reviewers");
    reader.await.expect("reader");

    let seen = seen.lock().unwrap().clone();
    eprintln!(
        "switchover {old_leader} -> {new_leader} in {switch_time:?}: answers {seen:?}; \
         {moves} status moves, {} reviews acknowledged, {conflicts} 409 after a retried 503",
        acknowledged.len()
    );
    for code in seen.keys() {
        assert!(
            matches!(code.as_str(), "200" | "201" | "409" | "503"),
            "unexpected answer {code}: {seen:?}\n{report}"
        );
    }
    assert!(moves > 20 && acknowledged.len() > 5, "work continued");

    // Nothing lost, nothing doubled.
    let counter = app
        .scalar_i64(&format!(
            "SELECT graduates_hired::bigint FROM partner_companies WHERE id = {acme}"
        ))
        .await;
    let hired = app
        .scalar_i64("SELECT count(*) FROM job_applications WHERE status = 'hired'")
        .await;
    assert_eq!(counter, hired, "graduates_hired equals the hired rows");
    let ids = acknowledged
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        app.scalar_i64(&format!("SELECT count(*) FROM reviews WHERE id IN ({ids})"))
            .await,
        acknowledged.len() as i64,
        "every acknowledged review exists"
    );
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM reviews WHERE course_id = {course} AND body = 'during failover'"
        ))
        .await,
        (acknowledged.len() + conflicts) as i64,
        "one review per buyer that got 201 or 409"
    );
    app.stop().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
}
