//! Loading tables: one transaction per table, dependencies first, independent tables in
//! parallel, transient failures retried.
//!
//! A table's transaction: lock the table, re-check the bookkeeping, check that the table is
//! empty, suspend its indexes and foreign keys ([`crate::bulk`]), COPY the generated rows
//! (binary; `FREEZE` where the table could be truncated), rebuild, move the id sequence
//! past the loaded ids, record the table in `seeder_state`, commit. A crash or a lost
//! connection anywhere before the commit leaves the table exactly as it was: empty and
//! unrecorded, so the next run loads it again; a retry after a rollback cannot duplicate.
//!
//! Foreign keys: the command line suspends all of them before calling [`load_all`] and
//! restores them after ([`crate::foreign_keys`]); a caller that does not (a test loading
//! through this module alone) gets the per-table path of [`crate::bulk`], where each load
//! drops and re-adds its own table's keys.
//!
//! Statistics: a table other tables reference (only while their keys exist) is analyzed
//! inside its load transaction, because an `ANALYZE` after the commit would queue behind
//! (and then block) the loads of its children, which lock it to drop their foreign keys.
//! A table nothing references is analyzed right after its commit on the same connection,
//! outside every lock a later load waits for.

use std::{
    collections::HashSet,
    pin::pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use bytes::Bytes;
use deadpool_postgres::Object;
use futures_util::SinkExt;
use indicatif::ProgressBar;
use lyceum_db::{Client, Db, PoolKind, RetryPolicy, Retryable};
use tokio::{task::JoinSet, time::Instant};

use crate::{
    bulk,
    error::SeedError,
    generate::{self, Table, World},
    progress::{Progress, TableReport},
    state,
};

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Tables loading at the same time.
    pub jobs: usize,
    /// Longest time to keep retrying after a transient failure (e.g. a switchover).
    pub retry_budget: Duration,
    /// Most attempts per table.
    pub max_attempts: u32,
    /// `statement_timeout` inside a load transaction (a COPY or an index build may be long).
    pub statement_timeout: Duration,
    /// `maintenance_work_mem` for the index builds.
    pub maintenance_work_mem: String,
    /// Test hook: fail (and roll back) the load of any table that commits after this many.
    pub inject_failure_after: Option<usize>,
    /// Test hook: terminate our own session in the first attempt of this table, before commit.
    pub inject_disconnect: Option<Table>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            jobs: 2,
            retry_budget: Duration::from_secs(60),
            max_attempts: 10,
            statement_timeout: Duration::from_secs(1800),
            maintenance_work_mem: "512MB".into(),
            inject_failure_after: None,
            inject_disconnect: None,
        }
    }
}

