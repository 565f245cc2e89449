//! Catalog SQL: lookups, the course list and page, teacher profiles, and the staff edits of
//! courses, topics and runs.
//!
//! `courses.search_vector` is never selected (the driver has no type for `tsvector`); it is
//! only used in `WHERE` and `ORDER BY`.

use std::collections::HashMap;

use lyceum_db::DbError;
use tokio_postgres::{Row, types::ToSql};

use super::Queries;
use crate::entity::catalog::{
    CourseDetail, CourseForCreate, CourseForUpdate, CourseListQuery, CourseRun, CourseSort,
    CourseStaffMember, CourseStats, CourseSummary, DifficultyLevel, DifficultyRef, Lookups, Page,
    PageRequest, Project, ProjectForCreate, RunForCreate, RunForUpdate, Specialization,
    SpecializationRef, TeacherCourse, TeacherProfile, TeacherSummary, Topic, TopicForCreate,
    TopicForUpdate, page_of,
};

type Param = Box<dyn ToSql + Sync + Send>;

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
                    id: r.get(0),
                    slug: r.get(1),
                    name: r.get(2),
                    description: r.get(3),
                })
                .collect(),
            difficulty_levels: levels
                .iter()
                .map(|r| DifficultyLevel {
                    id: r.get(0),
                    code: r.get(1),
                    name: r.get(2),
                    sort_order: r.get(3),
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
        Ok(row.map(|r| r.get(0)))
    }

    pub async fn difficulty_id(
        &self,
        c: &impl Queries,
        code: &str,
    ) -> Result<Option<i32>, DbError> {
        let row = c
            .query_opt("SELECT id FROM difficulty_levels WHERE code = $1", &[&code])
            .await?;
        Ok(row.map(|r| r.get(0)))
    }
}

const SUMMARY_SELECT: &str = "SELECT c.id, c.title, c.description, s.slug, s.name, d.code, \
     d.name, c.duration_weeks, c.price, c.published, c.created_at, c.updated_at \
     FROM courses c \
     JOIN specializations s ON s.id = c.specialization_id \
     JOIN difficulty_levels d ON d.id = c.difficulty_level_id";

fn summary_from_row(r: &Row) -> CourseSummary {
    CourseSummary {
        id: r.get(0),
        title: r.get(1),
        description: r.get(2),
        specialization: SpecializationRef {
            slug: r.get(3),
            name: r.get(4),
        },
        difficulty: DifficultyRef {
            code: r.get(5),
            name: r.get(6),
        },
        duration_weeks: r.get(7),
        price: r.get(8),
        published: r.get(9),
        created_at: r.get(10),
        updated_at: r.get(11),
    }
}

/// Courses and everything that hangs off them.
#[derive(Debug, Clone, Copy, Default)]
pub struct CourseRepository;

/// What a failed run change ran into, besides database errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOutcome<T> {
    Done(T),
    NotFound,
}

