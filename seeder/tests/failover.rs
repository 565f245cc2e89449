//! A real Patroni switchover in the middle of seeding. In its own test binary, so no other
//! seeder test runs while the leader moves (cargo runs test binaries one at a time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{process::Stdio, time::Duration};

use lyceum_db::testing;
use support::{TestDatabase, planned_rows};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switchover_during_seeding_is_retried_and_the_data_is_complete() {
    let _cluster = testing::CLUSTER.lock().await;
    testing::ensure_healthy();
    let db = TestDatabase::create("switchover").await;
    let args = ["--scale", "1", "--seed", "13", "--jobs", "2"];
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lyceum-seeder"))
        .args(args)
        .env("LYCEUM_DB__DBNAME", db.name())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the seeder");
    let started = testing::wait_until(Duration::from_secs(120), async || {
        db.scalar::<i64>("SELECT count(*) FROM seeder_state").await >= 1
    })
    .await;
    assert!(started, "the seeder recorded no table within two minutes");

    let before = testing::leader();
    testing::stack(&["switchover"]);
    let out = tokio::time::timeout(Duration::from_secs(300), child.wait_with_output())
        .await
        .expect("the seeder finished in time")
        .expect("the seeder ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the seeder must ride out the switchover:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Shown with --nocapture: which tables had to be retried.
    println!("{stdout}");
    assert_ne!(testing::leader(), before, "the leader moved");
    for (table, rows) in planned_rows(&args) {
        assert_eq!(
            db.count(&table).await,
            rows,
            "{table}: complete, no duplicates"
        );
    }
    let recorded: i64 = db.scalar("SELECT count(*) FROM seeder_state").await;
    assert_eq!(recorded, lyceum_seeder::Table::ALL.len() as i64);
    testing::ensure_healthy();
    db.drop_now().await;
}
