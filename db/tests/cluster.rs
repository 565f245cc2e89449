//! The db crate against the real cluster: Patroni, etcd and HAProxy on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    collections::HashSet,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use lyceum_db::testing::*;
use lyceum_db::{DbError, PoolKind, migrate};
use support::where_am_i;

/// Four migrators started at the same instant on an empty database: the schema is applied
/// once, by exactly one of them, and the others report that nothing was left to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_apply_exactly_once_with_four_concurrent_processes() {
    let _cluster = CLUSTER.lock().await;
    ensure_healthy();
    let target = TestDatabase::create("migrate").await;
    let known = migrate::known_migrations();
    assert!(!known.is_empty(), "migrations/ is embedded");

    let children: Vec<_> = (0..4)
        .map(|_| {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_lyceum-migrate"))
                .env("LYCEUM_DB__DBNAME", &target.config.dbname)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("spawn lyceum-migrate")
        })
        .collect();
    let mut outputs = Vec::new();
    for child in children {
        let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("migrator finished in time")
            .expect("migrator ran");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        outputs.push(stdout);
    }
    let appliers: Vec<_> = outputs
        .iter()
        .filter(|o| !o.starts_with("applied 0 "))
        .collect();
    assert_eq!(
        appliers.len(),
        1,
        "exactly one process applies: {outputs:#?}"
    );
    assert!(
        appliers[0].starts_with(&format!("applied {} migrations", known.len())),
        "{outputs:#?}"
    );

    let db = db_for(&target.config).await;
    let (rows, versions): (i64, i64) = db
        .write(|c| {
            Box::pin(async move {
                let row = c
                    .query_one(
                        "SELECT count(*), count(DISTINCT version) FROM refinery_schema_history",
                        &[],
                    )
                    .await?;
                Ok::<_, DbError>((row.get(0), row.get(1)))
            })
        })
        .await
        .expect("history readable");
    assert_eq!((rows, versions), (known.len() as i64, known.len() as i64));

    // A later run is a no-op.
    let again = migrate::run_migrations(&target.config, Duration::from_secs(10))
        .await
        .expect("re-run");
    assert!(again.applied.is_empty(), "{again:?}");
    drop(db);
    target.drop_now().await;
}

/// The write pool reaches the leader Patroni reports, never a replica.
#[tokio::test]
async fn a_write_through_the_write_pool_lands_on_the_leader() {
    let _cluster = CLUSTER.lock().await;
    ensure_healthy();
    let leader = leader();
    let db = db().await;
    for _ in 0..5 {
        let (in_recovery, port) = where_am_i(&db, PoolKind::Write)
            .await
            .expect("write pool answers");
        assert!(!in_recovery, "write pool reached a standby");
        assert_eq!(
            port,
            member_port(&leader),
            "write pool reached port {port}, leader is {leader}"
        );
    }
}

/// Reads go to replicas, round-robin; with both replicas stopped the read port falls back
/// to the leader and reads keep answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_served_by_replicas_and_survive_losing_both() {
    let _cluster = CLUSTER.lock().await;
    ensure_healthy();
    let leader = leader();

    // A fresh pool each time, so each read opens a new connection and HAProxy's round-robin shows.
    let mut replica_ports = HashSet::new();
    for _ in 0..6 {
        let (in_recovery, port) = where_am_i(&db().await, PoolKind::Read)
            .await
            .expect("read answers");
        assert!(
            in_recovery,
            "read port reached the primary while replicas are healthy (port {port})"
        );
        replica_ports.insert(port);
    }
    assert_eq!(
        replica_ports.len(),
        2,
        "both replicas take reads: {replica_ports:?}"
    );

    let db = db().await;
    let replicas: Vec<&str> = ["pg1", "pg2", "pg3"]
        .into_iter()
        .filter(|m| *m != leader)
        .collect();
    for replica in &replicas {
        stack(&["stop-node", replica]);
    }
    // HAProxy needs a few failed checks to notice; the retry budget covers that gap.
    let mut last = None;
    let fell_back = wait_until(Duration::from_secs(20), async || {
        let answer = where_am_i(&db, PoolKind::Read).await;
        let on_leader = matches!(answer, Ok((false, port)) if port == member_port(&leader));
        last = Some(answer);
        on_leader
    })
    .await;
    for replica in &replicas {
        stack(&["start-node", replica]);
    }
    ensure_healthy();
    assert!(
        fell_back,
        "read port never fell back to the leader; last read: {last:?}"
    );
}

