//! Report SQL. Each report is one statement shaped for its index or rollup (docs/SCHEMA.md):
//! ratings from the `course_rating` rollup (kept by triggers on `reviews`, migration V11),
//! buyers from `purchases_course_run_status_idx`, revenue from the `revenue_by_course_month`
//! rollup (kept by triggers on `purchases`, V10), employment from the
//! `hires_by_course_company` rollup (kept by triggers on `job_applications`, V13), learning
//! from the `review_turnaround` histogram (a few rows per course, kept by each decision).

use lyceum_db::DbError;

use super::{
    Queries,
    course::{enrolled_sql, graduates_sql},
};
use crate::entity::report::{
    EmploymentRow, LearningRow, RevenueRange, RevenueRow, TopCourse, completion_rate,
    turnaround_bucket_seconds,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct ReportRepository;

impl ReportRepository {
    /// Published courses with at least one review, best average rating first (ties: more
    /// reviews, then lower id). Buyers and workplaces are computed for those `limit` only.
    #[tracing::instrument(level = "debug", skip_all, fields(limit))]
    pub async fn top_courses(
        &self,
        c: &impl Queries,
        limit: u32,
    ) -> Result<Vec<TopCourse>, DbError> {
        let rows = c
            .query(
                // Ranked from the ratings rollup the reviews' triggers keep (migration V11):
                // one row per course; the average is the same numeric division avg() does.
                "WITH ranked AS ( \
                   SELECT r.course_id, r.rating_sum::numeric / r.review_count AS avg_rating, \
                          r.review_count \
                   FROM course_rating r JOIN courses c ON c.id = r.course_id AND c.published \
                   WHERE r.review_count > 0 \
                   ORDER BY avg_rating DESC, r.review_count DESC, r.course_id \
                   LIMIT $1) \
                 SELECT k.course_id, c.title, k.avg_rating::float8 AS average_rating, k.review_count, \
                   (SELECT count(DISTINCT p.user_id) FROM course_runs cr \
                      JOIN purchases p ON p.course_run_id = cr.id \
                     WHERE cr.course_id = k.course_id AND p.status = 'paid') AS buyers, \
                   ARRAY(SELECT DISTINCT tp.workplace FROM course_staff cs \
                           JOIN teacher_profiles tp ON tp.user_id = cs.user_id \
                          WHERE cs.course_id = k.course_id AND cs.role = 'teacher' \
                          ORDER BY 1) AS teacher_workplaces \
                 FROM ranked k JOIN courses c ON c.id = k.course_id \
                 ORDER BY k.avg_rating DESC, k.review_count DESC, k.course_id",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| TopCourse {
                course_id: r.get("course_id"),
                title: r.get("title"),
                average_rating: r.get("average_rating"),
                review_count: r.get("review_count"),
                buyers: r.get("buyers"),
                teacher_workplaces: r.get("teacher_workplaces"),
            })
            .collect())
    }

    /// Paid purchases by month of `paid_at` (UTC) and the course's specialization, oldest
    /// month first, then by specialization name. Refunded purchases are not revenue.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn revenue(
        &self,
        c: &impl Queries,
        range: RevenueRange,
    ) -> Result<Vec<RevenueRow>, DbError> {
        let (from, until) = range.bounds();
        let rows = c
            .query(
                // From the rollup the purchases' triggers keep (migration V10): one row per
                // course and month sold, so the cost follows the catalog, not the purchases.
                "SELECT to_char(pr.month, 'YYYY-MM') AS month, s.id AS specialization_id, \
                        s.name AS specialization, sum(pr.revenue)::bigint AS revenue, \
                        sum(pr.purchases)::bigint AS purchases \
                 FROM revenue_by_course_month pr \
                 JOIN courses c ON c.id = pr.course_id \
                 JOIN specializations s ON s.id = c.specialization_id \
                 WHERE pr.month >= $1 AND pr.month < $2 AND pr.purchases > 0 \
                 GROUP BY pr.month, s.id, s.name \
                 ORDER BY pr.month, s.name, s.id",
                &[&from, &until],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| RevenueRow {
                month: r.get("month"),
                specialization_id: r.get("specialization_id"),
                specialization: r.get("specialization"),
                revenue: r.get("revenue"),
                purchases: r.get("purchases"),
            })
            .collect())
    }

    /// Hired applications per course (through the career track) and company, most hires
    /// first, then by course and company id; the first `limit` rows.
    #[tracing::instrument(level = "debug", skip_all, fields(limit))]
    pub async fn employment(
        &self,
        c: &impl Queries,
        limit: u32,
    ) -> Result<Vec<EmploymentRow>, DbError> {
        let rows = c
            .query(
                // The first rows of the rollup's rank index (migration V13), then their names.
                "SELECT h.course_id, c.title AS course_title, h.company_id, pc.short_name AS company, \
                        h.hired \
                 FROM hires_by_course_company h \
                 JOIN courses c ON c.id = h.course_id \
                 JOIN partner_companies pc ON pc.id = h.company_id \
                 WHERE h.hired > 0 \
                 ORDER BY h.hired DESC, h.course_id, h.company_id \
                 LIMIT $1",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| EmploymentRow {
                course_id: r.get("course_id"),
                course_title: r.get("course_title"),
                company_id: r.get("company_id"),
                company: r.get("company"),
                hired: r.get("hired"),
            })
            .collect())
    }

    /// Courses with reviewed submissions, most decisions first (ties: lower id): the
    /// turnaround percentiles from each course's histogram (nearest rank: the first bucket
    /// whose running count reaches p × decisions), enrolled students and graduates for
    /// those `limit` courses only.
    #[tracing::instrument(level = "debug", skip_all, fields(limit))]
    pub async fn learning(
        &self,
        c: &impl Queries,
        limit: u32,
    ) -> Result<Vec<LearningRow>, DbError> {
        let sql = format!(
            "WITH busiest AS ( \
               SELECT course_id, sum(decisions)::bigint AS decisions FROM review_turnaround \
               GROUP BY course_id ORDER BY decisions DESC, course_id LIMIT $1), \
             running AS ( \
               SELECT t.course_id, t.bucket, b.decisions, \
                      sum(t.decisions) OVER (PARTITION BY t.course_id ORDER BY t.bucket) AS upto \
               FROM review_turnaround t JOIN busiest b ON b.course_id = t.course_id) \
             SELECT b.course_id, c.title, b.decisions, \
               (SELECT min(bucket) FROM running u \
                 WHERE u.course_id = b.course_id AND u.upto >= ceil(0.5 * u.decisions)) AS p50, \
               (SELECT min(bucket) FROM running u \
                 WHERE u.course_id = b.course_id AND u.upto >= ceil(0.9 * u.decisions)) AS p90, \
               {} AS enrolled, {} AS graduates \
             FROM busiest b JOIN courses c ON c.id = b.course_id \
             ORDER BY b.decisions DESC, b.course_id",
            enrolled_sql("b.course_id"),
            graduates_sql("b.course_id")
        );
        let rows = c.query(&sql, &[&i64::from(limit)]).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let (enrolled, graduates) = (r.get("enrolled"), r.get("graduates"));
                LearningRow {
                    course_id: r.get("course_id"),
                    title: r.get("title"),
                    decisions: r.get("decisions"),
                    turnaround_p50_s: turnaround_bucket_seconds(r.get("p50")),
                    turnaround_p90_s: turnaround_bucket_seconds(r.get("p90")),
                    enrolled,
                    graduates,
                    completion_rate: completion_rate(graduates, enrolled),
                }
            })
            .collect())
    }
}
