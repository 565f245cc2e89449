//! The lookup tables: specializations and difficulty levels, whole (the catalog's filters)
//! and by code (staff edits name them by slug or code).

use lyceum_db::DbError;

use super::Queries;
use crate::entity::catalog::{DifficultyLevel, Lookups, Specialization};

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
            specializations: specs
                .iter()
                .map(|r| Specialization {
                    id: r.get("id"),
                    slug: r.get("slug"),
                    name: r.get("name"),
                    description: r.get("description"),
                })
                .collect(),
            difficulty_levels: levels
                .iter()
                .map(|r| DifficultyLevel {
                    id: r.get("id"),
                    code: r.get("code"),
                    name: r.get("name"),
                    sort_order: r.get("sort_order"),
                })
                .collect(),
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
}
