//! Facts about purchases that other areas' rules depend on (reviews, certificates, tracks,
//! submissions).
//! Served by `purchases_course_run_status_idx` joined from `course_runs_course_start_idx`.

use lyceum_db::DbError;

use super::Queries;

#[derive(Debug, Clone, Copy, Default)]
pub struct BuyerRepository;

impl BuyerRepository {
    /// Whether the user has a `paid` purchase of any run of the course.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id, course_id))]
    pub async fn has_paid_purchase(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
    ) -> Result<bool, DbError> {
        let row = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM course_runs r \
                   JOIN purchases p ON p.course_run_id = r.id \
                  WHERE r.course_id = $1 AND p.status = 'paid' AND p.user_id = $2) AS found",
                &[&course_id, &user_id],
            )
            .await?;
        Ok(row.get("found"))
    }

    /// Locks the student's enrollment in the course (their first `paid` purchase of one of its
    /// runs); `false` when they are not enrolled. Acceptances of one student's projects of one
    /// course take this lock in turn, so the last of two concurrent acceptances sees the first
    /// and completion is decided once.
    pub async fn lock_enrollment(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
    ) -> Result<bool, DbError> {
        let row = c
            .query_opt(
                "SELECT p.id FROM purchases p JOIN course_runs r ON r.id = p.course_run_id \
                  WHERE p.user_id = $1 AND r.course_id = $2 AND p.status = 'paid' \
                  ORDER BY p.id LIMIT 1 FOR UPDATE OF p",
                &[&user_id, &course_id],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Whether the user has a `paid` purchase of the course on a plan with career support.
    pub async fn has_career_purchase(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
    ) -> Result<bool, DbError> {
        let row = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM course_runs r \
                   JOIN purchases p ON p.course_run_id = r.id \
                   JOIN plans pl ON pl.id = p.plan_id \
                  WHERE r.course_id = $1 AND p.status = 'paid' AND p.user_id = $2 \
                    AND pl.includes_career_support) AS found",
                &[&course_id, &user_id],
            )
            .await?;
        Ok(row.get("found"))
    }

    /// The course's publication state; `None` when there is no such course.
    pub async fn course_published(
        &self,
        c: &impl Queries,
        course_id: i64,
    ) -> Result<Option<bool>, DbError> {
        let row = c
            .query_opt("SELECT published FROM courses WHERE id = $1", &[&course_id])
            .await?;
        Ok(row.map(|r| r.get("published")))
    }

    pub async fn user_exists(&self, c: &impl Queries, user_id: i64) -> Result<bool, DbError> {
        let row = c
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1) AS found",
                &[&user_id],
            )
            .await?;
        Ok(row.get("found"))
    }
}
