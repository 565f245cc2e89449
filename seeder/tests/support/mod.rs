//! Helpers for the seeder's tests against the real local stack (`scripts/stack`).
//!
//! Every test gets fresh databases, created through the write pool and migrated with
//! `lyceum_db::migrate::run_migrations`. If the stack is unreachable the tests fail with
//! the command that starts it; they never skip.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{collections::BTreeMap, process::Output, time::Duration};

use lyceum_db::{DbConfig, PoolKind, migrate, testing};

/// A freshly created and migrated database (the shared `lyceum_db::testing` database plus
/// the schema), dropped by [`TestDatabase::drop_now`].
pub struct TestDatabase {
    pub config: DbConfig,
    inner: testing::TestDatabase,
}

impl TestDatabase {
    /// Panics with the command that starts the stack if the primary is unreachable.
    pub async fn create(label: &str) -> Self {
        let inner = testing::TestDatabase::create(&format!("seeder_{label}")).await;
        migrate::run_migrations(&inner.config, Duration::from_secs(60))
            .await
            .expect("migrate the test database");
        Self {
            config: inner.config.clone(),
            inner,
        }
    }

    pub async fn client(&self) -> lyceum_db::Client {
        testing::db_for(&self.config)
            .await
            .pool(PoolKind::Write)
            .get()
            .await
            .expect("write connection to the test database")
    }

    pub fn name(&self) -> &str {
        &self.config.dbname
    }

    /// Runs the seeder binary against this database.
    pub fn seed(&self, args: &[&str]) -> Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_lyceum-seeder"))
            .args(args)
            .env("LYCEUM_DB__DBNAME", self.name())
            .env("LYCEUM_DB__WRITE_PORT", self.config.write_port.to_string())
            .env("LYCEUM_DB__HOST", &self.config.host)
            .output()
            .expect("run lyceum-seeder")
    }

    /// Runs the seeder and fails the test with its output unless it succeeds.
    pub fn seed_ok(&self, args: &[&str]) -> String {
        let out = self.seed(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "lyceum-seeder {args:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// md5 of every row of every seeded table, in a stable order.
    pub async fn checksums(&self) -> BTreeMap<String, String> {
        let c = self.client().await;
        let mut sums = BTreeMap::new();
        for table in lyceum_seeder::Table::ALL {
            let row = c
                .query_one(
                    &format!(
                        "SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) \
                         FROM (SELECT t::text AS x FROM {} t) s",
                        table.name()
                    ),
                    &[],
                )
                .await
                .expect("checksum");
            sums.insert(table.name().to_string(), row.get::<_, String>(0));
        }
        sums
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT count(*) FROM {table}")).await
    }

    pub async fn scalar<T: for<'a> tokio_postgres::types::FromSql<'a>>(&self, sql: &str) -> T {
        let c = self.client().await;
        c.query_one(sql, &[])
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .get(0)
    }

    pub async fn drop_now(self) {
        self.inner.drop_now().await;
    }
}

/// The planned row count of every table for these arguments (`--plan`, no database).
pub fn planned_rows(args: &[&str]) -> BTreeMap<String, i64> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lyceum-seeder"))
        .arg("--plan")
        .args(args)
        .output()
        .expect("run lyceum-seeder --plan");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (name, rows) = (parts.next()?, parts.next()?);
            lyceum_seeder::Table::from_name(name)?;
            Some((name.to_string(), rows.parse().ok()?))
        })
        .collect()
}
