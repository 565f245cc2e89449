//! Foreign keys suspended for a whole load, then restored and validated in parallel.
//!
//! Dropping a child's foreign key takes an `ACCESS EXCLUSIVE` lock on the parent as well,
//! so when every table's load dropped its own keys in its transaction, the seven children
//! of `users` queued behind one another for the whole length of each load. Instead, a run
//! with tables to load drops every foreign key that touches a seeded table in one committed
//! step ([`suspend_all`]), recording their definitions in `seeder_suspended_fks` (migration
//! V3) in the same transaction. After the loads, [`restore_all`] puts them back `NOT VALID`
//! (a catalog change, no scan) in one step and then validates them, one connection per
//! child table at a time: `VALIDATE CONSTRAINT` locks its child against other validations
//! of the same child but takes only `ROW SHARE` on the parent, so children validate at once.
//!
//! A run that stops part-way leaves the keys recorded; the next run restores and validates
//! them before it loads anything. That holds because tables still load parents first: every
//! committed child's parents are committed. Restoring is idempotent: a key that already
//! exists (a concurrent seeder put it back) is not added twice, and validation covers every
//! key left `NOT VALID` by an interrupted restore. While the keys are suspended the database
//! does not enforce them; the seeder is meant for a database nothing else writes to yet.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use lyceum_db::Db;
use tokio::{sync::Semaphore, task::JoinSet, time::Instant};

use crate::{bulk::quote_ident, error::SeedError, generate::Table};

/// Foreign keys whose child or parent is one of the seeded tables.
const TOUCHING_SEEDED: &str = "contype = 'f' AND (conrelid = ANY($1::text[]::regclass[]) \
     OR confrelid = ANY($1::text[]::regclass[]))";

/// What [`restore_all`] did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Restored {
    /// Keys put back from `seeder_suspended_fks`.
    pub restored: usize,
    /// Keys validated (all keys touching seeded tables that were `NOT VALID`).
    pub validated: usize,
    pub elapsed: Duration,
}

fn seeded_tables() -> Vec<String> {
    Table::ALL.iter().map(|t| t.name().to_string()).collect()
}

fn set_timeout(timeout: Duration) -> String {
    format!("SET LOCAL statement_timeout = {}", timeout.as_millis())
}

/// Drops every foreign key touching a seeded table and records it, in one transaction.
/// Returns how many were suspended.
pub async fn suspend_all(db: &Db, timeout: Duration) -> Result<usize, SeedError> {
    let tables = seeded_tables();
    db.write(|c| {
        let tables = tables.clone();
        Box::pin(async move {
            let tx = c.transaction().await?;
            tx.batch_execute(&set_timeout(timeout)).await?;
            // Ordered by child so concurrent seeders lock tables in one order.
            let keys = tx
                .query(
                    &format!(
                        "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid) \
                         FROM pg_constraint WHERE {TOUCHING_SEEDED} ORDER BY 1, 2"
                    ),
                    &[&tables],
                )
                .await?;
            let mut by_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for k in &keys {
                let (table, name, definition): (String, String, String) =
                    (k.get(0), k.get(1), k.get(2));
                tx.execute(
                    "INSERT INTO seeder_suspended_fks (table_name, constraint_name, definition) \
                     VALUES ($1, $2, $3) ON CONFLICT (table_name, constraint_name) \
                     DO UPDATE SET definition = EXCLUDED.definition",
                    &[&table, &name, &definition],
                )
                .await?;
                by_table
                    .entry(table)
                    .or_default()
                    .push(format!("DROP CONSTRAINT {}", quote_ident(&name)));
            }
            for (table, drops) in &by_table {
                tx.batch_execute(&format!("ALTER TABLE {table} {}", drops.join(", ")))
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, SeedError>(keys.len())
        })
    })
    .await
}

/// Puts back the recorded keys (`NOT VALID`) and validates every key touching a seeded
/// table that is not valid, up to `jobs` child tables at a time.
pub async fn restore_all(db: &Db, jobs: usize, timeout: Duration) -> Result<Restored, SeedError> {
    let started = Instant::now();
    let restored = db
        .write(|c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                tx.batch_execute(&set_timeout(timeout)).await?;
                let recorded = tx
                    .query(
                        "SELECT s.table_name, s.constraint_name, s.definition, \
                                EXISTS (SELECT 1 FROM pg_constraint c \
                                        WHERE c.conrelid = to_regclass(s.table_name) \
                                        AND c.conname = s.constraint_name) \
                         FROM seeder_suspended_fks s ORDER BY 1, 2 FOR UPDATE",
                        &[],
                    )
                    .await?;
                let mut by_table: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for r in &recorded {
                    let (table, name, definition, exists): (String, String, String, bool) =
                        (r.get(0), r.get(1), r.get(2), r.get(3));
                    if exists {
                        continue;
                    }
                    by_table.entry(table).or_default().push(format!(
                        "ADD CONSTRAINT {} {}",
                        quote_ident(&name),
                        not_valid(&definition)
                    ));
                }
                let added = by_table.values().map(Vec::len).sum::<usize>();
                for (table, adds) in &by_table {
                    tx.batch_execute(&format!("ALTER TABLE {table} {}", adds.join(", ")))
                        .await?;
                }
                tx.batch_execute("DELETE FROM seeder_suspended_fks").await?;
                tx.commit().await?;
                Ok::<_, SeedError>(added)
            })
        })
        .await?;
    let validated = validate_all(db, jobs, timeout).await?;
    Ok(Restored {
        restored,
        validated,
        elapsed: started.elapsed(),
    })
}

