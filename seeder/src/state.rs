//! Bookkeeping in `seeder_state` (migration V2): which tables are loaded, from what parameters.
//!
//! A table's row is inserted in the same transaction as its data, so "recorded" and
//! "complete" are the same fact. The parameters of all recorded rows must match the run's.

use chrono::NaiveDate;
use tokio_postgres::GenericClient;

use crate::{
    error::SeedError,
    generate::{Lookups, PlanInfo, Table},
    plan::{DATA_VERSION, Params},
};

/// One recorded table.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub table: String,
    pub seed: i64,
    pub scale: f64,
    pub anchor: NaiveDate,
    pub data_version: i32,
    pub rows: i64,
}

impl Recorded {
    fn describe(&self) -> String {
        describe(self.seed as u64, self.scale, self.anchor, self.data_version)
    }
}

fn describe(seed: u64, scale: f64, anchor: NaiveDate, version: i32) -> String {
    format!("seed {seed}, scale {scale}, anchor {anchor} (data version {version})")
}

pub fn describe_params(params: &Params) -> String {
    describe(params.seed, params.scale, params.anchor, DATA_VERSION)
}

/// Fails with [`SeedError::NotMigrated`] unless migrations V2 (`seeder_state`) and V3
/// (`seeder_suspended_fks`) have been applied.
pub async fn ensure_schema(c: &impl GenericClient) -> Result<(), SeedError> {
    let row = c
        .query_one(
            "SELECT to_regclass('seeder_state') IS NOT NULL \
             AND to_regclass('seeder_suspended_fks') IS NOT NULL",
            &[],
        )
        .await?;
    if row.get::<_, bool>(0) {
        Ok(())
    } else {
        Err(SeedError::NotMigrated)
    }
}

pub async fn read(c: &impl GenericClient) -> Result<Vec<Recorded>, SeedError> {
    let rows = c
        .query(
            "SELECT table_name, seed, scale, anchor_date, data_version, row_count \
             FROM seeder_state ORDER BY table_name",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Recorded {
            table: r.get(0),
            seed: r.get(1),
            scale: r.get(2),
            anchor: r.get(3),
            data_version: r.get(4),
            rows: r.get(5),
        })
        .collect())
}

/// The tables still to load, or a refusal if what is recorded came from other parameters.
pub fn pending(recorded: &[Recorded], params: &Params) -> Result<Vec<Table>, SeedError> {
    let requested = describe_params(params);
    for r in recorded {
        let same = r.seed == params.seed as i64
            && r.scale == params.scale
            && r.anchor == params.anchor
            && r.data_version == DATA_VERSION;
        if !same || Table::from_name(&r.table).is_none() {
            return Err(SeedError::Mismatch {
                recorded: r.describe(),
                requested,
            });
        }
    }
    Ok(Table::ALL
        .into_iter()
        .filter(|t| !recorded.iter().any(|r| r.table == t.name()))
        .collect())
}

pub async fn is_recorded(c: &impl GenericClient, table: Table) -> Result<bool, SeedError> {
    let row = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM seeder_state WHERE table_name = $1)",
            &[&table.name()],
        )
        .await?;
    Ok(row.get(0))
}

pub async fn record(
    c: &impl GenericClient,
    table: Table,
    params: &Params,
    rows: u64,
    seconds: f64,
) -> Result<(), SeedError> {
    c.execute(
        "INSERT INTO seeder_state \
         (table_name, seed, scale, anchor_date, data_version, row_count, seconds) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &table.name(),
            &(params.seed as i64),
            &params.scale,
            &params.anchor,
            &DATA_VERSION,
            &(rows as i64),
            &seconds,
        ],
    )
    .await?;
    Ok(())
}

/// The statement that empties every seeded table and the bookkeeping, in one go.
/// `plans` and `difficulty_levels` belong to the migration and are kept. Every other table
/// that refers to `users` is seeded (`refresh_tokens`, `revoked_tokens`, `submissions`
/// included), so one TRUNCATE needs no CASCADE.
pub fn reset_sql() -> String {
    let tables: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
    format!(
        "TRUNCATE {}, seeder_state RESTART IDENTITY",
        tables.join(", ")
    )
}

/// Reads the migration's lookup rows by code.
pub async fn read_lookups(c: &impl GenericClient) -> Result<Lookups, SeedError> {
    let mut lookups = Lookups::as_migrated();
    let levels = c
        .query("SELECT code, id FROM difficulty_levels", &[])
        .await?;
    for (i, code) in Lookups::DIFFICULTY_CODES.iter().enumerate() {
        let row = levels
            .iter()
            .find(|r| r.get::<_, &str>(0) == *code)
            .ok_or_else(|| SeedError::MissingLookup(format!("difficulty_levels.code = {code}")))?;
        lookups.difficulty[i] = row.get(1);
    }
    let plans = c
        .query(
            "SELECT code, id, discount_percent, includes_career_support FROM plans",
            &[],
        )
        .await?;
    for (i, code) in Lookups::PLAN_CODES.iter().enumerate() {
        let row = plans
            .iter()
            .find(|r| r.get::<_, &str>(0) == *code)
            .ok_or_else(|| SeedError::MissingLookup(format!("plans.code = {code}")))?;
        lookups.plans[i] = PlanInfo {
            id: row.get(1),
            discount_percent: row.get(2),
            includes_career_support: row.get(3),
        };
    }
    Ok(lookups)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Params {
        Params {
            seed: 5,
            scale: 2.0,
            anchor: NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
        }
    }

    fn recorded(table: &str, seed: i64) -> Recorded {
        Recorded {
            table: table.into(),
            seed,
            scale: 2.0,
            anchor: params().anchor,
            data_version: DATA_VERSION,
            rows: 1,
        }
    }

    #[test]
    fn recorded_tables_are_skipped() {
        let todo = pending(&[recorded("users", 5), recorded("tags", 5)], &params()).expect("same");
        assert_eq!(todo.len(), Table::ALL.len() - 2);
        assert!(!todo.contains(&Table::Users));
        assert!(pending(&[], &params()).expect("fresh").len() == Table::ALL.len());
    }

    #[test]
    fn other_parameters_are_refused() {
        let err = pending(&[recorded("users", 6)], &params()).expect_err("other seed");
        let text = err.to_string();
        assert!(
            text.contains("seed 6") && text.contains("seed 5") && text.contains("--reset"),
            "{text}"
        );
    }

    #[test]
    fn reset_keeps_the_migration_lookups() {
        let sql = reset_sql();
        assert!(sql.contains("users") && sql.contains("seeder_state"));
        assert!(sql.contains("refresh_tokens") && sql.contains("revoked_tokens"));
        assert!(sql.contains("submissions") && sql.contains("submission_comments"));
        assert!(!sql.contains("plans") && !sql.contains("difficulty_levels"));
    }
}
