//! The lookup tables: specializations and difficulty levels, whole (the catalog's filters),
//! by code (staff edits name them by slug or code), and the admin's writes to them.
//!
//! Unique slugs, names, codes and sort orders and the "in use" rule (courses and teacher
//! profiles reference lookup rows `ON DELETE RESTRICT`) are left to the database: its
//! constraints decide even between concurrent edits, and `usecase` maps them by name.

use lyceum_db::DbError;
use tokio_postgres::Row;

use super::Queries;
use crate::entity::{
    catalog::{DifficultyLevel, Lookups, Specialization},
    lookup::{
        DifficultyForCreate, DifficultyForUpdate, LookupTable, SpecializationForCreate,
        SpecializationForUpdate,
    },
};

fn specialization(r: &Row) -> Specialization {
    Specialization {
        id: r.get("id"),
        slug: r.get("slug"),
        name: r.get("name"),
        description: r.get("description"),
    }
}

fn difficulty(r: &Row) -> DifficultyLevel {
    DifficultyLevel {
        id: r.get("id"),
        code: r.get("code"),
        name: r.get("name"),
        sort_order: r.get("sort_order"),
    }
}

/// The specialization and difficulty tables.
#[derive(Debug, Clone, Copy, Default)]
pub struct LookupRepository;

impl LookupRepository {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn all(&self, c: &impl Queries) -> Result<Lookups, DbError> {
        let (specs, levels) = tokio::try_join!(
            c.query(
                "SELECT id, slug, name, description FROM specializations ORDER BY name, id",
                &[]
            ),
            c.query(
                "SELECT id, code, name, sort_order FROM difficulty_levels ORDER BY sort_order",
                &[]
            ),
        )?;
        Ok(Lookups {
            specializations: specs.iter().map(specialization).collect(),
            difficulty_levels: levels.iter().map(difficulty).collect(),
        })
    }

    pub async fn specialization_id(
        &self,
        c: &impl Queries,
        slug: &str,
    ) -> Result<Option<i32>, DbError> {
        let row = c
            .query_opt("SELECT id FROM specializations WHERE slug = $1", &[&slug])
            .await?;
        Ok(row.map(|r| r.get("id")))
    }

    pub async fn difficulty_id(
        &self,
        c: &impl Queries,
        code: &str,
    ) -> Result<Option<i32>, DbError> {
        let row = c
            .query_opt("SELECT id FROM difficulty_levels WHERE code = $1", &[&code])
            .await?;
        Ok(row.map(|r| r.get("id")))
    }

    pub async fn insert_specialization(
        &self,
        c: &impl Queries,
        new: &SpecializationForCreate,
    ) -> Result<Specialization, DbError> {
        let row = c
            .query_one(
                "INSERT INTO specializations (slug, name, description) VALUES ($1, $2, $3) \
                 RETURNING id, slug, name, description",
                &[&new.slug, &new.name, &new.description],
            )
            .await?;
        Ok(specialization(&row))
    }

    /// `None` when there is no such specialization.
    pub async fn update_specialization(
        &self,
        c: &impl Queries,
        id: i32,
        changes: &SpecializationForUpdate,
    ) -> Result<Option<Specialization>, DbError> {
        let row = c
            .query_opt(
                "UPDATE specializations SET slug = COALESCE($2, slug), name = COALESCE($3, name), \
                 description = COALESCE($4, description) WHERE id = $1 \
                 RETURNING id, slug, name, description",
                &[&id, &changes.slug, &changes.name, &changes.description],
            )
            .await?;
        Ok(row.as_ref().map(specialization))
    }

    pub async fn insert_difficulty(
        &self,
        c: &impl Queries,
        new: &DifficultyForCreate,
    ) -> Result<DifficultyLevel, DbError> {
        let row = c
            .query_one(
                "INSERT INTO difficulty_levels (code, name, sort_order) VALUES ($1, $2, $3) \
                 RETURNING id, code, name, sort_order",
                &[&new.code, &new.name, &new.sort_order],
            )
            .await?;
        Ok(difficulty(&row))
    }

    /// `None` when there is no such difficulty level.
    pub async fn update_difficulty(
        &self,
        c: &impl Queries,
        id: i32,
        changes: &DifficultyForUpdate,
    ) -> Result<Option<DifficultyLevel>, DbError> {
        let row = c
            .query_opt(
                "UPDATE difficulty_levels SET code = COALESCE($2, code), name = COALESCE($3, name), \
                 sort_order = COALESCE($4, sort_order) WHERE id = $1 \
                 RETURNING id, code, name, sort_order",
                &[&id, &changes.code, &changes.name, &changes.sort_order],
            )
            .await?;
        Ok(row.as_ref().map(difficulty))
    }

    /// Whether a row was deleted. A row in use fails on the foreign keys that refer to it.
    pub async fn delete(
        &self,
        c: &impl Queries,
        table: LookupTable,
        id: i32,
    ) -> Result<bool, DbError> {
        let sql = format!("DELETE FROM {} WHERE id = $1", names(table).0);
        Ok(c.execute(&sql, &[&id]).await? == 1)
    }

    /// The courses whose pages show this row (to drop their cached pages).
    pub async fn courses_using(
        &self,
        c: &impl Queries,
        table: LookupTable,
        id: i32,
    ) -> Result<Vec<i64>, DbError> {
        let sql = format!("SELECT id FROM courses WHERE {} = $1", names(table).1);
        let rows = c.query(&sql, &[&id]).await?;
        Ok(rows.iter().map(|r| r.get("id")).collect())
    }
}

/// The table of `table`, and the column of `courses` that refers to it.
fn names(table: LookupTable) -> (&'static str, &'static str) {
    match table {
        LookupTable::Specialization => ("specializations", "specialization_id"),
        LookupTable::DifficultyLevel => ("difficulty_levels", "difficulty_level_id"),
    }
}
