//! The blog: a cached public feed, post pages, and edits by smm staff and admins.
//!
//! The first page of the feed (per tag filter and page size) is cached for
//! `redis.ttl_blog_feed_s`; every post edit drops all cached feed pages and, for a few
//! seconds, makes misses read where that edit is replayed (`RecentBlogWriteKey`, a WAL
//! position) so a lagging replica cannot put the old feed back. A scheduled post therefore appears in a cached first page at most
//! one TTL after its publication time.

use lyceum_db::{Db, DbError};

use super::{Resource, ServiceError, access, consistency::ReadYourWrites};
use crate::entity::page::Page;
use crate::{
    entity::{
        ValidationErrors,
        blog::{self, FeedQuery, PostDetail, PostForCreate, PostForUpdate, PostSummary, Tag},
        user::{Principal, StaffPosition},
    },
    repository::{
        blog::BlogRepository,
        cache::{BLOG_FEED_HASH, BlogFeedKey, Cache, RecentBlogWriteKey, Slot},
        pg,
        user::UserRepository,
    },
};

const EDITORS_ONLY: &str = "only smm staff and admins edit the blog";

#[derive(Debug, Clone)]
pub struct BlogService {
    db: Db,
    cache: Cache,
    ryw: ReadYourWrites,
    posts: BlogRepository,
    users: UserRepository,
}

