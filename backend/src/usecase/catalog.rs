//! Catalog reads with cache-aside: lookups, course lists (windows of ids, each course's list
//! entry cached once) and course pages come from Redis when present, else from the read
//! pool, and are then stored for the next reader.
//!
//! Staff see unpublished courses; their course pages are never cached and are read where
//! the latest catalog edit is replayed, so an editor always sees their own latest edit. For a few seconds after any
//! catalog edit, cache misses are filled from a replica that has replayed the edit, else the
//! primary (see `RecentCatalogWriteKey`), so a lagging replica cannot put pre-edit data into
//! the cache.

use std::collections::HashMap;

use bytes::Bytes;
use lyceum_db::Db;

use super::{
    Resource, ServiceError,
    consistency::{ReadOp, ReadYourWrites},
};
use crate::entity::page::{Page, PageRequest};
use crate::{
    entity::{
        catalog::{
            CourseDetail, CourseListQuery, CourseSummary, Lookups, TeacherProfile, TeacherSummary,
        },
        plan::Plan,
        user::Principal,
    },
    repository::{
        cache::{
            Cache, CourseDetailKey, CourseListKey, CourseSummaryKey, LIST_WINDOW, ListFamily,
            Lookup, LookupsKey, RecentCatalogWriteKey,
        },
        course::CourseRepository,
        lookup::LookupRepository,
        pg,
        plan::PlanRepository,
        teacher::TeacherRepository,
    },
};

/// Read-side catalog operations.
#[derive(Debug, Clone)]
pub struct CatalogService {
    db: Db,
    cache: Cache,
    ryw: ReadYourWrites,
    lookups: LookupRepository,
    plans: PlanRepository,
    courses: CourseRepository,
    teachers: TeacherRepository,
}

