//! The review queue through a planned switchover: a claim acknowledged before it is still held
//! after it, and a reviewer who claims and accepts all through it (retrying 503s) loses no
//! acknowledged acceptance, never gets the held submission, and never sees a 500.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::BTreeMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::support::fixtures::{buy, user_id};
use crate::support::retry::until_not_503;
use crate::support::spawn_app;
use lyceum_db::testing::{CLUSTER, ensure_healthy, leader, stack};
use reqwest::StatusCode;
use serde_json::json;

const STUDENTS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_claim_made_before_a_switchover_is_held_after_it_and_no_acceptance_is_lost() {
    let _cluster = CLUSTER.lock().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
    let app = spawn_app("learning_switchover").await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    let project = app
        .scalar_i64(&format!(
            "SELECT p.id FROM projects p JOIN topics t ON t.id = p.topic_id \
              WHERE t.course_id = {course} ORDER BY t.position, p.id LIMIT 1"
        ))
        .await;
    let admin = app.staff("admin@queue.test", "admin").await;
    let mut reviewers = vec![];
    for name in ["holder", "worker"] {
        let email = format!("{name}@queue.test");
        let token = app.staff(&email, "reviewer").await;
        let id = user_id(&app, &email).await;
        let r = app
            .put(
                &format!("/api/v1/courses/{course}/staff/reviewer/{id}"),
                Some(&admin),
                json!({}),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        reviewers.push((id, token));
    }
    let [(holder_id, holder), (worker_id, worker)] = <[_; 2]>::try_from(reviewers).unwrap();
    for (i, (_, token)) in app.students("queued", STUDENTS).await.iter().enumerate() {
        buy(&app, &format!("queued{i}@example.com"), course).await;
        let r = app
            .post(
                &format!("/api/v1/courses/{course}/submissions"),
                Some(token),
                json!({"project_id": project, "repository_url": format!("https://git.example/q/{i}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let claim_url = app.url("/api/v1/review-queue/claim");
    let held = app
        .post("/api/v1/review-queue/claim", Some(&holder), json!({}))
        .await;
    assert_eq!(held.status, StatusCode::OK, "{}", held.body);
    let held_id = held.body["id"].as_i64().unwrap();

    // The worker claims and accepts, slowly, until the queue is empty.
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let progress = Arc::new(AtomicUsize::new(0));
    let work = {
        let progress = Arc::clone(&progress);
        let (http, base, seen, claim_url) = (
            app.http.clone(),
            app.url(""),
            Arc::clone(&seen),
            claim_url.clone(),
        );
        let worker = worker.clone();
        tokio::spawn(async move {
            let mut accepted = vec![];
            loop {
                let (code, body) =
                    until_not_503(|| http.post(&claim_url).bearer_auth(&worker), &seen).await;
                if code == StatusCode::NO_CONTENT {
                    return accepted;
                }
                assert_eq!(code, StatusCode::OK, "{body}");
                let id = body["id"].as_i64().unwrap();
                let url = format!("{base}/api/v1/submissions/{id}/accept");
                let (code, body) = until_not_503(
                    || http.post(&url).bearer_auth(&worker).json(&json!({})),
                    &seen,
                )
                .await;
                assert_eq!(code, StatusCode::OK, "{body}");
                accepted.push(id);
                progress.store(accepted.len(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    tokio::time::sleep(Duration::from_millis(500)).await;
    let old_leader = tokio::task::spawn_blocking(leader).await.expect("leader");
    let report = tokio::task::spawn_blocking(|| stack(&["switchover"]))
        .await
        .expect("switchover");
    let new_leader = tokio::task::spawn_blocking(leader).await.expect("leader");
    assert_ne!(old_leader, new_leader, "{report}");
    let done_at_switch = progress.load(Ordering::Relaxed);
    assert!(
        done_at_switch < STUDENTS - 1,
        "the worker was still at work when the switchover ended"
    );

    // The claim acknowledged before the switchover is still the holder's.
    let (code, again) =
        until_not_503(|| app.http.post(&claim_url).bearer_auth(&holder), &seen).await;
    assert_eq!(code, StatusCode::OK, "{again}");
    assert_eq!(again["id"], held_id, "the claim survived the switchover");
    let accepted = work.await.expect("worker");
    let seen = seen.lock().unwrap().clone();
    eprintln!(
        "switchover {old_leader} -> {new_leader}: answers {seen:?}; {} accepted by the worker, \
         {done_at_switch} of them before the switchover ended",
        accepted.len()
    );
    for code in seen.keys() {
        assert!(
            matches!(code.as_str(), "200" | "204" | "503" | "transport error"),
            "unexpected answer {code}: {seen:?}\n{report}"
        );
    }
    assert!(
        !accepted.contains(&held_id),
        "the held one was never handed out"
    );
    assert_eq!(accepted.len(), STUDENTS - 1, "the worker emptied the queue");
    let ids = accepted
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM submissions WHERE id IN ({ids}) \
               AND status = 'accepted' AND reviewed_by = {worker_id}"
        ))
        .await,
        accepted.len() as i64,
        "every acknowledged acceptance holds"
    );
    assert_eq!(
        app.scalar_i64(&format!(
            "SELECT count(*) FROM submissions WHERE id = {held_id} \
               AND status = 'in_review' AND claimed_by = {holder_id}"
        ))
        .await,
        1
    );
    app.stop().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
}