/// Loads `todo` (tables not yet recorded) in dependency order, up to `opts.jobs` at a time.
/// Tables that are in flight when another fails still finish (they are complete and
/// recorded); no new table starts after a failure.
pub async fn load_all(
    db: &Db,
    world: Arc<World>,
    todo: &[Table],
    opts: &LoadOptions,
    progress: &Progress,
) -> Result<Vec<TableReport>, SeedError> {
    let mut done: HashSet<Table> = Table::ALL
        .into_iter()
        .filter(|t| !todo.contains(t))
        .collect();
    let mut pending: Vec<Table> = todo.to_vec();
    let mut running = JoinSet::new();
    let mut reports = Vec::new();
    let mut failure: Option<SeedError> = None;
    let committed = Arc::new(AtomicUsize::new(0));
    let opts = Arc::new(opts.clone());
    loop {
        if failure.is_none() {
            let mut ready: Vec<Table> = pending
                .iter()
                .copied()
                .filter(|t| t.depends_on().iter().all(|d| done.contains(d)))
                .collect();
            // Biggest first: the long loads start early and the small ones fill the gaps.
            ready.sort_by_key(|t| std::cmp::Reverse(world.rows(*t)));
            for table in ready {
                if running.len() >= opts.jobs.max(1) {
                    break;
                }
                pending.retain(|t| *t != table);
                let bar = progress.bar(table, world.rows(table));
                running.spawn(load_table(
                    db.clone(),
                    world.clone(),
                    table,
                    opts.clone(),
                    bar,
                    committed.clone(),
                ));
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        match joined {
            Ok(Ok(report)) => {
                progress.line(&report.line());
                done.insert(report.table);
                reports.push(report);
            }
            Ok(Err(err)) => {
                failure.get_or_insert(err);
            }
            Err(join) => {
                failure.get_or_insert(SeedError::Generator(
                    Table::Users,
                    format!("a load task panicked: {join}"),
                ));
            }
        }
    }
    if let Some(err) = failure {
        return Err(err);
    }
    if !pending.is_empty() {
        return Err(SeedError::Unschedulable(pending));
    }
    Ok(reports)
}

/// One table, retried on transient errors. A retry window starts at the first failure and
/// restarts whenever a connection was obtained again, so a switchover in the middle of a
/// long table is retried, while an outage longer than `retry_budget` gives up.
async fn load_table(
    db: Db,
    world: Arc<World>,
    table: Table,
    opts: Arc<LoadOptions>,
    bar: ProgressBar,
    committed: Arc<AtomicUsize>,
) -> Result<TableReport, SeedError> {
    let started = Instant::now();
    let policy = RetryPolicy::with_budget(opts.retry_budget);
    let mut attempt = 0;
    let mut outage_since: Option<Instant> = None;
    loop {
        attempt += 1;
        bar.set_position(0);
        let result = match db.pool(PoolKind::Write).get().await {
            Ok(mut client) => {
                outage_since = None;
                let result =
                    load_once(&mut client, &world, table, &opts, &bar, &committed, attempt).await;
                if let Err(err) = &result
                    && err.transient().is_some_and(|t| t.poisons_connection())
                {
                    // It may point at a demoted leader or be dead: never reuse it.
                    drop(Object::take(client));
                }
                result
            }
            Err(err) => Err(SeedError::Db(lyceum_db::DbError::Pool(err))),
        };
        let err = match result {
            Ok(phases) => {
                let elapsed = started.elapsed();
                bar.finish_and_clear();
                return Ok(TableReport {
                    table,
                    rows: if phases.skipped { 0 } else { world.rows(table) },
                    elapsed,
                    attempts: attempt,
                    skipped: phases.skipped,
                    waited: phases.waited,
                    copying: phases.copying,
                    rebuilding: phases.rebuilding,
                    analyzing: phases.analyzing,
                });
            }
            Err(err) => err,
        };
        let Some(reason) = err.transient() else {
            bar.abandon_with_message(format!("failed: {err}"));
            return Err(err);
        };
        let since = *outage_since.get_or_insert_with(Instant::now);
        let backoff = policy.backoff(attempt);
        if attempt >= opts.max_attempts || since.elapsed() + backoff > opts.retry_budget {
            bar.abandon_with_message(format!("gave up: {err}"));
            return Err(SeedError::GaveUp {
                table,
                attempts: attempt,
                source: Box::new(err),
            });
        }
        tracing::warn!(table = table.name(), attempt, reason = reason.label(), error = %err, "transient error, loading the table again");
        bar.set_message(format!("retrying after {reason}"));
        tokio::time::sleep(backoff).await;
    }
}

/// Where the successful attempt spent its time.
#[derive(Debug, Default)]
struct Phases {
    /// Someone else had already loaded the table.
    skipped: bool,
    /// From the start of the attempt until COPY began: mostly waiting for locks.
    waited: Duration,
    copying: Duration,
    /// Index builds, constraint validation, sequence, bookkeeping and commit.
    rebuilding: Duration,
    /// `ANALYZE`, inside the transaction or right after the commit (see the module doc).
    analyzing: Duration,
}

/// One attempt in one transaction.
async fn load_once(
    client: &mut Client,
    world: &Arc<World>,
    table: Table,
    opts: &LoadOptions,
    bar: &ProgressBar,
    committed: &AtomicUsize,
    attempt: u32,
) -> Result<Phases, SeedError> {
    let started = Instant::now();
    let mut phases = Phases::default();
    let name = bulk::quote_ident(table.name());
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "SET LOCAL statement_timeout = {}; SET LOCAL maintenance_work_mem = '{}'",
        opts.statement_timeout.as_millis(),
        opts.maintenance_work_mem.replace('\'', "")
    ))
    .await?;
    // Concurrent seeders queue here; the loser then finds the table recorded.
    tx.batch_execute(&format!("LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE"))
        .await?;
    if state::is_recorded(&*tx, table).await? {
        phases.skipped = true;
        return Ok(phases);
    }
    let occupied: bool = tx
        .query_one(&format!("SELECT EXISTS (SELECT 1 FROM {name})"), &[])
        .await?
        .get(0);
    if occupied {
        return Err(SeedError::ForeignRows(table));
    }
    // An unreferenced table can be truncated in this transaction, which lets COPY FREEZE
    // write the rows already frozen (no later hint-bit or freeze pass over them).
    let freeze = !bulk::is_referenced(&*tx, table.name()).await?;
    if freeze {
        tx.batch_execute(&format!("TRUNCATE {name}")).await?;
    }
    let restore = bulk::suspend(&*tx, table.name()).await?;
    bar.set_message("copying");
    phases.waited = started.elapsed();
    let copied = copy_rows(&tx, world, table, freeze, bar).await?;
    phases.copying = started.elapsed() - phases.waited;
    let expected = world.rows(table);
    if copied != expected {
        return Err(SeedError::RowCount {
            table,
            expected,
            copied,
        });
    }
    if attempt == 1 && opts.inject_disconnect == Some(table) {
        tx.batch_execute("SELECT pg_terminate_backend(pg_backend_pid())")
            .await?;
    }
    bar.set_message(format!(
        "indexes {} + foreign keys {}",
        restore.indexes, restore.foreign_keys
    ));
    bulk::restore(&*tx, &restore).await?;
    if table.has_identity() {
        tx.execute(
            &format!(
                "SELECT setval(pg_get_serial_sequence($1, 'id'), max(id)) FROM {name} \
                 HAVING max(id) IS NOT NULL"
            ),
            &[&table.name()],
        )
        .await?;
    }
    if let Some(limit) = opts.inject_failure_after
        && committed.load(Ordering::SeqCst) >= limit
    {
        return Err(SeedError::Injected(table));
    }
    // `freeze` means nothing references the table: nobody waits for its lock, so its
    // statistics can come after the commit; otherwise gather them before it.
    let analyze = format!("ANALYZE {name}");
    let mut analyzing = Duration::ZERO;
    if !freeze {
        bar.set_message("analyzing");
        let t = Instant::now();
        tx.batch_execute(&analyze).await?;
        analyzing = t.elapsed();
    }
    state::record(
        &*tx,
        table,
        &world.params,
        copied,
        started.elapsed().as_secs_f64(),
    )
    .await?;
    tx.commit().await?;
    committed.fetch_add(1, Ordering::SeqCst);
    phases.rebuilding = started.elapsed() - phases.waited - phases.copying - analyzing;
    if freeze {
        // The rows are committed and recorded; statistics are only a planner aid (and
        // autovacuum would gather them later), so a failure here is reported, not fatal.
        bar.set_message("analyzing");
        let t = Instant::now();
        if let Err(err) = client.batch_execute(&analyze).await {
            tracing::warn!(table = table.name(), error = %err, "ANALYZE after the load failed; autovacuum will gather the statistics");
        }
        analyzing = t.elapsed();
    }
    phases.analyzing = analyzing;
    Ok(phases)
}

