//! `submissions`: attempts, the review queue, and the facts completion depends on. Each
//! function runs in the use case's transaction.

use lyceum_db::DbError;
use tokio_postgres::Row;

use super::{Queries, page::fetch_page};
use crate::entity::page::{Page, PageRequest};
use crate::entity::submission::{
    CourseProgress, ProjectProgress, Submission, SubmissionComment, SubmissionForCreate,
    SubmissionStatus, Verdict,
};

const COLUMNS: &str = "s.id, s.user_id, s.course_id, s.project_id, s.attempt, s.repository_url, \
     s.note, s.status, s.claimed_by, s.claimed_until, s.reviewed_by, s.reviewed_at, s.feedback, \
     s.created_at, s.updated_at";

fn submission_from_row(r: &Row) -> Result<Submission, DbError> {
    let status: &str = r.get("status");
    Ok(Submission {
        id: r.get("id"),
        user_id: r.get("user_id"),
        course_id: r.get("course_id"),
        project_id: r.get("project_id"),
        attempt: r.get("attempt"),
        repository_url: r.get("repository_url"),
        note: r.get("note"),
        status: SubmissionStatus::parse(status)
            .ok_or_else(|| DbError::Decode(format!("unknown submission status {status:?}")))?,
        claimed_by: r.get("claimed_by"),
        claimed_until: r.get("claimed_until"),
        reviewed_by: r.get("reviewed_by"),
        reviewed_at: r.get("reviewed_at"),
        feedback: r.get("feedback"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

const COMMENT_SELECT: &str = "SELECT m.id, m.submission_id, m.author_id, \
     u.first_name || ' ' || u.last_name AS author_name, m.body, m.created_at \
     FROM submission_comments m JOIN users u ON u.id = m.author_id";

fn comment_from_row(r: &Row) -> SubmissionComment {
    SubmissionComment {
        id: r.get("id"),
        submission_id: r.get("submission_id"),
        author_id: r.get("author_id"),
        author_name: r.get("author_name"),
        body: r.get("body"),
        created_at: r.get("created_at"),
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SubmissionRepository;

impl SubmissionRepository {
    /// One submission.
    pub async fn find(&self, c: &impl Queries, id: i64) -> Result<Option<Submission>, DbError> {
        let row = c
            .query_opt(
                &format!("SELECT {COLUMNS} FROM submissions s WHERE s.id = $1"),
                &[&id],
            )
            .await?;
        row.as_ref().map(submission_from_row).transpose()
    }

    /// A course's submissions, newest first; only those in `status` when given.
    pub async fn for_course(
        &self,
        c: &impl Queries,
        course_id: i64,
        status: Option<SubmissionStatus>,
        page: PageRequest,
    ) -> Result<Page<Submission>, DbError> {
        let status = status.map(SubmissionStatus::as_str);
        fetch_page(
            c,
            &format!(
                "SELECT {COLUMNS} FROM submissions s \
                  WHERE s.course_id = $1 AND ($2::text IS NULL OR s.status = $2) \
                  ORDER BY s.created_at DESC, s.id DESC"
            ),
            &[&course_id, &status],
            page,
            submission_from_row,
        )
        .await
    }

    /// A submission's comments, oldest first.
    pub async fn comments(
        &self,
        c: &impl Queries,
        submission_id: i64,
    ) -> Result<Vec<SubmissionComment>, DbError> {
        let rows = c
            .query(
                &format!("{COMMENT_SELECT} WHERE m.submission_id = $1 ORDER BY m.created_at, m.id"),
                &[&submission_id],
            )
            .await?;
        Ok(rows.iter().map(comment_from_row).collect())
    }

    /// The same comment by the same author on the same submission within the last minute:
    /// what a retried request finds.
    pub async fn recent_comment(
        &self,
        c: &impl Queries,
        submission_id: i64,
        author_id: i64,
        body: &str,
    ) -> Result<Option<SubmissionComment>, DbError> {
        let row = c
            .query_opt(
                &format!(
                    "{COMMENT_SELECT} WHERE m.submission_id = $1 AND m.author_id = $2 \
                       AND m.body = $3 AND m.created_at > now() - interval '1 minute' \
                     ORDER BY m.id DESC LIMIT 1"
                ),
                &[&submission_id, &author_id, &body],
            )
            .await?;
        Ok(row.as_ref().map(comment_from_row))
    }

    pub async fn add_comment(
        &self,
        c: &impl Queries,
        submission_id: i64,
        author_id: i64,
        body: &str,
    ) -> Result<SubmissionComment, DbError> {
        let row = c
            .query_one(
                &format!(
                    "WITH m AS (INSERT INTO submission_comments (submission_id, author_id, body) \
                                VALUES ($1, $2, $3) RETURNING *) {}",
                    COMMENT_SELECT.replace("FROM submission_comments m", "FROM m")
                ),
                &[&submission_id, &author_id, &body],
            )
            .await?;
        Ok(comment_from_row(&row))
    }

    /// The course of a project; `None` when there is no such project.
    pub async fn project_course(
        &self,
        c: &impl Queries,
        project_id: i64,
    ) -> Result<Option<i64>, DbError> {
        let row = c
            .query_opt(
                "SELECT t.course_id FROM projects p JOIN topics t ON t.id = p.topic_id \
                  WHERE p.id = $1",
                &[&project_id],
            )
            .await?;
        Ok(row.map(|r| r.get("course_id")))
    }

    /// The student's latest attempt at the project.
    pub async fn latest(
        &self,
        c: &impl Queries,
        user_id: i64,
        project_id: i64,
    ) -> Result<Option<Submission>, DbError> {
        let row = c
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM submissions s WHERE s.user_id = $1 AND s.project_id = $2 \
                     ORDER BY s.attempt DESC LIMIT 1"
                ),
                &[&user_id, &project_id],
            )
            .await?;
        row.as_ref().map(submission_from_row).transpose()
    }

    /// Stores attempt number `attempt`. A concurrent attempt at the same project fails with
    /// `submissions_one_open_key` or `submissions_user_project_attempt_key`.
    pub async fn insert(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
        attempt: i32,
        draft: &SubmissionForCreate,
    ) -> Result<Submission, DbError> {
        let row = c
            .query_one(
                &format!(
                    "INSERT INTO submissions AS s \
                       (user_id, course_id, project_id, attempt, repository_url, note) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
                ),
                &[
                    &user_id,
                    &course_id,
                    &draft.project_id,
                    &attempt,
                    &draft.repository_url,
                    &draft.note,
                ],
            )
            .await?;
        submission_from_row(&row)
    }

    /// The submission `reviewer_id` holds (claim not expired), of `course_id` if given.
    pub async fn held_by(
        &self,
        c: &impl Queries,
        reviewer_id: i64,
        course_id: Option<i64>,
    ) -> Result<Option<Submission>, DbError> {
        let row = c
            .query_opt(
                &format!(
                    "SELECT {COLUMNS} FROM submissions s \
                      WHERE s.claimed_by = $1 AND s.status = 'in_review' \
                        AND s.claimed_until > now() AND ($2::bigint IS NULL OR s.course_id = $2) \
                      ORDER BY s.created_at, s.id LIMIT 1"
                ),
                &[&reviewer_id, &course_id],
            )
            .await?;
        row.as_ref().map(submission_from_row).transpose()
    }

    /// Claims the oldest waiting submission of the courses `reviewer_id` reviews (of
    /// `course_id` if given) for `hold_s` seconds; `None` when the queue is empty. A waiting
    /// submission is `submitted`, or `in_review` with its claim expired. `SKIP LOCKED`: a row
    /// another reviewer is claiming right now is passed over, not waited for, so concurrent
    /// claims never get the same submission and never queue behind each other.
    pub async fn claim_next(
        &self,
        c: &impl Queries,
        reviewer_id: i64,
        course_id: Option<i64>,
        hold_s: i64,
    ) -> Result<Option<Submission>, DbError> {
        let row = c
            .query_opt(
                &format!(
                    "WITH next AS ( \
                       SELECT q.id FROM submissions q \
                        WHERE q.course_id IN (SELECT cs.course_id FROM course_staff cs \
                                               WHERE cs.user_id = $1 AND cs.role = 'reviewer') \
                          AND ($2::bigint IS NULL OR q.course_id = $2) \
                          AND (q.status = 'submitted' \
                               OR (q.status = 'in_review' AND q.claimed_until <= now())) \
                          AND q.user_id <> $1 \
                        ORDER BY q.created_at, q.id \
                        LIMIT 1 FOR UPDATE SKIP LOCKED) \
                     UPDATE submissions s SET status = 'in_review', claimed_by = $1, \
                            claimed_until = now() + make_interval(secs => $3::bigint) \
                       FROM next WHERE s.id = next.id RETURNING {COLUMNS}"
                ),
                &[&reviewer_id, &course_id, &hold_s],
            )
            .await?;
        row.as_ref().map(submission_from_row).transpose()
    }

    /// Locks one submission for a decision.
    pub async fn lock(&self, c: &impl Queries, id: i64) -> Result<Option<Submission>, DbError> {
        let row = c
            .query_opt(
                &format!("SELECT {COLUMNS} FROM submissions s WHERE s.id = $1 FOR UPDATE"),
                &[&id],
            )
            .await?;
        row.as_ref().map(submission_from_row).transpose()
    }

    /// Records the decision of `reviewer_id` and ends the claim.
    pub async fn decide(
        &self,
        c: &impl Queries,
        id: i64,
        reviewer_id: i64,
        verdict: &Verdict,
    ) -> Result<Submission, DbError> {
        let row = c
            .query_one(
                &format!(
                    "UPDATE submissions s SET status = $3, reviewed_by = $2, reviewed_at = now(), \
                            claimed_until = NULL, feedback = $4 \
                      WHERE s.id = $1 RETURNING {COLUMNS}"
                ),
                &[
                    &id,
                    &reviewer_id,
                    &verdict.status().as_str(),
                    &verdict.feedback(),
                ],
            )
            .await?;
        submission_from_row(&row)
    }

    /// Counts the decision just recorded on `id` in its course's turnaround histogram
    /// (migration V9); the learning report reads the histogram, never the submissions.
    pub async fn count_turnaround(&self, c: &impl Queries, id: i64) -> Result<(), DbError> {
        c.execute(
            "INSERT INTO review_turnaround AS t (course_id, bucket, decisions) \
             SELECT s.course_id, review_turnaround_bucket(s.reviewed_at - s.created_at), 1 \
               FROM submissions s WHERE s.id = $1 AND s.reviewed_at IS NOT NULL \
             ON CONFLICT (course_id, bucket) DO UPDATE SET decisions = t.decisions + 1",
            &[&id],
        )
        .await?;
        Ok(())
    }

    /// Whether the student has an accepted attempt at every project of the course (and the
    /// course has projects).
    pub async fn completed(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
    ) -> Result<bool, DbError> {
        let row = c
            .query_one(
                "SELECT (SELECT count(*) FROM projects p JOIN topics t ON t.id = p.topic_id \
                          WHERE t.course_id = $2) AS total, \
                        (SELECT count(*) FROM submissions s \
                          WHERE s.user_id = $1 AND s.course_id = $2 AND s.status = 'accepted') \
                          AS accepted",
                &[&user_id, &course_id],
            )
            .await?;
        let (total, accepted): (i64, i64) = (row.get("total"), row.get("accepted"));
        Ok(total > 0 && accepted >= total)
    }

    /// Every project of the course in syllabus order, with the student's attempts at each,
    /// newest first, grouped by topic.
    pub async fn progress(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
    ) -> Result<CourseProgress, DbError> {
        let projects = c
            .query(
                "SELECT p.id, p.topic_id, t.position, t.name, p.title FROM projects p \
                   JOIN topics t ON t.id = p.topic_id \
                  WHERE t.course_id = $1 ORDER BY t.position, p.id",
                &[&course_id],
            )
            .await?;
        let attempts = c
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM submissions s WHERE s.user_id = $1 AND s.course_id = $2 \
                     ORDER BY s.project_id, s.attempt DESC"
                ),
                &[&user_id, &course_id],
            )
            .await?
            .iter()
            .map(submission_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CourseProgress::from_projects(
            course_id,
            projects.iter().map(|p| {
                let project_id: i64 = p.get("id");
                let mine: Vec<Submission> = attempts
                    .iter()
                    .filter(|s| s.project_id == project_id)
                    .cloned()
                    .collect();
                let project = ProjectProgress {
                    project_id,
                    title: p.get("title"),
                    status: mine.first().map(|s| s.status),
                    attempts: mine,
                };
                (p.get("topic_id"), p.get("position"), p.get("name"), project)
            }),
        ))
    }
}