impl CatalogService {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites) -> Self {
        Self {
            db,
            cache,
            ryw,
            lookups: LookupRepository,
            plans: PlanRepository,
            courses: CourseRepository,
            teachers: TeacherRepository,
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn lookups(&self) -> Result<Lookups, ServiceError> {
        if let Some(hit) = self.cache.get(&LookupsKey).await {
            return Ok(hit);
        }
        let repo = self.lookups;
        // Where the latest catalog edit is replayed: a lookup edit sets that marker, and a
        // lagging replica must not fill the emptied slot with the old tables.
        let fresh = self
            .read_fresh(move |c| {
                Box::pin(async move { Ok::<_, ServiceError>(repo.all(pg(c)).await?) })
            })
            .await?;
        self.cache.fill(&LookupsKey, &fresh).await;
        Ok(fresh)
    }

    /// The plans and what each charges relative to a course's price. Not cached: three rows
    /// the migrations own, read from a replica.
    #[tracing::instrument(skip_all)]
    pub async fn plans(&self) -> Result<Vec<Plan>, ServiceError> {
        let repo = self.plans;
        self.db
            .read(|c| Box::pin(async move { Ok::<_, ServiceError>(repo.all(pg(c)).await?) }))
            .await
    }

    /// A page of the public course list. The cache holds each list as windows of course ids
    /// (`CourseListKey`, `LIST_WINDOW` ids a window, whatever page size asked) and each
    /// course's fields once (`CourseSummaryKey`), so one course's edit replaces one entry and
    /// drops only the windows it can reorder (`usecase::course_admin`).
    #[tracing::instrument(skip_all, fields(query = %query.list_key(), page = query.page))]
    pub async fn list_courses(
        &self,
        query: &CourseListQuery,
    ) -> Result<Page<CourseSummary>, ServiceError> {
        let size = query.page_size as usize;
        let ids = self.list_ids(query).await?;
        let has_more = ids.len() > size;
        let items = self.summaries(&ids[..ids.len().min(size)]).await?;
        Ok(Page {
            items,
            page: query.page,
            page_size: query.page_size,
            has_more,
        })
    }

    /// The ids of the page's courses and, when more follow, one more.
    async fn list_ids(&self, query: &CourseListQuery) -> Result<Vec<i64>, ServiceError> {
        let offset = query.page_request().offset();
        let want = i64::from(query.page_size) + 1;
        let window_len = i64::from(LIST_WINDOW);
        let window = offset / window_len;
        let start = offset - window * window_len;
        let repo = self.courses;
        let fetch = |offset: i64, limit: i64| {
            let query = query.clone();
            self.read_fresh(move |c| {
                let query = query.clone();
                Box::pin(async move {
                    Ok::<_, ServiceError>(repo.list_ids(pg(c), &query, offset, limit).await?)
                })
            })
        };
        // A page that does not fit in one window (a size that does not divide it) is read
        // on its own, uncached.
        if start + want > window_len + 1 {
            return fetch(offset, want).await;
        }
        let key = CourseListKey {
            family: ListFamily::of(query),
            query: query.list_key(),
            window: u32::try_from(window).unwrap_or(u32::MAX),
        };
        let ids = match self.cache.get(&key).await {
            Some(ids) => ids,
            None => {
                let fresh = fetch(window * window_len, window_len + 1).await?;
                self.cache.fill(&key, &fresh).await;
                fresh
            }
        };
        let from = (start as usize).min(ids.len());
        let to = (start as usize + want as usize).min(ids.len());
        Ok(ids[from..to].to_vec())
    }

    /// The list rows of `ids`, in that order: from the cache, the missing ones from the read
    /// pool (then cached). A course no longer public is left out.
    async fn summaries(&self, ids: &[i64]) -> Result<Vec<CourseSummary>, ServiceError> {
        let keys: Vec<CourseSummaryKey> = ids.iter().map(|&id| CourseSummaryKey(id)).collect();
        let cached = self.cache.get_many(&keys).await;
        let missing: Vec<i64> = ids
            .iter()
            .zip(&cached)
            .filter(|(_, hit)| hit.is_none())
            .map(|(&id, _)| id)
            .collect();
        let mut fetched: HashMap<i64, CourseSummary> = HashMap::new();
        if !missing.is_empty() {
            let repo = self.courses;
            let wanted = missing.clone();
            let rows = self
                .read_fresh(move |c| {
                    let wanted = wanted.clone();
                    Box::pin(
                        async move { Ok::<_, ServiceError>(repo.summaries(pg(c), &wanted).await?) },
                    )
                })
                .await?;
            fetched = rows.into_iter().map(|s| (s.id, s)).collect();
            // "No public course" is stored too, so the next reader skips it without asking.
            let entries: Vec<(CourseSummaryKey, Option<CourseSummary>)> = missing
                .iter()
                .map(|&id| (CourseSummaryKey(id), fetched.get(&id).cloned()))
                .collect();
            self.cache.fill_many(&entries).await;
        }
        Ok(ids
            .iter()
            .zip(cached)
            .filter_map(|(id, hit)| match hit {
                Some(entry) => entry,
                None => fetched.remove(id),
            })
            .collect())
    }

    /// A course page. Anonymous and student callers get published courses through the cache;
    /// staff get any course straight from the primary.
    #[tracing::instrument(skip_all, fields(course_id = id))]
    pub async fn course(
        &self,
        id: i64,
        viewer: Option<Principal>,
    ) -> Result<CourseDetail, ServiceError> {
        if viewer.is_some_and(|p| p.is_staff()) {
            // Drafts included and never cached; read where the latest catalog edit is replayed,
            // so an editor sees their edit at once and a failover does not fail the read.
            let repo = self.courses;
            return self
                .read_fresh(move |c| {
                    Box::pin(
                        async move { Ok::<_, ServiceError>(repo.detail(pg(c), id, true).await?) },
                    )
                })
                .await?
                .ok_or(ServiceError::NotFound(Resource::Course, id));
        }
        let key = CourseDetailKey(id);
        if let Some(hit) = self.cache.get(&key).await {
            return hit.ok_or(ServiceError::NotFound(Resource::Course, id));
        }
        self.public_page_from_db(id)
            .await?
            .ok_or(ServiceError::NotFound(Resource::Course, id))
    }

    /// [`Self::course`] as the JSON bytes of the response, for the hot path: a public page is
    /// served from this process's copy (`repository::local_pages`) or, failing that, as the
    /// bytes Redis holds, so a cached page is never decoded and encoded again.
    #[tracing::instrument(skip_all, fields(course_id = id))]
    pub async fn course_json(
        &self,
        id: i64,
        viewer: Option<Principal>,
    ) -> Result<Bytes, ServiceError> {
        let not_found = || ServiceError::NotFound(Resource::Course, id);
        if viewer.is_some_and(|p| p.is_staff()) {
            return encode(&self.course(id, viewer).await?);
        }
        let local = self.cache.local_pages();
        if let Some(body) = local.get(id) {
            return body.ok_or_else(not_found);
        }
        let ticket = local.ticket();
        let key = CourseDetailKey(id);
        let cached = match self.cache.lookup_raw(&key).await {
            // Decoded once per local fill: proves the entry has today's shape (an entry written
            // by an older version counts as a miss) and tells a page from "none".
            Lookup::Hit(bytes) => match serde_json::from_slice::<Option<CourseDetail>>(&bytes) {
                Ok(page) => Some(page.map(|_| Bytes::from(bytes))),
                Err(err) => {
                    tracing::warn!(course_id = id, error = %err, "cached course page does not decode");
                    None
                }
            },
            Lookup::Miss | Lookup::Unknown => None,
        };
        let body = match cached {
            Some(body) => body,
            None => match self.public_page_from_db(id).await? {
                Some(page) => Some(encode(&page)?),
                None => None,
            },
        };
        local.fill(id, body.clone(), ticket);
        body.ok_or_else(not_found)
    }

    /// Reads a public course page from the database and offers it to the cache (filling only
    /// an empty slot).
    async fn public_page_from_db(&self, id: i64) -> Result<Option<CourseDetail>, ServiceError> {
        let repo = self.courses;
        let fresh = self
            .read_fresh(move |c| {
                Box::pin(async move { Ok::<_, ServiceError>(repo.detail(pg(c), id, false).await?) })
            })
            .await?;
        self.cache.fill(&CourseDetailKey(id), &fresh).await;
        Ok(fresh)
    }

    /// A catalog read from the database: on the read pool, except within a few seconds of a
    /// catalog edit (see [`RecentCatalogWriteKey`]), when it must run where that edit is
    /// replayed.
    async fn read_fresh<T: Send>(&self, op: impl ReadOp<T>) -> Result<T, ServiceError> {
        self.ryw.read_shared(&RecentCatalogWriteKey, op).await
    }

    #[tracing::instrument(skip_all)]
    pub async fn teachers(&self, page: PageRequest) -> Result<Page<TeacherSummary>, ServiceError> {
        let repo = self.teachers;
        // Behind a recent profile write (usecase::teacher_profile), like the catalog pages.
        self.read_fresh(move |c| {
            Box::pin(async move { Ok::<_, ServiceError>(repo.list(pg(c), page).await?) })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(user_id = id))]
    pub async fn teacher(&self, id: i64) -> Result<TeacherProfile, ServiceError> {
        let repo = self.teachers;
        self.read_fresh(move |c| {
            Box::pin(async move { Ok::<_, ServiceError>(repo.profile(pg(c), id).await?) })
        })
        .await?
        .ok_or(ServiceError::NotFound(Resource::Teacher, id))
    }
}

/// A page as response bytes.
fn encode(page: &CourseDetail) -> Result<Bytes, ServiceError> {
    serde_json::to_vec(page)
        .map(Bytes::from)
        .map_err(|e| ServiceError::Internal(format!("encoding a course page: {e}")))
}
