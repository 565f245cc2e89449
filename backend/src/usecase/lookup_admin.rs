//! Admin edits of the lookup tables: specializations and difficulty levels.
//!
//! Each edit runs in one transaction on the primary that first re-reads the caller's
//! position (a token may outlive a demotion): only admins edit lookups. Duplicates and
//! deletes of rows still in use are refused by the table's constraints, mapped by name to
//! 409 `name_taken` / `in_use` (`ServiceError::from`), so concurrent edits cannot get past
//! them. The transaction also collects the courses whose pages show the changed row.
//!
//! After the commit the cache follows, as for course edits (`usecase::course_admin`): the
//! catalog's recent-write marker is set first (misses are then filled where this edit is
//! replayed), then the cached lookups, every list window and every course's list entry are
//! dropped (they show the rows' names and order), and the pages of the
//! courses that show the row are dropped and announced to every instance.

use std::sync::Arc;

use lyceum_db::{Client, Db, DbError, DbFuture};

use super::{Resource, ServiceError, access, consistency::ReadYourWrites};
use crate::{
    entity::{
        catalog::{DifficultyLevel, Specialization},
        lookup::{
            DifficultyForCreate, DifficultyForUpdate, LookupTable, SpecializationForCreate,
            SpecializationForUpdate,
        },
        user::Principal,
    },
    repository::{
        cache::{
            Cache, CacheKey, CourseDetailKey, ListChange, LookupsKey, RecentCatalogWriteKey,
            all_course_summaries,
        },
        lookup::LookupRepository,
    },
};

const ADMINS_ONLY: &str = "only admins may change specializations and difficulty levels";

/// Admin-only writes to the lookup tables.
#[derive(Debug, Clone)]
pub struct LookupAdmin {
    db: Db,
    cache: Cache,
    ryw: ReadYourWrites,
    lookups: LookupRepository,
}

