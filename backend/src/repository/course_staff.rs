//! Who teaches, mentors and reviews each course (`course_staff`). Each function runs in the
//! use case's transaction.

use lyceum_db::DbError;

use super::Queries;
use crate::entity::{course_staff::CourseRole, user::StaffPosition};

/// The people of a course, as the staff of the course page sees them.
#[derive(Debug, Clone, Copy, Default)]
pub struct CourseStaffRepository;

impl CourseStaffRepository {
    /// Whether `user_id` holds `role` on course `course_id`.
    pub async fn holds(
        &self,
        c: &impl Queries,
        course_id: i64,
        user_id: i64,
        role: CourseRole,
    ) -> Result<bool, DbError> {
        let row = c
            .query_opt(
                "SELECT 1 FROM course_staff WHERE course_id = $1 AND user_id = $2 AND role = $3",
                &[&course_id, &user_id, &role.as_str()],
            )
            .await?;
        Ok(row.is_some())
    }

    /// The roles `user_id` holds on the course.
    pub async fn roles(
        &self,
        c: &impl Queries,
        course_id: i64,
        user_id: i64,
    ) -> Result<Vec<CourseRole>, DbError> {
        let rows = c
            .query(
                "SELECT role FROM course_staff WHERE course_id = $1 AND user_id = $2",
                &[&course_id, &user_id],
            )
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let role: &str = r.get("role");
                CourseRole::ALL.into_iter().find(|k| k.as_str() == role)
            })
            .collect())
    }

    /// Whether `user_id` holds `role` on any course.
    pub async fn holds_any(
        &self,
        c: &impl Queries,
        user_id: i64,
        role: CourseRole,
    ) -> Result<bool, DbError> {
        let row = c
            .query_opt(
                "SELECT 1 FROM course_staff WHERE user_id = $1 AND role = $2 LIMIT 1",
                &[&user_id, &role.as_str()],
            )
            .await?;
        Ok(row.is_some())
    }

    /// Gives `user_id` `role` on the course; `false` when they already held it.
    pub async fn assign(
        &self,
        c: &impl Queries,
        course_id: i64,
        user_id: i64,
        role: CourseRole,
    ) -> Result<bool, DbError> {
        let written = c
            .execute(
                "INSERT INTO course_staff (course_id, user_id, role) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
                &[&course_id, &user_id, &role.as_str()],
            )
            .await?;
        Ok(written == 1)
    }

    /// Takes `role` on the course from `user_id`; `false` when they did not hold it.
    pub async fn remove(
        &self,
        c: &impl Queries,
        course_id: i64,
        user_id: i64,
        role: CourseRole,
    ) -> Result<bool, DbError> {
        let written = c
            .execute(
                "DELETE FROM course_staff WHERE course_id = $1 AND user_id = $2 AND role = $3",
                &[&course_id, &user_id, &role.as_str()],
            )
            .await?;
        Ok(written == 1)
    }

    /// Removes the course roles `user_id` can no longer hold with `position` (all of them
    /// when `None`: a student, or a position without course roles); answers the courses whose
    /// pages changed.
    pub async fn drop_unfit(
        &self,
        c: &impl Queries,
        user_id: i64,
        position: Option<StaffPosition>,
    ) -> Result<Vec<i64>, DbError> {
        let kept = position
            .and_then(CourseRole::for_position)
            .map(CourseRole::as_str);
        let rows = c
            .query(
                "DELETE FROM course_staff WHERE user_id = $1 AND role IS DISTINCT FROM $2 \
                 RETURNING course_id",
                &[&user_id, &kept],
            )
            .await?;
        let mut courses: Vec<i64> = rows.iter().map(|r| r.get("course_id")).collect();
        courses.sort_unstable();
        courses.dedup();
        Ok(courses)
    }
}
