//! Course reads: the public list (filters, full-text search, sort orders) and the course page
//! with its syllabus, staff, upcoming runs and statistics.
//!
//! Prices on the course page and its runs come from `entity::plan`, the function a purchase
//! charges with.
//!
//! `courses.search_vector` is never selected (the driver has no type for `tsvector`); it is
//! only used in `WHERE` and `ORDER BY`.

use std::collections::HashMap;

use lyceum_db::DbError;
use tokio_postgres::{Row, types::ToSql};

use super::{
    Queries,
    plan::{PLANS_SELECT, plans_from_rows},
};
use crate::entity::catalog::{
    CourseDetail, CourseListQuery, CourseRun, CourseSort, CourseStaffMember, CourseStats,
    CourseSummary, DifficultyRef, Project, SpecializationRef, Topic,
};
use crate::entity::plan::{self, PlanPrice};
use crate::entity::report::completion_rate;

/// Whether the run `r` can still be bought: its last day of sales is today or later. The
/// purchase checks this and the course list's "on sale" filter uses it, so both agree.
pub(super) const SALES_OPEN: &str = "r.sales_end_date >= current_date";

/// The soonest start of the course `c`'s runs that are on sale (sales open, seats left), as
/// `ns.next_start` (NULL when there is none).
fn next_start_join() -> String {
    format!(
        " CROSS JOIN LATERAL (SELECT min(r.start_date) AS next_start FROM course_runs r \
         WHERE r.course_id = c.id AND {SALES_OPEN} AND r.seats_left > 0) ns"
    )
}

type Param = Box<dyn ToSql + Sync + Send>;

/// The courses with the lookup rows a list filters, sorts and shows them by (a macro, so
/// that `concat!` can build the constants below from it).
macro_rules! courses_from {
    () => {
        " FROM courses c \
         JOIN specializations s ON s.id = c.specialization_id \
         JOIN difficulty_levels d ON d.id = c.difficulty_level_id"
    };
}
const COURSES_FROM: &str = courses_from!();

const SUMMARY_SELECT: &str = concat!(
    "SELECT c.id, c.title, c.description, \
     s.slug AS specialization_slug, s.name AS specialization_name, d.code AS difficulty_code, \
     d.name AS difficulty_name, c.duration_weeks, c.price, c.published, c.created_at, c.updated_at",
    courses_from!()
);

