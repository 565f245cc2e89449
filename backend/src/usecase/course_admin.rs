//! Staff edits of the catalog: courses, their topics and their runs.
//!
//! Each edit runs in one transaction on the primary that first re-reads the caller's role
//! (a token may outlive a demotion) and locks the course row, so syllabus edits of one course
//! take turns. After the commit the course page is read back from the primary, and the cache
//! is brought up to date before the answer is sent:
//! - a "recent write" marker holding the edit's WAL position is set for a few seconds, during
//!   which cache misses are filled from a replica that has replayed it, else the primary;
//! - the course's list entry is replaced, and the list windows the edit can reorder or change
//!   the members of are dropped: every family for a course created, deleted, published or
//!   renamed, the price families for a price, the run families for a run, none for a topic
//!   (`cache::ListChange`). Lists hold course ids and take each course's fields from its
//!   entry, so a window no edit dropped still shows the edit;
//! - the course's page is replaced: with the fresh copy when published, with a "no such
//!   public course" entry when unpublished or deleted.
//!
//! So the next read, by anyone, sees the edit even while replicas lag: the page comes from
//! the fresh cached copy (readers only ever fill an empty slot, `SET NX`, never overwrite),
//! and a dropped list window is refilled from a server that has the edit.

use std::sync::Arc;

use lyceum_db::{Client, Db, DbError, DbFuture};

use super::{
    Resource, ServiceError, consistency::ReadYourWrites, course_page::replace_course_page,
};
use crate::{
    entity::{
        ValidationErrors,
        catalog::{
            CourseDetail, CourseForCreate, CourseForUpdate, CourseRun, RunForCreate, RunForUpdate,
            Topic, TopicForCreate, TopicForUpdate,
        },
        user::Principal,
    },
    repository::{
        Queries,
        cache::{Cache, CourseSummaryKey, ListChange, RecentCatalogWriteKey},
        course::CourseRepository,
        course_admin::{CourseAdminRepository, RowOutcome},
        lookup::LookupRepository,
        pg,
        user::UserRepository,
    },
};

/// Whether an edit may be retried after a transient failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// Sets values; running it twice has the same effect as once.
    Idempotent,
    /// Inserts or deletes; attempted once.
    Once,
}

/// Staff-only catalog writes.
#[derive(Debug, Clone)]
pub struct CourseAdmin {
    db: Db,
    cache: Cache,
    ryw: ReadYourWrites,
    courses: CourseAdminRepository,
    /// Reads the course page an edit answers with.
    pages: CourseRepository,
    lookups: LookupRepository,
    users: UserRepository,
}

