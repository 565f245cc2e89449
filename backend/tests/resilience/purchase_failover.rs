//! Purchases while the cluster misbehaves:
//! - read-your-writes with replicas that apply WAL seconds late;
//! - a stream of purchases (clients retry 503s and lost connections with the same key)
//!   through a switchover, and through the death of the leader's node.
//!
//! Afterwards every purchase acknowledged to a client exists exactly once, nothing was
//! bought that no client holds, no run is oversold, and no answer was a 500.
//!
//! These tests change the cluster, so they hold `CLUSTER` and leave it healthy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crate::support::{TestApp, spawn_app};
use lyceum_db::testing::{CLUSTER, ensure_healthy, member_port, stack, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn offset() -> u16 {
    std::env::var("LYCEUM_PORT_OFFSET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Patroni's REST API on the first member (any member accepts cluster-wide calls).
fn patroni(path: &str) -> String {
    format!("http://127.0.0.1:{}{path}", 8008 + offset())
}

/// Patroni's credentials for its unsafe endpoints (`restapi.authentication` in
/// patroni/patroni.yml.tmpl; development values, like the database users').
const PATRONI_USER: &str = "patroni";
const PATRONI_PASSWORD: &str = "patroni-rest-dev";

/// The replicas' `recovery_min_apply_delay` through Patroni's dynamic configuration (not
/// `scripts/stack set`: a recovery parameter never reaches the primary, which `set` waits for).
async fn set_apply_delay(http: &reqwest::Client, delay: Option<&str>) {
    let r = http
        .patch(patroni("/config"))
        .basic_auth(PATRONI_USER, Some(PATRONI_PASSWORD))
        .json(&json!({"postgresql": {"parameters": {"recovery_min_apply_delay": delay}}}))
        .send()
        .await
        .expect("patroni config");
    assert!(r.status().is_success(), "{:?}", r.text().await);
}

/// The replicas' PostgreSQL ports.
fn replica_ports() -> Vec<i32> {
    stack(&["replicas"])
        .split_whitespace()
        .map(member_port)
        .collect()
}

async fn replica_setting(port: i32, name: &str) -> Option<String> {
    let cfg = lyceum_db::testing::config();
    let conn = format!(
        "host=127.0.0.1 port={port} user={} password={} dbname={} connect_timeout=3",
        cfg.user, cfg.password, cfg.dbname
    );
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
        .await
        .ok()?;
    tokio::spawn(connection);
    let row = client.query_one(&format!("SHOW {name}"), &[]).await.ok()?;
    Some(row.get(0))
}

/// Whether the purchase row is on the replica at `port` yet (in this test's database).
async fn replica_has_purchase(app: &TestApp, port: i32, id: i64) -> bool {
    let cfg = &app.database.config;
    let conn = format!(
        "host=127.0.0.1 port={port} user={} password={} dbname={} connect_timeout=3",
        cfg.user, cfg.password, cfg.dbname
    );
    let (client, connection) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
        .await
        .expect("replica");
    tokio::spawn(connection);
    client
        .query_one("SELECT count(*) FROM purchases WHERE id = $1", &[&id])
        .await
        .map(|r| r.get::<_, i64>(0) == 1)
        .expect("replica query")
}

fn ryw_count(metrics: &str, route: &str) -> u64 {
    let prefix = format!("lyceum_read_your_writes_reads_total{{route=\"{route}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buyer_sees_their_purchase_while_replicas_apply_late() {
    let _cluster = CLUSTER.lock().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
    let app = spawn_app("ryw_delay").await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    let run = app.run_with_seats(course, 10).await;
    let token = app.register("reader@example.com").await;
    crate::support::wait_for_replicas(&app.db, "SELECT count(*) FROM users", 4).await;

    set_apply_delay(&app.http, Some("4s")).await;
    let ports = replica_ports();
    let delayed = wait_until(Duration::from_secs(30), async || {
        for &p in &ports {
            if replica_setting(p, "recovery_min_apply_delay")
                .await
                .as_deref()
                != Some("4s")
            {
                return false;
            }
        }
        true
    })
    .await;

    let app = Arc::new(app);
    let checked = tokio::spawn(read_your_writes_checks(
        Arc::clone(&app),
        token,
        run,
        ports,
        delayed,
    ))
    .await;
    // Always take the delay off again, even when a check failed.
    set_apply_delay(&app.http, None).await;
    Arc::try_unwrap(app).ok().expect("sole owner").stop().await;
    if let Err(failure) = checked {
        std::panic::resume_unwind(failure.into_panic());
    }
}

async fn read_your_writes_checks(
    app: Arc<TestApp>,
    token: String,
    run: i64,
    ports: Vec<i32>,
    delayed: bool,
) {
    assert!(delayed, "replicas did not take the apply delay");
    let before = app.metrics().await;
    let bought = app.buy(&token, "ryw-1", run, "basic").await;
    assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.body);
    let id = bought.body["id"].as_i64().unwrap();

    // The replicas really are behind: the row is not there yet.
    let mut lagging = 0;
    for &p in &ports {
        if !replica_has_purchase(&app, p, id).await {
            lagging += 1;
        }
    }
    assert!(
        lagging > 0,
        "no replica was behind; the test would prove nothing"
    );

    // Yet the buyer's next reads show it, with its current status.
    let one = app.get_as(&format!("/api/v1/purchases/{id}"), &token).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.body);
    assert_eq!(one.body["status"], "pending");
    let list = app.get_as("/api/v1/purchases", &token).await;
    assert_eq!(list.body["items"][0]["id"], id, "{}", list.body);
    let paid = app
        .post(
            &format!("/api/v1/purchases/{id}/pay"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(paid.body["status"], "paid", "{}", paid.body);
    let after_pay = app.get_as(&format!("/api/v1/purchases/{id}"), &token).await;
    assert_eq!(after_pay.body["status"], "paid", "{}", after_pay.body);

    // A review right after: the author's own list shows it at once.
    let course = paid.body["course_id"].as_i64().unwrap();
    let review = app
        .post(
            &format!("/api/v1/courses/{course}/reviews"),
            Some(&token),
            json!({"rating": 5, "body": "worth every minute"}),
        )
        .await;
    assert_eq!(review.status, StatusCode::CREATED, "{}", review.body);
    let mine = app.get_as("/api/v1/me/reviews", &token).await;
    assert_eq!(
        mine.body["items"][0]["id"], review.body["id"],
        "{}",
        mine.body
    );

    // Those reads were routed by the fence, not by luck.
    let after = app.metrics().await;
    let fenced =
        |m: &str| ryw_count(m, "primary_replica_behind") + ryw_count(m, "replica_caught_up");
    assert!(
        fenced(&after) >= fenced(&before) + 4,
        "fence routing not used:\n{after}"
    );
    assert!(
        ryw_count(&after, "primary_replica_behind") > ryw_count(&before, "primary_replica_behind"),
        "a lagging replica should have sent a read to the primary"
    );
    // Someone who wrote nothing reads from replicas as usual.
    let other = app.register("bystander@example.com").await;
    let m0 = app.metrics().await;
    app.get_as("/api/v1/purchases", &other).await;
    let m1 = app.metrics().await;
    assert!(ryw_count(&m1, "replica") > ryw_count(&m0, "replica"));
}

/// The sum over all series of a counter in Prometheus text format.
fn metric_sum(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// One purchase as the client last heard of it.
#[derive(Debug, Clone)]
struct Acknowledged {
    id: i64,
    user_id: i64,
    run: i64,
    /// The last status a 2xx answer showed.
    status: String,
}

#[derive(Debug, Default)]
struct Ledger {
    /// By idempotency key.
    purchases: HashMap<String, Acknowledged>,
    /// Every answer's status code (503s included; a 0 is a transport error).
    answers: Vec<u16>,
    /// Requests that never got a definite answer within the client's patience.
    gave_up: Vec<String>,
}

/// Sends one request, retrying on 503 and on transport errors for up to 60 s, as a
/// well-behaved client does; purchases keep their idempotency key across retries.
async fn with_retries(
    ledger: &Mutex<Ledger>,
    what: &str,
    send: impl Fn() -> reqwest::RequestBuilder,
) -> Option<(StatusCode, Value)> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let outcome = match send().send().await {
            Ok(resp) => {
                let status = resp.status();
                let body = resp.json::<Value>().await.unwrap_or(Value::Null);
                ledger.lock().unwrap().answers.push(status.as_u16());
                Some((status, body))
            }
            Err(_) => {
                ledger.lock().unwrap().answers.push(0);
                None
            }
        };
        match outcome {
            Some((status, body)) if status != StatusCode::SERVICE_UNAVAILABLE => {
                return Some((status, body));
            }
            _ if Instant::now() > deadline => {
                ledger.lock().unwrap().gave_up.push(what.to_owned());
                return None;
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Buyers loop: buy a run (new key each time), then pay or cancel it; until `stop`.
async fn buyer(
    app: Arc<TestApp>,
    token: String,
    user_id: i64,
    runs: Arc<Vec<i64>>,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let run = runs[(user_id as usize + n) % runs.len()];
        let key = format!("drill-{user_id}-{n}");
        let url = app.url("/api/v1/purchases");
        let answer = with_retries(&ledger, &key, || {
            app.http
                .post(&url)
                .bearer_auth(&token)
                .header("idempotency-key", &key)
                .json(&json!({"course_run_id": run, "plan": "basic"}))
        })
        .await;
        let Some((StatusCode::CREATED, body)) = answer else {
            // Sold out or already holding a seat in that run: fine, try another.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let id = body["id"].as_i64().expect("purchase id");
        ledger.lock().unwrap().purchases.insert(
            key.clone(),
            Acknowledged {
                id,
                user_id,
                run,
                status: body["status"].as_str().unwrap_or("").to_owned(),
            },
        );
        // Cancel one in three; pay the others, and refund half of those (seats come back,
        // so buyers can keep buying).
        let actions: &[&str] = match n % 3 {
            0 => &["cancel"],
            1 => &["pay", "refund"],
            _ => &["pay"],
        };
        for action in actions {
            let url = app.url(&format!("/api/v1/purchases/{id}/{action}"));
            let answer = with_retries(&ledger, &format!("{key}/{action}"), || {
                app.http.post(&url).bearer_auth(&token)
            })
            .await;
            let Some((StatusCode::OK, body)) = answer else {
                break;
            };
            if let Some(p) = ledger.lock().unwrap().purchases.get_mut(&key) {
                p.status = body["status"].as_str().unwrap_or("").to_owned();
            }
        }
    }
}

/// Streams purchases from 12 buyers, runs `fault` (a `scripts/stack` command) a second in,
/// keeps buying for a few seconds after it returns, then checks the ledger against the
/// database.
async fn purchases_survive(label: &str, fault: &'static [&'static str]) {
    let app = spawn_app(label).await;
    app.seed_catalog().await;
    let course = app.course_id("Rust for backend engineers").await;
    // One small run sells out during the drill; the others have room.
    let mut runs = vec![app.run_with_seats(course, 15).await];
    for _ in 0..2 {
        runs.push(app.run_with_seats(course, 10_000).await);
    }
    let buyers = app.students(&format!("{label}-"), 12).await;
    let app = Arc::new(app);
    let (runs, stop) = (Arc::new(runs), Arc::new(AtomicBool::new(false)));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut tasks = tokio::task::JoinSet::new();
    for (user_id, token) in buyers {
        tasks.spawn(buyer(
            Arc::clone(&app),
            token,
            user_id,
            Arc::clone(&runs),
            Arc::clone(&stop),
            Arc::clone(&ledger),
        ));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let t0 = Instant::now();
    let report = tokio::task::spawn_blocking(move || stack(fault))
        .await
        .expect("fault");
    let fault_time = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::Relaxed);
    tasks.join_all().await;

    let ledger = Arc::try_unwrap(ledger)
        .expect("buyers done")
        .into_inner()
        .unwrap();
    let codes: HashMap<u16, usize> = ledger.answers.iter().fold(HashMap::new(), |mut m, c| {
        *m.entry(*c).or_default() += 1;
        m
    });
    eprintln!(
        "{label}: {:?} took {fault_time:?}; {} purchases acknowledged; answers by status {codes:?}\n{report}",
        fault,
        ledger.purchases.len()
    );
    assert!(
        ledger.gave_up.is_empty(),
        "clients gave up: {:?}",
        ledger.gave_up
    );
    let bad: Vec<_> = codes
        .keys()
        .filter(|c| !matches!(c, 0 | 200 | 201 | 409 | 503))
        .collect();
    assert!(bad.is_empty(), "unexpected answers {bad:?}: {codes:?}");
    // The fault must have hit the stream: clients saw failures, or the service retried
    // or threw away broken connections on their behalf.
    let metrics = app.metrics().await;
    let absorbed = metric_sum(&metrics, "lyceum_db_retries_total")
        + metric_sum(&metrics, "lyceum_db_connections_discarded_total");
    let client_failures =
        codes.get(&503).copied().unwrap_or(0) + codes.get(&0).copied().unwrap_or(0);
    eprintln!(
        "{label}: client-side failures {client_failures}, absorbed by the service {absorbed}"
    );
    assert!(
        client_failures as f64 + absorbed > 0.0,
        "nothing failed: the fault did not hit the stream"
    );
    assert!(ledger.purchases.len() > 20, "too few purchases to judge");

    // Every acknowledged purchase exists once, under its key, with the status last shown.
    let rows = app
        .db
        .write(|c| {
            Box::pin(async move {
                Ok::<_, lyceum_db::DbError>(
                    c.query(
                        "SELECT idempotency_key, id, user_id, course_run_id, status
                           FROM purchases WHERE idempotency_key LIKE 'drill-%'",
                        &[],
                    )
                    .await?,
                )
            })
        })
        .await
        .expect("ledger query");
    let mut in_db: HashMap<String, (i64, i64, i64, String)> = HashMap::new();
    for r in &rows {
        let key: String = r.get(0);
        assert!(
            in_db
                .insert(key.clone(), (r.get(1), r.get(2), r.get(3), r.get(4)))
                .is_none(),
            "key {key} stored twice"
        );
    }
    for (key, ack) in &ledger.purchases {
        let Some((id, user_id, run, status)) = in_db.get(key) else {
            panic!("acknowledged purchase {key} ({ack:?}) is lost");
        };
        assert_eq!(
            (*id, *user_id, *run),
            (ack.id, ack.user_id, ack.run),
            "{key}"
        );
        assert_eq!(status, &ack.status, "{key}: status the client was shown");
    }
    let unacknowledged: Vec<_> = in_db
        .keys()
        .filter(|k| !ledger.purchases.contains_key(*k))
        .collect();
    assert!(
        unacknowledged.is_empty(),
        "purchases no client holds: {unacknowledged:?}"
    );
    let ids: HashSet<i64> = rows.iter().map(|r| r.get::<_, i64>(1)).collect();
    assert_eq!(ids.len(), rows.len());

    // No run is oversold, and the seat counter matches the purchases holding seats.
    for run in runs.iter() {
        let sql = format!(
            "SELECT r.seats_total - r.seats_left - (SELECT count(*) FROM purchases p
                 WHERE p.course_run_id = r.id AND p.status IN ('pending', 'paid'))
               FROM course_runs r WHERE r.id = {run} AND r.seats_left >= 0"
        );
        assert_eq!(app.scalar_i64(&sql).await, 0, "run {run} seat accounting");
    }
    Arc::try_unwrap(app).ok().expect("sole owner").stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchases_survive_a_switchover_exactly_once() {
    let _cluster = CLUSTER.lock().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
    purchases_survive("drill_switchover", &["switchover"]).await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
}

/// Waits until Patroni names a synchronous standby: in synchronous mode only that node
/// may be promoted, so killing the leader before there is one would stall the cluster.
async fn wait_for_sync_standby() {
    let http = reqwest::Client::new();
    let named = wait_until(Duration::from_secs(60), async || {
        let Ok(resp) = http.get(patroni("/cluster")).send().await else {
            return false;
        };
        let cluster: Value = resp.json().await.unwrap_or(Value::Null);
        cluster["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["role"] == "sync_standby"))
    })
    .await;
    assert!(named, "no synchronous standby within 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purchases_survive_the_leader_node_dying_exactly_once() {
    let _cluster = CLUSTER.lock().await;
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
    wait_for_sync_standby().await;
    purchases_survive("drill_kill", &["kill", "leader", "--wait"]).await;
    // `up` restarts the killed node and waits until the cluster is whole again.
    tokio::task::spawn_blocking(ensure_healthy)
        .await
        .expect("healthy");
}
