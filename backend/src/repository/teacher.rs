//! Teacher profiles: the list, one teacher with the published courses they staff, and the
//! profile's writes.

use lyceum_db::DbError;
use tokio_postgres::{Row, types::ToSql};

use super::{Queries, page::fetch_page};
use crate::entity::catalog::{SpecializationRef, TeacherCourse, TeacherProfile, TeacherSummary};
use crate::entity::page::{Page, PageRequest};
use crate::entity::teacher::TeacherProfileForUpsert;

/// Teacher profiles.
#[derive(Debug, Clone, Copy, Default)]
pub struct TeacherRepository;

const TEACHER_SELECT: &str = "SELECT u.id AS user_id, u.first_name, u.last_name, \
     COALESCE(tp.photo_url, u.photo_url) AS photo_url, tp.workplace, tp.years_experience, \
     tp.years_in_specialization, s.slug AS specialization_slug, s.name AS specialization_name \
     FROM teacher_profiles tp JOIN users u ON u.id = tp.user_id \
     LEFT JOIN specializations s ON s.id = tp.specialization_id";

fn teacher_from_row(r: &Row) -> TeacherSummary {
    let slug: Option<String> = r.get("specialization_slug");
    let name: Option<String> = r.get("specialization_name");
    TeacherSummary {
        user_id: r.get("user_id"),
        first_name: r.get("first_name"),
        last_name: r.get("last_name"),
        photo_url: r.get("photo_url"),
        workplace: r.get("workplace"),
        years_experience: r.get("years_experience"),
        years_in_specialization: r.get("years_in_specialization"),
        specialization: slug
            .zip(name)
            .map(|(slug, name)| SpecializationRef { slug, name }),
    }
}

impl TeacherRepository {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list(
        &self,
        c: &impl Queries,
        page: PageRequest,
    ) -> Result<Page<TeacherSummary>, DbError> {
        // Deactivated teachers leave the list (their page stays, with its history).
        let sql = format!(
            "{TEACHER_SELECT} WHERE u.deactivated_at IS NULL \
             ORDER BY u.last_name, u.first_name, u.id"
        );
        fetch_page(c, &sql, &[], page, |r| Ok(teacher_from_row(r))).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = id))]
    pub async fn profile(
        &self,
        c: &impl Queries,
        id: i64,
    ) -> Result<Option<TeacherProfile>, DbError> {
        let sql = format!("{TEACHER_SELECT} WHERE tp.user_id = $1");
        let by_id: [&(dyn ToSql + Sync); 1] = [&id];
        let (teacher, courses) = tokio::try_join!(
            c.query_opt(&sql, &by_id),
            c.query(
                "SELECT c.id, c.title, cs.role FROM course_staff cs \
                 JOIN courses c ON c.id = cs.course_id \
                 WHERE cs.user_id = $1 AND c.published ORDER BY c.title, c.id, cs.role",
                &by_id
            ),
        )?;
        Ok(teacher.map(|t| TeacherProfile {
            teacher: teacher_from_row(&t),
            courses: courses
                .iter()
                .map(|r| TeacherCourse {
                    id: r.get("id"),
                    title: r.get("title"),
                    role: r.get("role"),
                })
                .collect(),
        }))
    }

    /// Creates or replaces `user_id`'s profile; `false` when `profile.specialization` names no
    /// specialization (nothing is written).
    #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
    pub async fn upsert(
        &self,
        c: &impl Queries,
        user_id: i64,
        profile: &TeacherProfileForUpsert,
    ) -> Result<bool, DbError> {
        let written = c
            .execute(
                "INSERT INTO teacher_profiles (user_id, specialization_id, workplace, \
                   years_experience, years_in_specialization, photo_url) \
                 SELECT $1, s.id, $3, $4, $5, $6 \
                   FROM (SELECT $2::text AS slug) AS wanted \
                   LEFT JOIN specializations s ON s.slug = wanted.slug \
                  WHERE wanted.slug IS NULL OR s.id IS NOT NULL \
                 ON CONFLICT (user_id) DO UPDATE SET \
                   specialization_id = EXCLUDED.specialization_id, workplace = EXCLUDED.workplace, \
                   years_experience = EXCLUDED.years_experience, \
                   years_in_specialization = EXCLUDED.years_in_specialization, \
                   photo_url = EXCLUDED.photo_url",
                &[
                    &user_id,
                    &profile.specialization,
                    &profile.workplace,
                    &profile.years_experience,
                    &profile.years_in_specialization,
                    &profile.photo_url,
                ],
            )
            .await?;
        Ok(written == 1)
    }

    /// The courses whose pages show `user_id` (as course staff).
    #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
    pub async fn courses_showing(
        &self,
        c: &impl Queries,
        user_id: i64,
    ) -> Result<Vec<i64>, DbError> {
        let rows = c
            .query(
                "SELECT DISTINCT course_id FROM course_staff WHERE user_id = $1",
                &[&user_id],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get("course_id")).collect())
    }
}
