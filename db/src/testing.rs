//! Helpers for tests that run against the real local stack (`scripts/stack`), shared by
//! every crate's integration tests (feature `test-support`).
//!
//! The stack is started by the test command (`scripts/test`); these helpers never fake it.
//! If it is not reachable, tests fail loudly with the command that starts it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::PathBuf,
    process::Command,
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

use crate::{Db, DbConfig, load_db_config};

/// Tests that stop nodes or move the leader take this lock so they never overlap.
pub static CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The connection settings of the running stack, from `LYCEUM_DB__*` (defaults = local stack).
pub fn config() -> DbConfig {
    load_db_config(None).expect("configuration from the environment")
}

/// Runs `scripts/stack ARGS`, failing the test with its output if it fails.
pub fn stack(args: &[&str]) -> String {
    let out = Command::new(repo_root().join("scripts/stack"))
        .args(args)
        .output()
        .expect("run scripts/stack");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "scripts/stack {} failed ({}):\n{stdout}\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Brings the stack back to full health (all nodes up, a replica behind the read port).
/// `up` is idempotent: it starts only what is missing and waits until healthy.
pub fn ensure_healthy() {
    stack(&["up"]);
}

pub fn leader() -> String {
    stack(&["leader"]).trim().to_string()
}

/// The PostgreSQL port of member `pgN`, following the runner's port scheme.
pub fn member_port(name: &str) -> i32 {
    let n: i32 = name
        .trim_start_matches("pg")
        .parse()
        .expect("member name pgN");
    let offset: i32 = std::env::var("LYCEUM_PORT_OFFSET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    5432 + n + offset
}

/// Pools on the stack's default database; panics with a clear message if the primary is unreachable.
pub async fn db() -> Db {
    db_for(&config()).await
}

pub async fn db_for(cfg: &DbConfig) -> Db {
    let db = Db::new(cfg).expect("valid config");
    if let Err(err) = db.ping_primary(Duration::from_secs(10)).await {
        panic!(
            "the local stack is not reachable at {}:{} ({err}). Start it with `scripts/stack up`, \
             or run the whole suite with `scripts/test`.",
            cfg.host, cfg.write_port
        );
    }
    db
}

static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// A new, empty database on the cluster, so a test never sees another test's tables.
#[derive(Debug)]
pub struct TestDatabase {
    pub config: DbConfig,
    admin: Db,
}

impl TestDatabase {
    pub async fn create(label: &str) -> Self {
        let admin = db().await;
        let name = format!(
            "t_{label}_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::SeqCst)
        );
        let client = admin
            .pool(crate::PoolKind::Write)
            .get()
            .await
            .expect("write connection");
        drop_database(&client, &name).await;
        client
            .simple_query(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create database");
        Self {
            config: DbConfig {
                dbname: name,
                ..config()
            },
            admin,
        }
    }

    /// Drops the database; call at the end of a test that passed (a failed one leaves it for inspection).
    pub async fn drop_now(self) {
        let client = self
            .admin
            .pool(crate::PoolKind::Write)
            .get()
            .await
            .expect("write connection");
        drop_database(&client, &self.config.dbname).await;
    }
}

/// Drops `name` and every session on it. `WITH (FORCE)` must terminate each backend, and the
/// non-superuser test role may not terminate an autovacuum worker (42501), which a freshly
/// seeded database often has for a moment; so that case is retried, within 30 s.
async fn drop_database(client: &tokio_postgres::Client, name: &str) {
    let started = Instant::now();
    loop {
        let result = client
            .simple_query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
        match result {
            Ok(_) => return,
            Err(err)
                if err.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
                    && started.elapsed() < Duration::from_secs(30) =>
            {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(err) => panic!("drop database {name}: {err}"),
        }
    }
}

/// Polls `check` until it returns true or `limit` passes.
pub async fn wait_until(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}