impl LookupAdmin {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites) -> Self {
        Self {
            db,
            cache,
            ryw,
            lookups: LookupRepository,
        }
    }

    /// Runs `edit` in a transaction after the role check; `edit` answers with its result and
    /// the courses whose pages changed. Inserts and deletes are attempted once, updates (they
    /// set values) are retried.
    async fn edit<T, E>(&self, who: Principal, retry: bool, edit: E) -> Result<T, ServiceError>
    where
        E: for<'t> Fn(
                LookupRepository,
                &'t lyceum_db::Transaction<'t>,
            ) -> DbFuture<'t, (T, Vec<i64>), ServiceError>
            + Send
            + Sync
            + 'static,
        T: Send + 'static,
    {
        if !who.can_edit_lookups() {
            return Err(ServiceError::Denied(ADMINS_ONLY));
        }
        let edit = Arc::new(edit);
        let (done, courses) = if retry {
            self.db.write(self.attempt(who, edit)).await?
        } else {
            self.db.write_once(self.attempt(who, edit)).await?
        };
        self.refresh_cache(&courses).await;
        Ok(done)
    }

    /// [`Self::edit`] for an update of row `id` (`None` from `update`: no such row), retried
    /// (it sets values). When `pages` (it changed what course pages show), the courses that
    /// use the row are collected for [`Self::refresh_cache`].
    async fn update<T, U>(
        &self,
        who: Principal,
        table: LookupTable,
        id: i32,
        pages: bool,
        update: U,
    ) -> Result<T, ServiceError>
    where
        U: for<'t> Fn(
                LookupRepository,
                &'t lyceum_db::Transaction<'t>,
            ) -> DbFuture<'t, Option<T>, ServiceError>
            + Send
            + Sync
            + 'static,
        T: Send + 'static,
    {
        let update = Arc::new(update);
        self.edit(who, true, move |repo, tx| {
            let update = Arc::clone(&update);
            Box::pin(async move {
                let updated = update(repo, tx)
                    .await?
                    .ok_or(ServiceError::NotFound(resource(table), id.into()))?;
                let courses = if pages {
                    repo.courses_using(tx, table, id).await?
                } else {
                    vec![]
                };
                Ok((updated, courses))
            })
        })
        .await
    }

    /// One attempt of [`Self::edit`]: the role check, the edit and the commit.
    fn attempt<T, E>(
        &self,
        who: Principal,
        edit: Arc<E>,
    ) -> impl FnMut(&mut Client) -> DbFuture<'_, (T, Vec<i64>), ServiceError> + use<T, E>
    where
        E: for<'t> Fn(
                LookupRepository,
                &'t lyceum_db::Transaction<'t>,
            ) -> DbFuture<'t, (T, Vec<i64>), ServiceError>
            + Send
            + Sync
            + 'static,
        T: Send + 'static,
    {
        let lookups = self.lookups;
        move |c| {
            let edit = Arc::clone(&edit);
            Box::pin(async move {
                let tx = c.transaction().await.map_err(DbError::from)?;
                // The token says admin; the database must agree.
                access::require(&tx, who, Principal::can_edit_lookups, ADMINS_ONLY).await?;
                let done = edit(lookups, &tx).await?;
                tx.commit().await.map_err(DbError::from)?;
                Ok(done)
            })
        }
    }

    /// See the module documentation.
    async fn refresh_cache(&self, courses: &[i64]) {
        self.ryw.wrote_shared(&RecentCatalogWriteKey).await;
        // A renamed row shows in every list entry, and a reordered level reorders lists.
        let mut slots = vec![LookupsKey.slot(), all_course_summaries()];
        slots.extend(ListChange::Everything.slots());
        slots.extend(courses.iter().map(|&id| CourseDetailKey(id).slot()));
        self.cache.invalidate(&slots).await;
        for &id in courses {
            self.cache.announce_course_change(id).await;
        }
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn create_specialization(
        &self,
        who: Principal,
        new: SpecializationForCreate,
    ) -> Result<Specialization, ServiceError> {
        let created = self
            .edit(who, false, move |repo, tx| {
                let new = new.clone();
                Box::pin(async move { Ok((repo.insert_specialization(tx, &new).await?, vec![])) })
            })
            .await?;
        tracing::info!(specialization_id = created.id, "specialization created");
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id, specialization_id = id))]
    pub async fn update_specialization(
        &self,
        who: Principal,
        id: i32,
        changes: SpecializationForUpdate,
    ) -> Result<Specialization, ServiceError> {
        let pages = changes.changes_course_pages();
        self.update(
            who,
            LookupTable::Specialization,
            id,
            pages,
            move |repo, tx| {
                let changes = changes.clone();
                Box::pin(async move { Ok(repo.update_specialization(tx, id, &changes).await?) })
            },
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn create_difficulty(
        &self,
        who: Principal,
        new: DifficultyForCreate,
    ) -> Result<DifficultyLevel, ServiceError> {
        let created = self
            .edit(who, false, move |repo, tx| {
                let new = new.clone();
                Box::pin(async move { Ok((repo.insert_difficulty(tx, &new).await?, vec![])) })
            })
            .await?;
        tracing::info!(difficulty_level_id = created.id, "difficulty level created");
        Ok(created)
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id, difficulty_level_id = id))]
    pub async fn update_difficulty(
        &self,
        who: Principal,
        id: i32,
        changes: DifficultyForUpdate,
    ) -> Result<DifficultyLevel, ServiceError> {
        let pages = changes.changes_course_pages();
        self.update(
            who,
            LookupTable::DifficultyLevel,
            id,
            pages,
            move |repo, tx| {
                let changes = changes.clone();
                Box::pin(async move { Ok(repo.update_difficulty(tx, id, &changes).await?) })
            },
        )
        .await
    }

    /// Deletes an unused row; one that courses (or, for a specialization, teacher profiles)
    /// use is refused with `in_use`.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, ?table, id))]
    pub async fn delete(
        &self,
        who: Principal,
        table: LookupTable,
        id: i32,
    ) -> Result<(), ServiceError> {
        self.edit(who, false, move |repo, tx| {
            Box::pin(async move {
                if !repo.delete(tx, table, id).await? {
                    return Err(ServiceError::NotFound(resource(table), id.into()));
                }
                Ok(((), vec![]))
            })
        })
        .await?;
        tracing::info!("lookup row deleted");
        Ok(())
    }
}

fn resource(table: LookupTable) -> Resource {
    match table {
        LookupTable::Specialization => Resource::Specialization,
        LookupTable::DifficultyLevel => Resource::DifficultyLevel,
    }
}