impl CourseAdmin {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites) -> Self {
        Self {
            db,
            cache,
            ryw,
            courses: CourseAdminRepository,
            pages: CourseRepository,
            lookups: LookupRepository,
            users: UserRepository,
        }
    }

    async fn run<T>(
        &self,
        replay: Replay,
        op: impl FnMut(&mut Client) -> DbFuture<'_, T, ServiceError>,
    ) -> Result<T, ServiceError> {
        match replay {
            Replay::Idempotent => self.db.write(op).await,
            Replay::Once => self.db.write_once(op).await,
        }
    }

    /// The token says staff; the database must agree (positions change, tokens live on).
    async fn authorize(
        users: UserRepository,
        c: &impl Queries,
        who: Principal,
    ) -> Result<(), ServiceError> {
        match users.find_by_id(c, who.user_id).await? {
            Some(user) if user.principal().can_edit_catalog() => Ok(()),
            Some(_) => Err(ServiceError::Forbidden),
            None => Err(ServiceError::AccountGone),
        }
    }

    async fn resolve_lookups(
        lookups: LookupRepository,
        c: &impl Queries,
        specialization: Option<&str>,
        difficulty: Option<&str>,
    ) -> Result<(Option<i32>, Option<i32>), ServiceError> {
        let mut errors = ValidationErrors::default();
        let mut spec_id = None;
        let mut diff_id = None;
        if let Some(slug) = specialization {
            spec_id = lookups.specialization_id(c, slug).await?;
            if spec_id.is_none() {
                errors.push("specialization", format!("no specialization {slug:?}"));
            }
        }
        if let Some(code) = difficulty {
            diff_id = lookups.difficulty_id(c, code).await?;
            if diff_id.is_none() {
                errors.push("difficulty", format!("no difficulty level {code:?}"));
            }
        }
        errors
            .finish(|| (spec_id, diff_id))
            .map_err(ServiceError::UnknownReference)
    }

    /// Brings the cache in line with a committed edit; see the module documentation.
    async fn refresh_cache(&self, id: i64, detail: Option<&CourseDetail>, lists: ListChange) {
        // The fence first: from now on misses are filled where this edit is replayed.
        self.ryw.wrote_shared(&RecentCatalogWriteKey).await;
        // The list entry before the windows: a window refilled at once shows the edit.
        let entry = detail
            .filter(|d| d.course.published)
            .map(|d| d.course.clone());
        self.cache.replace(&CourseSummaryKey(id), &entry).await;
        self.cache.invalidate(&lists.slots()).await;
        replace_course_page(&self.cache, id, detail).await;
    }

    /// Runs `edit` in a transaction after the role check and, for an existing course, the
    /// course lock; then reads the course page back on the same primary connection.
    async fn edit<E>(
        &self,
        who: Principal,
        course_id: Option<i64>,
        replay: Replay,
        lists: ListChange,
        edit: E,
    ) -> Result<CourseDetail, ServiceError>
    where
        E: for<'t> Fn(&'t lyceum_db::Transaction<'t>) -> DbFuture<'t, i64, ServiceError>
            + Send
            + Sync
            + 'static,
    {
        let edit = Arc::new(edit);
        let (detail, ()) = self
            .edit_returning(who, course_id, replay, lists, move |tx| {
                let edit = Arc::clone(&edit);
                Box::pin(async move { Ok((edit(tx).await?, ())) })
            })
            .await?;
        Ok(detail)
    }

    /// [`Self::edit`] for an edit that also returns what it created (a topic's id, a run).
    async fn edit_returning<E, T>(
        &self,
        who: Principal,
        course_id: Option<i64>,
        replay: Replay,
        lists: ListChange,
        edit: E,
    ) -> Result<(CourseDetail, T), ServiceError>
    where
        E: for<'t> Fn(&'t lyceum_db::Transaction<'t>) -> DbFuture<'t, (i64, T), ServiceError>
            + Send
            + Sync
            + 'static,
        T: Send + 'static,
    {
        if !who.can_edit_catalog() {
            return Err(ServiceError::Forbidden);
        }
        let (courses, pages, users) = (self.courses, self.pages, self.users);
        let edit = Arc::new(edit);
        let detail = self
            .run(replay, |c| {
                let edit = Arc::clone(&edit);
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    Self::authorize(users, &tx, who).await?;
                    if let Some(id) = course_id
                        && !courses.lock(&tx, id).await?
                    {
                        return Err(ServiceError::NotFound(Resource::Course, id));
                    }
                    let (id, created) = edit(&tx).await?;
                    tx.commit().await.map_err(DbError::from)?;
                    let detail = pages
                        .detail(pg(c), id, true)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Course, id))?;
                    Ok((detail, created))
                })
            })
            .await?;
        self.refresh_cache(detail.0.course.id, Some(&detail.0), lists)
            .await;
        Ok(detail)
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn create_course(
        &self,
        who: Principal,
        new: CourseForCreate,
    ) -> Result<CourseDetail, ServiceError> {
        let (courses, lookups) = (self.courses, self.lookups);
        let detail = self
            .edit(who, None, Replay::Once, ListChange::Everything, move |tx| {
                let new = new.clone();
                Box::pin(async move {
                    let (spec, diff) = Self::resolve_lookups(
                        lookups,
                        tx,
                        Some(&new.specialization),
                        Some(&new.difficulty),
                    )
                    .await?;
                    let (Some(spec), Some(diff)) = (spec, diff) else {
                        return Err(ServiceError::Internal("lookups resolved to nothing".into()));
                    };
                    Ok(courses.insert(tx, &new, spec, diff).await?)
                })
            })
            .await?;
        tracing::info!(course_id = detail.course.id, "course created");
        Ok(detail)
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id = id))]
    pub async fn update_course(
        &self,
        who: Principal,
        id: i64,
        changes: CourseForUpdate,
    ) -> Result<CourseDetail, ServiceError> {
        let (courses, lookups) = (self.courses, self.lookups);
        self.edit(
            who,
            Some(id),
            Replay::Idempotent,
            ListChange::of_update(&changes),
            move |tx| {
                let changes = changes.clone();
                Box::pin(async move {
                    let (spec, diff) = Self::resolve_lookups(
                        lookups,
                        tx,
                        changes.specialization.as_deref(),
                        changes.difficulty.as_deref(),
                    )
                    .await?;
                    courses.update(tx, id, &changes, spec, diff).await?;
                    Ok(id)
                })
            },
        )
        .await
    }

    /// Deletes a course with its syllabus and runs; refused once any run was sold.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id = id))]
    pub async fn delete_course(&self, who: Principal, id: i64) -> Result<(), ServiceError> {
        if !who.can_edit_catalog() {
            return Err(ServiceError::Forbidden);
        }
        let (courses, users) = (self.courses, self.users);
        self.run(Replay::Once, |c| {
            Box::pin(async move {
                let tx = c.transaction().await.map_err(DbError::from)?;
                Self::authorize(users, &tx, who).await?;
                if !courses.delete(&tx, id).await? {
                    return Err(ServiceError::NotFound(Resource::Course, id));
                }
                tx.commit().await.map_err(DbError::from)?;
                Ok(())
            })
        })
        .await?;
        self.refresh_cache(id, None, ListChange::Everything).await;
        tracing::info!("course deleted");
        Ok(())
    }

    /// Adds a topic; answers with it as the course page now shows it.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id))]
    pub async fn add_topic(
        &self,
        who: Principal,
        course_id: i64,
        new: TopicForCreate,
    ) -> Result<Topic, ServiceError> {
        let courses = self.courses;
        let (detail, topic_id) = self
            .edit_returning(
                who,
                Some(course_id),
                Replay::Once,
                ListChange::Nothing,
                move |tx| {
                    let new = new.clone();
                    Box::pin(async move {
                        let topic_id = courses.insert_topic(tx, course_id, &new).await?;
                        Ok((course_id, topic_id))
                    })
                },
            )
            .await?;
        detail
            .topics
            .into_iter()
            .find(|t| t.id == topic_id)
            .ok_or(ServiceError::NotFound(Resource::Topic, topic_id))
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id, topic_id))]
    pub async fn update_topic(
        &self,
        who: Principal,
        course_id: i64,
        topic_id: i64,
        changes: TopicForUpdate,
    ) -> Result<CourseDetail, ServiceError> {
        let courses = self.courses;
        self.edit(
            who,
            Some(course_id),
            Replay::Idempotent,
            ListChange::Nothing,
            move |tx| {
                let changes = changes.clone();
                Box::pin(async move {
                    match courses
                        .update_topic(tx, course_id, topic_id, &changes)
                        .await?
                    {
                        RowOutcome::Done(()) => Ok(course_id),
                        RowOutcome::NotFound => {
                            Err(ServiceError::NotFound(Resource::Topic, topic_id))
                        }
                    }
                })
            },
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id, topic_id))]
    pub async fn delete_topic(
        &self,
        who: Principal,
        course_id: i64,
        topic_id: i64,
    ) -> Result<CourseDetail, ServiceError> {
        let courses = self.courses;
        self.edit(
            who,
            Some(course_id),
            Replay::Once,
            ListChange::Nothing,
            move |tx| {
                Box::pin(async move {
                    match courses.delete_topic(tx, course_id, topic_id).await? {
                        RowOutcome::Done(()) => Ok(course_id),
                        RowOutcome::NotFound => {
                            Err(ServiceError::NotFound(Resource::Topic, topic_id))
                        }
                    }
                })
            },
        )
        .await
    }

    /// Schedules a run; answers with the new run (the course page lists upcoming runs only).
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id))]
    pub async fn add_run(
        &self,
        who: Principal,
        course_id: i64,
        new: RunForCreate,
    ) -> Result<CourseRun, ServiceError> {
        let courses = self.courses;
        let (detail, mut run) = self
            .edit_returning(
                who,
                Some(course_id),
                Replay::Once,
                ListChange::Runs,
                move |tx| {
                    let new = new.clone();
                    Box::pin(async move {
                        Ok((course_id, courses.insert_run(tx, course_id, &new).await?))
                    })
                },
            )
            .await?;
        // A run costs what its course costs; the page read back after the commit has the prices.
        run.prices = detail.prices;
        Ok(run)
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id, run_id))]
    pub async fn update_run(
        &self,
        who: Principal,
        course_id: i64,
        run_id: i64,
        changes: RunForUpdate,
    ) -> Result<CourseDetail, ServiceError> {
        let courses = self.courses;
        // Idempotent: seats_left moves by (new total - current total), which is zero the second time.
        self.edit(
            who,
            Some(course_id),
            Replay::Idempotent,
            ListChange::Runs,
            move |tx| {
                let changes = changes.clone();
                Box::pin(async move {
                    match courses.update_run(tx, course_id, run_id, &changes).await? {
                        RowOutcome::Done(_) => Ok(course_id),
                        RowOutcome::NotFound => Err(ServiceError::NotFound(Resource::Run, run_id)),
                    }
                })
            },
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id, run_id))]
    pub async fn delete_run(
        &self,
        who: Principal,
        course_id: i64,
        run_id: i64,
    ) -> Result<CourseDetail, ServiceError> {
        let courses = self.courses;
        self.edit(
            who,
            Some(course_id),
            Replay::Once,
            ListChange::Runs,
            move |tx| {
                Box::pin(async move {
                    match courses.delete_run(tx, course_id, run_id).await? {
                        RowOutcome::Done(()) => Ok(course_id),
                        RowOutcome::NotFound => Err(ServiceError::NotFound(Resource::Run, run_id)),
                    }
                })
            },
        )
        .await
    }
}