/// The definition as `ADD CONSTRAINT ... NOT VALID` takes it (a key recorded while not
/// valid already ends so).
fn not_valid(definition: &str) -> String {
    let bare = definition.trim_end().trim_end_matches(" NOT VALID");
    format!("{bare} NOT VALID")
}

async fn validate_all(db: &Db, jobs: usize, timeout: Duration) -> Result<usize, SeedError> {
    let tables = seeded_tables();
    // Biggest child first: its validation is the longest, the small ones fill in beside it.
    let pending = db
        .write(|c| {
            let tables = tables.clone();
            Box::pin(async move {
                let rows = c
                    .query(
                        &format!(
                            "SELECT conrelid::regclass::text, conname::text FROM pg_constraint \
                             WHERE {TOUCHING_SEEDED} AND NOT convalidated \
                             ORDER BY pg_relation_size(conrelid) DESC, 1, 2"
                        ),
                        &[&tables],
                    )
                    .await?;
                Ok::<_, SeedError>(
                    rows.iter()
                        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1)))
                        .collect::<Vec<_>>(),
                )
            })
        })
        .await?;
    let count = pending.len();
    let mut by_table: Vec<(String, Vec<String>)> = Vec::new();
    for (table, name) in pending {
        match by_table.iter_mut().find(|(t, _)| *t == table) {
            Some((_, names)) => names.push(name),
            None => by_table.push((table, vec![name])),
        }
    }
    let slots = Arc::new(Semaphore::new(jobs.max(1)));
    let mut running = JoinSet::new();
    for (table, names) in by_table {
        let db = db.clone();
        let slots = slots.clone();
        running.spawn(async move {
            let _slot = slots.acquire_owned().await;
            db.write(|c| {
                let (table, names) = (table.clone(), names.clone());
                Box::pin(async move {
                    let tx = c.transaction().await?;
                    tx.batch_execute(&set_timeout(timeout)).await?;
                    for name in &names {
                        tx.batch_execute(&format!(
                            "ALTER TABLE {table} VALIDATE CONSTRAINT {}",
                            quote_ident(name)
                        ))
                        .await?;
                    }
                    tx.commit().await?;
                    Ok::<_, SeedError>(())
                })
            })
            .await
        });
    }
    let mut failure = None;
    while let Some(joined) = running.join_next().await {
        let result = joined.unwrap_or_else(|join| {
            Err(SeedError::Generator(
                Table::Users,
                format!("a validation task panicked: {join}"),
            ))
        });
        if let Err(err) = result {
            failure.get_or_insert(err);
        }
    }
    match failure {
        Some(err) => Err(err),
        None => Ok(count),
    }
}

#[cfg(test)]
mod tests {
    use super::not_valid;

    #[test]
    fn definitions_are_added_not_valid_once() {
        let def = "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE RESTRICT";
        assert_eq!(not_valid(def), format!("{def} NOT VALID"));
        assert_eq!(
            not_valid(&format!("{def} NOT VALID")),
            format!("{def} NOT VALID")
        );
    }
}