impl CourseRepository {
    /// One page of published courses.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list(
        &self,
        c: &impl Queries,
        q: &CourseListQuery,
    ) -> Result<Page<CourseSummary>, DbError> {
        let mut params: Vec<Param> = Vec::new();
        let mut sql = format!("{SUMMARY_SELECT} WHERE c.published");
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
        };
        sql.push_str(&format!(" ORDER BY {order}"));
        params.push(Box::new(i64::from(q.page_size) + 1));
        sql.push_str(&format!(" LIMIT ${}", params.len()));
        params.push(Box::new(q.offset()));
        sql.push_str(&format!(" OFFSET ${}", params.len()));
        let refs: Vec<&(dyn ToSql + Sync)> = params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = c.query(&sql, &refs).await?;
        Ok(page_of(
            rows.iter().map(summary_from_row).collect(),
            q.page,
            q.page_size,
        ))
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
        // Independent queries on one connection: tokio-postgres pipelines them.
        let (course, topics, projects, staff, runs, stats) = tokio::try_join!(
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
                "SELECT u.id, u.first_name, u.last_name, cs.role, \
                        COALESCE(tp.photo_url, u.photo_url), tp.workplace \
                 FROM course_staff cs JOIN users u ON u.id = cs.user_id \
                 LEFT JOIN teacher_profiles tp ON tp.user_id = u.id \
                 WHERE cs.course_id = $1 \
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
                "SELECT \
                   (SELECT count(DISTINCT p.user_id) FROM purchases p \
                      JOIN course_runs r ON r.id = p.course_run_id \
                     WHERE r.course_id = $1 AND p.status = 'paid'), \
                   (SELECT avg(rating)::float8 FROM reviews WHERE course_id = $1), \
                   (SELECT count(*) FROM reviews WHERE course_id = $1), \
                   (SELECT count(DISTINCT ct.user_id) FROM career_tracks ct \
                      JOIN job_applications ja ON ja.career_track_id = ct.id \
                     WHERE ct.course_id = $1 AND ja.status = 'hired')",
                &by_id
            ),
        )?;
        let Some(course) = course else {
            return Ok(None);
        };
        let mut projects_by_topic: HashMap<i64, Vec<Project>> = HashMap::new();
        for r in &projects {
            projects_by_topic
                .entry(r.get(1))
                .or_default()
                .push(Project {
                    id: r.get(0),
                    title: r.get(2),
                    description: r.get(3),
                });
        }
        let topics = topics
            .iter()
            .map(|r| {
                let topic_id: i64 = r.get(0);
                let projects = projects_by_topic.remove(&topic_id).unwrap_or_default();
                Topic {
                    id: topic_id,
                    position: r.get(1),
                    name: r.get(2),
                    description: r.get(3),
                    technologies: r.get(4),
                    effort_hours: r.get(5),
                    project_count: projects.len() as i64,
                    projects,
                }
            })
            .collect();
        Ok(Some(CourseDetail {
            course: summary_from_row(&course),
            topics,
            staff: staff
                .iter()
                .map(|r| CourseStaffMember {
                    user_id: r.get(0),
                    first_name: r.get(1),
                    last_name: r.get(2),
                    role: r.get(3),
                    photo_url: r.get(4),
                    workplace: r.get(5),
                })
                .collect(),
            upcoming_runs: runs.iter().map(run_from_row).collect(),
            stats: CourseStats {
                buyers: stats.get(0),
                average_rating: stats.get(1),
                review_count: stats.get(2),
                graduates_employed: stats.get(3),
            },
        }))
    }

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
        Ok(row.get(0))
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
                "SELECT count(*) FROM topics WHERE course_id = $1",
                &[&course_id],
            )
            .await?
            .get(0);
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
            .get(0);
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
        let old: i32 = row.get(0);
        let mut new_position = old;
        if let Some(wanted) = changes.position {
            let count: i64 = c
                .query_one(
                    "SELECT count(*) FROM topics WHERE course_id = $1",
                    &[&course_id],
                )
                .await?
                .get(0);
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
        let position: i32 = row.get(0);
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
        Ok(run_from_row(&row))
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
            Some(r) => RowOutcome::Done(run_from_row(&r)),
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

fn run_from_row(r: &Row) -> CourseRun {
    CourseRun {
        id: r.get(0),
        start_date: r.get(1),
        sales_end_date: r.get(2),
        seats_total: r.get(3),
        seats_left: r.get(4),
    }
}

/// Teacher profiles.
#[derive(Debug, Clone, Copy, Default)]
pub struct TeacherRepository;

const TEACHER_SELECT: &str = "SELECT u.id, u.first_name, u.last_name, \
     COALESCE(tp.photo_url, u.photo_url), tp.workplace, tp.years_experience, \
     tp.years_in_specialization, s.slug, s.name \
     FROM teacher_profiles tp JOIN users u ON u.id = tp.user_id \
     LEFT JOIN specializations s ON s.id = tp.specialization_id";

fn teacher_from_row(r: &Row) -> TeacherSummary {
    let slug: Option<String> = r.get(7);
    let name: Option<String> = r.get(8);
    TeacherSummary {
        user_id: r.get(0),
        first_name: r.get(1),
        last_name: r.get(2),
        photo_url: r.get(3),
        workplace: r.get(4),
        years_experience: r.get(5),
        years_in_specialization: r.get(6),
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
        let rows = c
            .query(
                &format!(
                    "{TEACHER_SELECT} ORDER BY u.last_name, u.first_name, u.id LIMIT $1 OFFSET $2"
                ),
                &[&(i64::from(page.page_size) + 1), &page.offset()],
            )
            .await?;
        Ok(page_of(
            rows.iter().map(teacher_from_row).collect(),
            page.page,
            page.page_size,
        ))
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
                    id: r.get(0),
                    title: r.get(1),
                    role: r.get(2),
                })
                .collect(),
        }))
    }
}