impl BlogService {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites) -> Self {
        Self {
            db,
            cache,
            ryw,
            posts: BlogRepository,
            users: UserRepository,
        }
    }

    /// read-your-writes: editors read posts from the primary, so their drafts and latest
    /// edits always show. The one place to swap for a finer mechanism.
    async fn own_read<T: Send>(
        &self,
        op: impl FnMut(&mut lyceum_db::Client) -> lyceum_db::DbFuture<'_, T, ServiceError>,
    ) -> Result<T, ServiceError> {
        self.db.write(op).await
    }

    #[tracing::instrument(skip_all, fields(tag = ?query.tag, page = query.page.page))]
    pub async fn feed(&self, query: &FeedQuery) -> Result<Page<PostSummary>, ServiceError> {
        let key = query.cache_field().map(BlogFeedKey);
        if let Some(key) = &key
            && let Some(hit) = self.cache.get(key).await
        {
            return Ok(hit);
        }
        let posts = self.posts;
        let query = query.clone();
        let fresh = self
            .ryw
            .read_shared(&RecentBlogWriteKey, move |c| {
                let query = query.clone();
                Box::pin(async move { Ok::<_, ServiceError>(posts.feed(pg(c), &query).await?) })
            })
            .await?;
        if let Some(key) = &key {
            self.cache.fill(key, &fresh).await;
        }
        Ok(fresh)
    }

    /// A post page: published posts for everyone, drafts and scheduled posts for editors.
    #[tracing::instrument(skip_all, fields(post_id = id))]
    pub async fn post(
        &self,
        id: i64,
        viewer: Option<Principal>,
    ) -> Result<PostDetail, ServiceError> {
        let posts = self.posts;
        let found = if viewer.is_some_and(|p| blog::may_edit(&p)) {
            self.own_read(|c| Box::pin(async move { Ok(posts.detail(pg(c), id, true).await?) }))
                .await?
        } else {
            self.db
                .read(|c| {
                    Box::pin(
                        async move { Ok::<_, ServiceError>(posts.detail(pg(c), id, false).await?) },
                    )
                })
                .await?
        };
        found.ok_or(ServiceError::NotFound(Resource::BlogPost, id))
    }

    #[tracing::instrument(skip_all)]
    pub async fn tags(&self) -> Result<Vec<Tag>, ServiceError> {
        let posts = self.posts;
        self.db
            .read(|c| Box::pin(async move { Ok::<_, ServiceError>(posts.tags(pg(c)).await?) }))
            .await
    }

    /// Publishes (or drafts, or schedules) a post. The author is the caller or, when an admin
    /// writes on someone's behalf, `author_id`; either way an smm staff member.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn create(
        &self,
        who: Principal,
        new: PostForCreate,
    ) -> Result<PostDetail, ServiceError> {
        if !blog::may_edit(&who) {
            return Err(ServiceError::Denied(EDITORS_ONLY));
        }
        let (posts, users) = (self.posts, self.users);
        let detail = self
            .db
            .write_once(|c| {
                let new = new.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    access::require(&tx, who, blog::may_edit, EDITORS_ONLY).await?;
                    let author_id = new.author_id.unwrap_or(who.user_id);
                    let author = users.find_by_id(&tx, author_id).await?;
                    let is_smm = author
                        .as_ref()
                        .is_some_and(|a| a.principal().position == Some(StaffPosition::Smm));
                    // Who the author is is stored state, not a property of the request: an
                    // unknown id is a 404, a known one that is not smm staff a 409.
                    if new.author_id.is_some() && author.is_none() {
                        return Err(ServiceError::UnknownReference(ValidationErrors::single(
                            "author_id",
                            format!("no user {author_id}"),
                        )));
                    }
                    if !is_smm {
                        let message = if new.author_id.is_some() {
                            "must be the id of an smm staff member"
                        } else {
                            "posts are authored by smm staff; an admin names one with author_id"
                        };
                        return Err(ServiceError::Conflict(ValidationErrors::single(
                            "author_id",
                            message,
                        )));
                    }
                    let id = posts.insert(&tx, author_id, &new).await?;
                    posts.set_tags(&tx, id, &new.tags).await?;
                    let detail = posts
                        .detail(&tx, id, true)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::BlogPost, id))?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(detail)
                })
            })
            .await?;
        self.after_write().await;
        tracing::info!(post_id = detail.post.id, "blog post created");
        Ok(detail)
    }

    /// Changes a post; `tags` replaces them all. Sets values only, so it is retried.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, post_id = id))]
    pub async fn update(
        &self,
        who: Principal,
        id: i64,
        changes: PostForUpdate,
    ) -> Result<PostDetail, ServiceError> {
        if !blog::may_edit(&who) {
            return Err(ServiceError::Denied(EDITORS_ONLY));
        }
        let posts = self.posts;
        let detail = self
            .db
            .write(|c| {
                let changes = changes.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    access::require(&tx, who, blog::may_edit, EDITORS_ONLY).await?;
                    if !posts.lock(&tx, id).await? {
                        return Err(ServiceError::NotFound(Resource::BlogPost, id));
                    }
                    posts.update(&tx, id, &changes).await?;
                    if let Some(tags) = &changes.tags {
                        posts.set_tags(&tx, id, tags).await?;
                    }
                    let detail = posts
                        .detail(&tx, id, true)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::BlogPost, id))?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(detail)
                })
            })
            .await?;
        self.after_write().await;
        Ok(detail)
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id, post_id = id))]
    pub async fn delete(&self, who: Principal, id: i64) -> Result<(), ServiceError> {
        if !blog::may_edit(&who) {
            return Err(ServiceError::Denied(EDITORS_ONLY));
        }
        let posts = self.posts;
        self.db
            .write_once(|c| {
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    access::require(&tx, who, blog::may_edit, EDITORS_ONLY).await?;
                    if !posts.delete(&tx, id).await? {
                        return Err(ServiceError::NotFound(Resource::BlogPost, id));
                    }
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(())
                })
            })
            .await?;
        self.after_write().await;
        Ok(())
    }

    /// The fence first, then the feed pages go (see the module documentation).
    async fn after_write(&self) {
        self.ryw.wrote_shared(&RecentBlogWriteKey).await;
        self.cache
            .invalidate(&[Slot::Field {
                hash: BLOG_FEED_HASH.into(),
                field: String::new(),
            }])
            .await;
    }
}