/// Streams the generated rows into `COPY ... FROM STDIN (FORMAT binary)`. Generation runs
/// on a blocking thread and hands over 256 KiB buffers, so encoding and sending overlap.
async fn copy_rows(
    tx: &deadpool_postgres::Transaction<'_>,
    world: &Arc<World>,
    table: Table,
    freeze: bool,
    bar: &ProgressBar,
) -> Result<u64, SeedError> {
    let sql = format!(
        "COPY {} ({}) FROM STDIN (FORMAT binary{})",
        bulk::quote_ident(table.name()),
        table.columns().join(", "),
        if freeze { ", FREEZE" } else { "" }
    );
    let sink = tx.copy_in::<_, Bytes>(&sql).await?;
    let mut sink = pin!(sink);
    let (sender, mut chunks) = tokio::sync::mpsc::channel::<(Bytes, u64)>(4);
    let generator_world = world.clone();
    let generator =
        tokio::task::spawn_blocking(move || generate::write_table(&generator_world, table, sender));
    while let Some((chunk, rows)) = chunks.recv().await {
        sink.send(chunk).await?;
        bar.inc(rows);
    }
    match generator.await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => {
            return Err(SeedError::Generator(
                table,
                "the COPY stopped reading".into(),
            ));
        }
        Err(join) => return Err(SeedError::Generator(table, join.to_string())),
    }
    Ok(sink.as_mut().finish().await?)
}