fn summary_from_row(r: &Row) -> CourseSummary {
    CourseSummary {
        id: r.get("id"),
        title: r.get("title"),
        description: r.get("description"),
        specialization: SpecializationRef {
            slug: r.get("specialization_slug"),
            name: r.get("specialization_name"),
        },
        difficulty: DifficultyRef {
            code: r.get("difficulty_code"),
            name: r.get("difficulty_name"),
        },
        duration_weeks: r.get("duration_weeks"),
        price: r.get("price"),
        published: r.get("published"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

/// Published courses as learners see them (staff see drafts on the course page too).
#[derive(Debug, Clone, Copy, Default)]
pub struct CourseRepository;

impl CourseRepository {
    /// The ids of the published courses a list query selects, in its order: `limit` of them
    /// from position `offset` on. The list's rows come from [`Self::summaries`], so that a
    /// cached list can hold ids while each course's fields are cached once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_ids(
        &self,
        c: &impl Queries,
        q: &CourseListQuery,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<i64>, DbError> {
        let mut params: Vec<Param> = Vec::new();
        let next_start = if q.reads_runs() {
            next_start_join()
        } else {
            String::new()
        };
        let mut sql = format!("SELECT c.id{COURSES_FROM}{next_start} WHERE c.published");
        match q.on_sale {
            Some(true) => sql.push_str(" AND ns.next_start IS NOT NULL"),
            Some(false) => sql.push_str(" AND ns.next_start IS NULL"),
            None => {}
        }
        let mut bind = |sql: &mut String, clause: &str, value: Param| {
            params.push(value);
            sql.push_str(&clause.replace("$?", &format!("${}", params.len())));
        };
        if let Some(slug) = &q.specialization {
            bind(&mut sql, " AND s.slug = $?", Box::new(slug.clone()));
        }
        if let Some(code) = &q.difficulty {
            bind(&mut sql, " AND d.code = $?", Box::new(code.clone()));
        }
        if let Some(lo) = q.min_price {
            bind(&mut sql, " AND c.price >= $?", Box::new(lo));
        }
        if let Some(hi) = q.max_price {
            bind(&mut sql, " AND c.price <= $?", Box::new(hi));
        }
        let mut rank = String::new();
        if let Some(text) = &q.q {
            bind(
                &mut sql,
                " AND c.search_vector @@ websearch_to_tsquery('english', $?)",
                Box::new(text.clone()),
            );
            rank = format!(
                "ts_rank(c.search_vector, websearch_to_tsquery('english', ${})) DESC, ",
                params.len()
            );
        }
        let order = match q.sort {
            CourseSort::Newest => "c.created_at DESC, c.id DESC".to_string(),
            CourseSort::PriceAsc => "c.price ASC, c.id ASC".to_string(),
            CourseSort::PriceDesc => "c.price DESC, c.id DESC".to_string(),
            CourseSort::Title => "c.title ASC, c.id ASC".to_string(),
            CourseSort::Difficulty => "d.sort_order ASC, c.created_at DESC, c.id DESC".to_string(),
            CourseSort::Relevance => format!("{rank}c.created_at DESC, c.id DESC"),
            CourseSort::NextStart => "ns.next_start ASC NULLS LAST, c.id ASC".to_string(),
        };
        let n = params.len();
        sql.push_str(&format!(
            " ORDER BY {order} LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        params.push(Box::new(limit));
        params.push(Box::new(offset));
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = c.query(&sql, &refs).await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// The list rows of those of `ids` that are published, in no particular order.
    #[tracing::instrument(level = "debug", skip_all, fields(courses = ids.len()))]
    pub async fn summaries(
        &self,
        c: &impl Queries,
        ids: &[i64],
    ) -> Result<Vec<CourseSummary>, DbError> {
        let sql = format!("{SUMMARY_SELECT} WHERE c.id = ANY($1) AND c.published");
        let rows = c.query(&sql, &[&ids]).await?;
        Ok(rows.iter().map(summary_from_row).collect())
    }

    /// The full course page; unpublished courses only when `include_unpublished`.
    #[tracing::instrument(level = "debug", skip_all, fields(course_id = id))]
    pub async fn detail(
        &self,
        c: &impl Queries,
        id: i64,
        include_unpublished: bool,
    ) -> Result<Option<CourseDetail>, DbError> {
        let summary_sql = format!("{SUMMARY_SELECT} WHERE c.id = $1 AND (c.published OR $2)");
        let by_id: [&(dyn ToSql + Sync); 1] = [&id];
        let summary_params: [&(dyn ToSql + Sync); 2] = [&id, &include_unpublished];
        let stats_sql = format!(
            "SELECT {} AS buyers, \
               (SELECT avg(rating)::float8 FROM reviews WHERE course_id = $1) AS average_rating, \
               (SELECT count(*) FROM reviews WHERE course_id = $1) AS review_count, \
               (SELECT count(DISTINCT ct.user_id) FROM career_tracks ct \
                  JOIN job_applications ja ON ja.career_track_id = ct.id \
                 WHERE ct.course_id = $1 AND ja.status = 'hired') AS graduates_employed, \
               {} AS graduates",
            enrolled_sql("$1"),
            graduates_sql("$1")
        );
        // Independent queries on one connection: tokio-postgres pipelines them.
        let (course, topics, projects, staff, runs, stats, plans) = tokio::try_join!(
            c.query_opt(&summary_sql, &summary_params),
            c.query(
                "SELECT id, position, name, description, technologies, effort_hours \
                 FROM topics WHERE course_id = $1 ORDER BY position",
                &by_id
            ),
            c.query(
                "SELECT p.id, p.topic_id, p.title, p.description FROM projects p \
                 JOIN topics t ON t.id = p.topic_id WHERE t.course_id = $1 ORDER BY p.topic_id, p.id",
                &by_id
            ),
            c.query(
                "SELECT u.id AS user_id, u.first_name, u.last_name, cs.role, \
                        COALESCE(tp.photo_url, u.photo_url) AS photo_url, tp.workplace \
                 FROM course_staff cs JOIN users u ON u.id = cs.user_id \
                 LEFT JOIN teacher_profiles tp ON tp.user_id = u.id \
                 WHERE cs.course_id = $1 AND u.deactivated_at IS NULL \
                 ORDER BY array_position(ARRAY['teacher','mentor','reviewer'], cs.role), \
                          u.last_name, u.id",
                &by_id
            ),
            c.query(
                "SELECT id, start_date, sales_end_date, seats_total, seats_left FROM course_runs \
                 WHERE course_id = $1 AND start_date >= current_date ORDER BY start_date, id",
                &by_id
            ),
            c.query_one(
                &stats_sql,
                &by_id
            ),
            c.query(PLANS_SELECT, &[]),
        )?;
        let Some(course) = course else {
            return Ok(None);
        };
        let course = summary_from_row(&course);
        let prices = plan::prices(course.price, &plans_from_rows(&plans)?);
        let mut projects_by_topic: HashMap<i64, Vec<Project>> = HashMap::new();
        for r in &projects {
            projects_by_topic
                .entry(r.get("topic_id"))
                .or_default()
                .push(Project {
                    id: r.get("id"),
                    title: r.get("title"),
                    description: r.get("description"),
                });
        }
        let topics = topics
            .iter()
            .map(|r| {
                let topic_id: i64 = r.get("id");
                let projects = projects_by_topic.remove(&topic_id).unwrap_or_default();
                Topic {
                    id: topic_id,
                    position: r.get("position"),
                    name: r.get("name"),
                    description: r.get("description"),
                    technologies: r.get("technologies"),
                    effort_hours: r.get("effort_hours"),
                    project_count: projects.len() as i64,
                    projects,
                }
            })
            .collect();
        Ok(Some(CourseDetail {
            course,
            topics,
            staff: staff
                .iter()
                .map(|r| CourseStaffMember {
                    user_id: r.get("user_id"),
                    first_name: r.get("first_name"),
                    last_name: r.get("last_name"),
                    role: r.get("role"),
                    photo_url: r.get("photo_url"),
                    workplace: r.get("workplace"),
                })
                .collect(),
            upcoming_runs: runs.iter().map(|r| run_from_row(r, &prices)).collect(),
            prices,
            stats: CourseStats {
                buyers: stats.get("buyers"),
                average_rating: stats.get("average_rating"),
                review_count: stats.get("review_count"),
                graduates_employed: stats.get("graduates_employed"),
                graduates: stats.get("graduates"),
                completion_rate: completion_rate(stats.get("graduates"), stats.get("buyers")),
            },
        }))
    }
}

/// The students enrolled in the course `course` (an SQL expression): distinct users with a
/// `paid` purchase of any of its runs (`purchases_course_run_status_idx`).
pub(super) fn enrolled_sql(course: &str) -> String {
    format!(
        "(SELECT count(DISTINCT p.user_id) FROM purchases p \
            JOIN course_runs r ON r.id = p.course_run_id \
           WHERE r.course_id = {course} AND p.status = 'paid')"
    )
}

/// The graduates of the course `course` (an SQL expression): enrolled students holding its
/// certificate (`certificates_course_idx`).
pub(super) fn graduates_sql(course: &str) -> String {
    format!(
        "(SELECT count(*) FROM certificates ce WHERE ce.course_id = {course} \
             AND EXISTS (SELECT 1 FROM purchases p \
                           JOIN course_runs r ON r.id = p.course_run_id \
                          WHERE r.course_id = {course} AND p.status = 'paid' \
                            AND p.user_id = ce.user_id))"
    )
}

/// A run; `prices` are its course's (a run costs what its course costs).
pub(super) fn run_from_row(r: &Row, prices: &[PlanPrice]) -> CourseRun {
    CourseRun {
        id: r.get("id"),
        start_date: r.get("start_date"),
        sales_end_date: r.get("sales_end_date"),
        seats_total: r.get("seats_total"),
        seats_left: r.get("seats_left"),
        prices: prices.to_vec(),
    }
}
