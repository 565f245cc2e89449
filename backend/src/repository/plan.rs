//! The plans table (owned by the migrations; no API writes it).

use lyceum_db::DbError;

use super::Queries;
use crate::entity::{plan::Plan, purchase::PlanCode};

/// Every plan, in the table's order (basic, career track, discounted).
pub(super) const PLANS_SELECT: &str = "SELECT code, name, discount_percent, includes_career_support \
     FROM plans ORDER BY id";

/// Reads the rows of [`PLANS_SELECT`].
pub(super) fn plans_from_rows(rows: &[tokio_postgres::Row]) -> Result<Vec<Plan>, DbError> {
    rows.iter()
        .map(|r| {
            let code: String = r.get("code");
            let code = PlanCode::parse(&code)
                .ok_or_else(|| DbError::Decode(format!("unknown plan code {code:?}")))?;
            Ok(Plan::new(
                code,
                r.get("name"),
                r.get("discount_percent"),
                r.get("includes_career_support"),
            ))
        })
        .collect()
}

/// The plans a purchase can name.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanRepository;

impl PlanRepository {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn all(&self, c: &impl Queries) -> Result<Vec<Plan>, DbError> {
        plans_from_rows(&c.query(PLANS_SELECT, &[]).await?)
    }
}
