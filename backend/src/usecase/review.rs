//! Course reviews: public lists, the caller's own reviews, and writes by buyers.
//!
//! A write runs in one transaction on the primary. After it commits:
//! - for a few seconds the course's review list is read from a replica that has replayed the
//!   write, else the primary (`RecentReviewWriteKey` holds its WAL position), so nobody — the
//!   author included — gets a list without it;
//! - the cached course page is replaced with a fresh copy (rating and review count changed);
//! - the cached reports are dropped (top courses depend on ratings).

use lyceum_db::{Db, DbError};

use super::{
    Resource, ServiceError, access, consistency::ReadYourWrites, course_page::refresh_course_page,
};
use crate::entity::page::{Page, PageRequest};
use crate::{
    entity::{
        review::{self, Review, ReviewForCreate, ReviewForUpdate},
        user::Principal,
    },
    repository::{
        buyer::BuyerRepository,
        cache::{Cache, RecentReviewWriteKey, all_reports},
        pg,
        review::ReviewRepository,
    },
};

#[derive(Debug, Clone)]
pub struct ReviewService {
    db: Db,
    ryw: ReadYourWrites,
    cache: Cache,
    reviews: ReviewRepository,
    buyers: BuyerRepository,
}

impl ReviewService {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites) -> Self {
        Self {
            db,
            ryw,
            cache,
            reviews: ReviewRepository,
            buyers: BuyerRepository,
        }
    }

    /// A published course's reviews, newest first.
    #[tracing::instrument(skip_all, fields(course_id))]
    pub async fn course_reviews(
        &self,
        course_id: i64,
        page: PageRequest,
    ) -> Result<Page<Review>, ServiceError> {
        let (reviews, buyers) = (self.reviews, self.buyers);
        self.ryw
            .read_shared(&RecentReviewWriteKey(course_id), move |c| {
                Box::pin(async move {
                    if buyers.course_published(pg(c), course_id).await? != Some(true) {
                        return Err(ServiceError::NotFound(Resource::Course, course_id));
                    }
                    Ok(reviews.list_for_course(pg(c), course_id, page).await?)
                })
            })
            .await
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn my_reviews(
        &self,
        who: Principal,
        page: PageRequest,
    ) -> Result<Page<Review>, ServiceError> {
        let reviews = self.reviews;
        self.ryw
            .read_own(who.user_id, move |c| {
                Box::pin(async move { Ok(reviews.list_for_user(pg(c), who.user_id, page).await?) })
            })
            .await
    }

    /// Only a buyer (a `paid` purchase of a run of the course) may review, once.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id))]
    pub async fn create(
        &self,
        who: Principal,
        course_id: i64,
        new: ReviewForCreate,
    ) -> Result<Review, ServiceError> {
        let (reviews, buyers) = (self.reviews, self.buyers);
        // An insert: attempted once, a failover mid-way is a 503 the client may retry
        // (a retry that finds the first attempt committed gets 409 already_reviewed).
        let review = self
            .db
            .write_once(|c| {
                let new = new.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    if buyers.course_published(&tx, course_id).await? != Some(true) {
                        return Err(ServiceError::NotFound(Resource::Course, course_id));
                    }
                    if !buyers
                        .has_paid_purchase(&tx, who.user_id, course_id)
                        .await?
                    {
                        return Err(ServiceError::NotABuyer);
                    }
                    let id = reviews.insert(&tx, who.user_id, course_id, &new).await?;
                    let review = reviews
                        .find(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Review, id))?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(review)
                })
            })
            .await?;
        self.ryw.wrote_now(&[who.user_id]).await;
        self.after_write(course_id).await;
        tracing::info!(review_id = review.id, "review created");
        Ok(review)
    }

    /// The author changes their review. Setting values is idempotent, so it is retried.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, review_id = id))]
    pub async fn update(
        &self,
        who: Principal,
        id: i64,
        changes: ReviewForUpdate,
    ) -> Result<Review, ServiceError> {
        let reviews = self.reviews;
        let review = self
            .db
            .write(|c| {
                let changes = changes.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    let (author, _) = reviews
                        .lock(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Review, id))?;
                    if author != who.user_id {
                        return Err(ServiceError::Denied("only the author may edit a review"));
                    }
                    reviews.update(&tx, id, &changes).await?;
                    let review = reviews
                        .find(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Review, id))?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(review)
                })
            })
            .await?;
        self.ryw.wrote_now(&[who.user_id]).await;
        self.after_write(review.course_id).await;
        Ok(review)
    }

    /// The author, or an admin (moderation), deletes a review.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, review_id = id))]
    pub async fn delete(&self, who: Principal, id: i64) -> Result<(), ServiceError> {
        let reviews = self.reviews;
        let course_id = self
            .db
            .write_once(|c| {
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    let (author, course_id) = reviews
                        .lock(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Review, id))?;
                    if author != who.user_id {
                        // Not the author: only a moderator, by their current position.
                        let now = access::current_principal(&tx, who).await?;
                        if !review::may_delete(author, &now) {
                            return Err(ServiceError::Denied(
                                "only the author or an admin may delete a review",
                            ));
                        }
                    }
                    reviews.delete(&tx, id).await?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(course_id)
                })
            })
            .await?;
        self.ryw.wrote_now(&[who.user_id]).await;
        self.after_write(course_id).await;
        tracing::info!("review deleted");
        Ok(())
    }

    /// See the module documentation.
    async fn after_write(&self, course_id: i64) {
        self.ryw
            .wrote_shared(&RecentReviewWriteKey(course_id))
            .await;
        refresh_course_page(&self.db, &self.cache, course_id).await;
        self.cache.invalidate(&[all_reports()]).await;
    }
}
