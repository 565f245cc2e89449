//! Staff edits of the catalog: courses, their topics (kept numbered 1..n without gaps) with
//! projects, and their runs. Each function runs in the use case's transaction.

use lyceum_db::DbError;

use super::{Queries, course::run_from_row};
use crate::entity::catalog::{
    CourseForCreate, CourseForUpdate, CourseRun, ProjectForCreate, RunForCreate, RunForUpdate,
    TopicForCreate, TopicForUpdate,
};

/// Staff edits of courses and what hangs off them.
#[derive(Debug, Clone, Copy, Default)]
pub struct CourseAdminRepository;

/// What a failed run change ran into, besides database errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome<T> {
    Done(T),
    NotFound,
}

impl CourseAdminRepository {
    /// Locks the course row so concurrent syllabus edits of one course take turns.
    pub async fn lock(&self, c: &impl Queries, id: i64) -> Result<bool, DbError> {
        let row = c
            .query_opt("SELECT 1 FROM courses WHERE id = $1 FOR UPDATE", &[&id])
            .await?;
        Ok(row.is_some())
    }

    pub async fn insert(
        &self,
        c: &impl Queries,
        new: &CourseForCreate,
        specialization_id: i32,
        difficulty_id: i32,
    ) -> Result<i64, DbError> {
        let row = c
            .query_one(
                "INSERT INTO courses (title, description, specialization_id, difficulty_level_id, \
                 duration_weeks, price, published) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                &[
                    &new.title,
                    &new.description,
                    &specialization_id,
                    &difficulty_id,
                    &new.duration_weeks,
                    &new.price,
                    &new.published,
                ],
            )
            .await?;
        Ok(row.get("id"))
    }

    /// `false` when the course does not exist.
    pub async fn update(
        &self,
        c: &impl Queries,
        id: i64,
        changes: &CourseForUpdate,
        specialization_id: Option<i32>,
        difficulty_id: Option<i32>,
    ) -> Result<bool, DbError> {
        let n = c
            .execute(
                "UPDATE courses SET \
                   title = COALESCE($2, title), \
                   description = COALESCE($3, description), \
                   specialization_id = COALESCE($4, specialization_id), \
                   difficulty_level_id = COALESCE($5, difficulty_level_id), \
                   duration_weeks = COALESCE($6, duration_weeks), \
                   price = COALESCE($7, price), \
                   published = COALESCE($8, published) \
                 WHERE id = $1",
                &[
                    &id,
                    &changes.title,
                    &changes.description,
                    &specialization_id,
                    &difficulty_id,
                    &changes.duration_weeks,
                    &changes.price,
                    &changes.published,
                ],
            )
            .await?;
        Ok(n == 1)
    }

    /// `false` when the course does not exist. Fails with `purchases_course_run_id_fkey` when a
    /// run of the course was sold.
    pub async fn delete(&self, c: &impl Queries, id: i64) -> Result<bool, DbError> {
        let n = c
            .execute("DELETE FROM courses WHERE id = $1", &[&id])
            .await?;
        Ok(n == 1)
    }

    /// Inserts a topic at its position (last when none or past the end), shifting later topics.
    /// The caller holds the course lock.
    pub async fn insert_topic(
        &self,
        c: &impl Queries,
        course_id: i64,
        new: &TopicForCreate,
    ) -> Result<i64, DbError> {
        let count: i64 = c
            .query_one(
                "SELECT count(*) AS n FROM topics WHERE course_id = $1",
                &[&course_id],
            )
            .await?
            .get("n");
        let last = i32::try_from(count).unwrap_or(i32::MAX - 1) + 1;
        let position = new.position.map_or(last, |p| p.clamp(1, last));
        if position < last {
            // One statement: the deferrable unique key is checked at its end, not per row.
            c.execute(
                "UPDATE topics SET position = position + 1 WHERE course_id = $1 AND position >= $2",
                &[&course_id, &position],
            )
            .await?;
        }
        let id: i64 = c
            .query_one(
                "INSERT INTO topics (course_id, position, name, description, technologies, \
                 effort_hours) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &course_id,
                    &position,
                    &new.name,
                    &new.description,
                    &new.technologies,
                    &new.effort_hours,
                ],
            )
            .await?
            .get("id");
        self.replace_projects(c, id, &new.projects, false).await?;
        Ok(id)
    }

    async fn replace_projects(
        &self,
        c: &impl Queries,
        topic_id: i64,
        projects: &[ProjectForCreate],
        delete_old: bool,
    ) -> Result<(), DbError> {
        if delete_old {
            c.execute("DELETE FROM projects WHERE topic_id = $1", &[&topic_id])
                .await?;
        }
        for p in projects {
            c.execute(
                "INSERT INTO projects (topic_id, title, description) VALUES ($1, $2, $3)",
                &[&topic_id, &p.title, &p.description],
            )
            .await?;
        }
        Ok(())
    }

    /// Changes a topic of `course_id`; a new position moves it and renumbers the others.
    /// Needs a transaction (the moves defer the position key) and the course lock.
    pub async fn update_topic(
        &self,
        c: &impl Queries,
        course_id: i64,
        topic_id: i64,
        changes: &TopicForUpdate,
    ) -> Result<RowOutcome<()>, DbError> {
        let Some(row) = c
            .query_opt(
                "SELECT position FROM topics WHERE id = $1 AND course_id = $2",
                &[&topic_id, &course_id],
            )
            .await?
        else {
            return Ok(RowOutcome::NotFound);
        };
        let old: i32 = row.get("position");
        let mut new_position = old;
        if let Some(wanted) = changes.position {
            let count: i64 = c
                .query_one(
                    "SELECT count(*) AS n FROM topics WHERE course_id = $1",
                    &[&course_id],
                )
                .await?
                .get("n");
            new_position = wanted.clamp(1, i32::try_from(count).unwrap_or(i32::MAX));
        }
        if new_position != old {
            c.execute("SET CONSTRAINTS topics_course_position_key DEFERRED", &[])
                .await?;
            if new_position < old {
                c.execute(
                    "UPDATE topics SET position = position + 1 \
                     WHERE course_id = $1 AND position >= $2 AND position < $3",
                    &[&course_id, &new_position, &old],
                )
                .await?;
            } else {
                c.execute(
                    "UPDATE topics SET position = position - 1 \
                     WHERE course_id = $1 AND position > $2 AND position <= $3",
                    &[&course_id, &old, &new_position],
                )
                .await?;
            }
        }
        c.execute(
            "UPDATE topics SET position = $2, \
               name = COALESCE($3, name), description = COALESCE($4, description), \
               technologies = COALESCE($5, technologies), effort_hours = COALESCE($6, effort_hours) \
             WHERE id = $1",
            &[
                &topic_id,
                &new_position,
                &changes.name,
                &changes.description,
                &changes.technologies,
                &changes.effort_hours,
            ],
        )
        .await?;
        if let Some(projects) = &changes.projects {
            self.replace_projects(c, topic_id, projects, true).await?;
        }
        Ok(RowOutcome::Done(()))
    }

    /// Deletes a topic (with its projects) and closes the gap in the numbering.
    pub async fn delete_topic(
        &self,
        c: &impl Queries,
        course_id: i64,
        topic_id: i64,
    ) -> Result<RowOutcome<()>, DbError> {
        let Some(row) = c
            .query_opt(
                "DELETE FROM topics WHERE id = $1 AND course_id = $2 RETURNING position",
                &[&topic_id, &course_id],
            )
            .await?
        else {
            return Ok(RowOutcome::NotFound);
        };
        let position: i32 = row.get("position");
        c.execute(
            "UPDATE topics SET position = position - 1 WHERE course_id = $1 AND position > $2",
            &[&course_id, &position],
        )
        .await?;
        Ok(RowOutcome::Done(()))
    }

    pub async fn insert_run(
        &self,
        c: &impl Queries,
        course_id: i64,
        new: &RunForCreate,
    ) -> Result<CourseRun, DbError> {
        let row = c
            .query_one(
                "INSERT INTO course_runs (course_id, start_date, sales_end_date, seats_total, \
                 seats_left) VALUES ($1, $2, $3, $4, $4) \
                 RETURNING id, start_date, sales_end_date, seats_total, seats_left",
                &[
                    &course_id,
                    &new.start_date,
                    &new.sales_end_date,
                    &new.seats_total,
                ],
            )
            .await?;
        // Prices are the course's; the use case takes them from the course page it reads back.
        Ok(run_from_row(&row, &[]))
    }

    /// Seats already taken stay taken: `seats_left` moves with `seats_total`, and the
    /// `course_runs_seats_left_nonnegative` check refuses a total below the seats sold.
    pub async fn update_run(
        &self,
        c: &impl Queries,
        course_id: i64,
        run_id: i64,
        changes: &RunForUpdate,
    ) -> Result<RowOutcome<CourseRun>, DbError> {
        let row = c
            .query_opt(
                "UPDATE course_runs SET \
                   start_date = COALESCE($3, start_date), \
                   sales_end_date = COALESCE($4, sales_end_date), \
                   seats_left = seats_left + (COALESCE($5, seats_total) - seats_total), \
                   seats_total = COALESCE($5, seats_total) \
                 WHERE id = $2 AND course_id = $1 \
                 RETURNING id, start_date, sales_end_date, seats_total, seats_left",
                &[
                    &course_id,
                    &run_id,
                    &changes.start_date,
                    &changes.sales_end_date,
                    &changes.seats_total,
                ],
            )
            .await?;
        Ok(match row {
            Some(r) => RowOutcome::Done(run_from_row(&r, &[])),
            None => RowOutcome::NotFound,
        })
    }

    pub async fn delete_run(
        &self,
        c: &impl Queries,
        course_id: i64,
        run_id: i64,
    ) -> Result<RowOutcome<()>, DbError> {
        let n = c
            .execute(
                "DELETE FROM course_runs WHERE id = $1 AND course_id = $2",
                &[&run_id, &course_id],
            )
            .await?;
        Ok(if n == 1 {
            RowOutcome::Done(())
        } else {
            RowOutcome::NotFound
        })
    }
}