/// Writers loop through the retry helper while Patroni switches the leader over: no
/// error escapes the retry budget and every acknowledged write is there afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switchover_loses_no_acknowledged_write() {
    let _cluster = CLUSTER.lock().await;
    ensure_healthy();
    let target = TestDatabase::create("switchover").await;
    let db = db_for(&target.config).await;
    db.write(|c| {
        Box::pin(async move {
            c.batch_execute(
                "CREATE TABLE ledger (writer int, seq bigint, PRIMARY KEY (writer, seq))",
            )
            .await?;
            Ok::<_, DbError>(())
        })
    })
    .await
    .expect("create table");

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|writer: i32| {
            let (db, stop) = (db.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut acked, mut escaped) = (Vec::new(), Vec::new());
                let mut seq = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    // Idempotent by construction: a retry after an unknown outcome finds the row already there.
                    let result = db
                        .write(|c| {
                            Box::pin(async move {
                                c.execute(
                                    "INSERT INTO ledger (writer, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                    &[&writer, &seq],
                                )
                                .await
                                .map_err(DbError::from)
                            })
                        })
                        .await;
                    match result {
                        Ok(_) => acked.push(seq),
                        Err(err) => escaped.push(err.to_string()),
                    }
                    seq += 1;
                }
                (writer, acked, escaped)
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = leader();
    let switch = tokio::task::spawn_blocking(|| stack(&["switchover"]))
        .await
        .expect("switchover task");
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let after = leader();

    let mut total_acked = 0usize;
    for writer in writers {
        let (writer, acked, escaped) = writer.await.expect("writer task");
        assert!(
            escaped.is_empty(),
            "writer {writer}: errors escaped the retry budget: {escaped:?}"
        );
        let stored: Vec<i64> = db
            .write(|c| {
                Box::pin(async move {
                    let rows = c
                        .query(
                            "SELECT seq FROM ledger WHERE writer = $1 ORDER BY seq",
                            &[&writer],
                        )
                        .await?;
                    Ok::<_, DbError>(rows.iter().map(|r| r.get(0)).collect())
                })
            })
            .await
            .expect("read back");
        assert_eq!(
            stored, acked,
            "writer {writer}: stored rows differ from acknowledged writes"
        );
        total_acked += acked.len();
    }
    let retries: u64 = [
        "connection_lost",
        "server_unavailable",
        "read_only",
        "pool_timeout",
        "not_primary",
    ]
    .iter()
    .map(|reason| {
        db.metrics()
            .retries
            .with_label_values(&["write", reason])
            .get()
    })
    .sum();
    assert_ne!(before, after, "the leader moved: {switch}");
    assert!(total_acked > 100, "writers made progress: {total_acked}");
    assert!(
        retries > 0,
        "the switchover was felt by the writers (otherwise this test proves nothing)"
    );
    eprintln!(
        "switchover {before} -> {after}: {total_acked} acknowledged writes, {retries} retries"
    );
    drop(db);
    target.drop_now().await;
}

/// A write pool that reaches a standby (as HAProxy can for a moment during a role change)
/// refuses the connection instead of handing it out: the error is transient `NotPrimary`,
/// so callers retry or answer 503, and no write is attempted on the standby.
#[tokio::test]
async fn a_write_connection_to_a_standby_is_refused() {
    let _cluster = CLUSTER.lock().await;
    ensure_healthy();
    let leader = leader();
    let replica = ["pg1", "pg2", "pg3"]
        .into_iter()
        .find(|m| *m != leader)
        .expect("a replica");
    // Point the "write port" straight at a replica's PostgreSQL, bypassing HAProxy.
    let cfg = lyceum_db::DbConfig {
        write_port: member_port(replica) as u16,
        retry_budget_ms: 500,
        ..config()
    };
    let db = lyceum_db::Db::new(&cfg).expect("valid config");
    let err = where_am_i(&db, PoolKind::Write)
        .await
        .expect_err("a standby must not serve the write pool");
    assert_eq!(
        err.transient(),
        Some(lyceum_db::Transient::NotPrimary),
        "{err}"
    );
    assert_eq!(
        db.pool(PoolKind::Write).status().size,
        0,
        "no standby connection was pooled"
    );
    let exhausted = db
        .metrics()
        .retry_exhausted
        .with_label_values(&["write", "not_primary"])
        .get();
    assert_eq!(exhausted, 1, "the budget bounded the retries");
}

/// A configuration mistake the server names (here: no such database) is permanent: it fails
/// at once instead of being retried for the whole budget as if it were a failover.
#[tokio::test]
async fn a_missing_database_fails_fast_without_retries() {
    ensure_healthy();
    let cfg = lyceum_db::DbConfig {
        dbname: "lyceum_no_such_database".into(),
        retry_budget_ms: 10_000,
        ..config()
    };
    let db = lyceum_db::Db::new(&cfg).expect("valid config");
    let err = where_am_i(&db, PoolKind::Read)
        .await
        .expect_err("the database does not exist");
    assert_eq!(err.transient(), None, "{err}");
    assert_eq!(
        err.sqlstate(),
        Some(&tokio_postgres::error::SqlState::INVALID_CATALOG_NAME),
        "{err}"
    );
    let m = db.metrics();
    assert_eq!(
        m.errors.with_label_values(&["read", "permanent"]).get(),
        1,
        "ended as permanent on the first failure"
    );
    assert_eq!(
        m.retries
            .with_label_values(&["read", "connection_lost"])
            .get(),
        0,
        "not retried as a lost connection"
    );
}
