//! Two backend instances on one database and one Redis, each with its in-process copy of the
//! course pages (`repository::local_pages`): an edit through one is served by the other
//! within the documented bound (`LOCAL_TTL`), before and after Redis restarts, and while the
//! invalidation channel is down the other instance does not serve its local copies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use crate::support::{cache_lookups, run_stack, spawn_app};
use lyceum_backend::{app, config::Config, repository::local_pages::LOCAL_TTL};
use lyceum_db::testing::{CLUSTER, ensure_healthy, wait_until};
use serde_json::{Value, json};

struct Other {
    running: app::RunningApp,
    base: String,
    http: reqwest::Client,
}

impl Other {
    async fn page(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        r.json().await.expect("json")
    }

    async fn metrics(&self) -> String {
        let r = self.http.get(format!("{}/metrics", self.base)).send().await;
        r.expect("metrics").text().await.expect("text")
    }

    /// Waits until a repeated read is served from this instance's memory (the layer is live).
    async fn wait_local_hits(&self, path: &str) -> bool {
        wait_until(Duration::from_secs(15), async || {
            let before = cache_lookups(&self.metrics().await, "course_detail", "local_hit");
            self.page(path).await;
            self.page(path).await;
            cache_lookups(&self.metrics().await, "course_detail", "local_hit") > before
        })
        .await
    }

    /// How long until this instance serves `title` on `path` (polling every 10 ms).
    async fn time_until_title(&self, path: &str, title: &str, limit: Duration) -> Option<Duration> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if self.page(path).await["title"] == title {
                return Some(started.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_through_one_instance_is_served_by_the_other_within_the_bound() {
    let _cluster = CLUSTER.lock().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
    let a = spawn_app("two_instances").await;
    // The second instance: same database, same Redis and key prefix, its own process state.
    let mut config = Config::load(None).expect("configuration from the environment");
    config.db = a.database.config.clone();
    config.http.bind = "127.0.0.1:0".parse().expect("addr");
    config.redis.key_prefix = a.app.state.config.redis.key_prefix.clone();
    let running = app::spawn(config).await.expect("second instance starts");
    let b = Other {
        base: running.base_url(),
        running,
        http: reqwest::Client::new(),
    };

    a.seed_catalog().await;
    let id = a.course_id("Rust for backend engineers").await;
    let path = format!("/api/v1/courses/{id}");
    let admin = a.staff("admin@two.test", "admin").await;
    // Generous for a shared CI machine; the announcement itself takes milliseconds.
    let bound = LOCAL_TTL + Duration::from_millis(500);

    assert!(b.wait_local_hits(&path).await, "B never served from memory");
    let edit = async |title: &str| {
        let r = a.patch(&path, Some(&admin), json!({"title": title})).await;
        assert_eq!(r.status, reqwest::StatusCode::OK, "{}", r.body);
    };
    edit("Rust, edited once").await;
    let seen = b.time_until_title(&path, "Rust, edited once", bound).await;
    assert!(
        seen.is_some(),
        "B still served the old page after {bound:?}"
    );

    // Redis goes away: B loses its subscription and stops serving from memory.
    run_stack(&["stop-redis"]).await;
    let off = wait_until(Duration::from_secs(10), async || {
        !b.running.state.cache.local_pages().is_live()
    })
    .await;
    let during_before = cache_lookups(&b.metrics().await, "course_detail", "local_hit");
    for _ in 0..5 {
        b.page(&path).await;
    }
    let during_after = cache_lookups(&b.metrics().await, "course_detail", "local_hit");
    run_stack(&["start-redis"]).await;
    assert!(off, "B's local layer stayed live without a subscription");
    assert_eq!(
        during_before, during_after,
        "B served from memory while unsubscribed"
    );

    // Back: B resubscribes, serves from memory again, and sees the next edit in time.
    assert!(b.wait_local_hits(&path).await, "B never resubscribed");
    edit("Rust, edited after the restart").await;
    let seen = b
        .time_until_title(&path, "Rust, edited after the restart", bound)
        .await;
    assert!(
        seen.is_some(),
        "after the Redis restart B still served the old page after {bound:?}"
    );

    b.running.stop().await.expect("B stops");
    a.stop().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
}
