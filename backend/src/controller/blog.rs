//! The blog: public feed and posts, tags, and edits by smm staff and admins.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::AppState;
use super::created::Created;
use super::responses;
use super::{
    error::{ApiError, Problem},
    extract::{self, CurrentUser, MaybeUser, Path, Query},
};
use crate::entity::page::Page;
use crate::entity::{
    ValidationErrors,
    blog::{
        self, FeedParams, FeedQuery, PostDetail, PostForCreate, PostForUpdate, PostSummary, Tag,
    },
};

/// A field that was sent, possibly as `null` (`Some(None)`), as opposed to absent (`None`).
fn sent<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostCreateRequest {
    /// 1 to 300 characters.
    pub title: String,
    pub topic: String,
    /// 1 to 600.
    pub reading_minutes: i32,
    pub cover_url: Option<String>,
    pub body: String,
    /// Tag names (created when new; matched ignoring case), at most 10.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Absent: a draft. In the future: scheduled.
    pub published_at: Option<DateTime<Utc>>,
    /// An admin posts on behalf of this smm staff member; smm authors post as themselves.
    pub author_id: Option<i64>,
}

impl PostCreateRequest {
    fn parse(self) -> Result<PostForCreate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let title = e.take(blog::title(&self.title));
        let topic = e.take(blog::topic(&self.topic));
        let reading_minutes = e.take(blog::reading_minutes(self.reading_minutes));
        let cover_url = e.take_opt(self.cover_url, |v| blog::cover_url(&v));
        let body = e.take(blog::body(&self.body));
        let tags = e.take(blog::tags(self.tags));
        match (title, topic, reading_minutes, body, tags) {
            (Some(title), Some(topic), Some(reading_minutes), Some(body), Some(tags))
                if e.is_empty() =>
            {
                Ok(PostForCreate {
                    author_id: self.author_id,
                    title,
                    topic,
                    reading_minutes,
                    cover_url,
                    body,
                    tags,
                    published_at: self.published_at,
                })
            }
            _ => Err(e),
        }
    }
}

/// Post changes; absent fields stay. `cover_url: null` removes the cover, `published_at: null`
/// turns the post back into a draft, `tags` replaces every tag.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostUpdateRequest {
    pub title: Option<String>,
    pub topic: Option<String>,
    pub reading_minutes: Option<i32>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<String>)]
    pub cover_url: Option<Option<String>>,
    pub body: Option<String>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "sent")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub published_at: Option<Option<DateTime<Utc>>>,
}

impl PostUpdateRequest {
    fn parse(self) -> Result<PostForUpdate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let cover_url = match self.cover_url {
            Some(Some(v)) => e.take(blog::cover_url(&v)).map(Some),
            Some(None) => Some(None),
            None => None,
        };
        let changes = PostForUpdate {
            title: e.take_opt(self.title, |v| blog::title(&v)),
            topic: e.take_opt(self.topic, |v| blog::topic(&v)),
            reading_minutes: e.take_opt(self.reading_minutes, blog::reading_minutes),
            cover_url,
            body: e.take_opt(self.body, |v| blog::body(&v)),
            tags: e.take_opt(self.tags, blog::tags),
            published_at: self.published_at,
        };
        e.finish(|| changes)
    }
}

/// The public feed: published posts, newest first, optionally with one tag.
#[utoipa::path(get, path = "/api/v1/blog/posts", tag = "blog",
    params(FeedParams),
    responses(
        (status = 200, description = "One page of posts", body = Page<PostSummary>),
        (status = 422, description = "Out-of-range page values or a bad tag", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn feed(
    State(state): State<AppState>,
    Query(params): Query<FeedParams>,
) -> Result<Json<Page<PostSummary>>, ApiError> {
    let query = FeedQuery::parse(params)?;
    Ok(Json(state.blog.feed(&query).await?))
}

/// A post with its body. Drafts and scheduled posts only for smm staff and admins.
#[utoipa::path(get, path = "/api/v1/blog/posts/{id}", tag = "blog",
    security((), ("bearer" = [])),
    params(("id" = i64, Path, description = "Post id")),
    responses(
        (status = 200, description = "The post", body = PostDetail),
        (status = 401, description = "A token was sent and is invalid or expired", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such (published) post", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn post(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(id): Path<i64>,
) -> Result<Json<PostDetail>, ApiError> {
    Ok(Json(state.blog.post(id, viewer).await?))
}

/// Write a post (smm, admin).
#[utoipa::path(post, path = "/api/v1/blog/posts", tag = "blog",
    security(("bearer" = [])),
    request_body = PostCreateRequest,
    responses(
        (status = 201, description = "The new post", body = PostDetail),
        responses::SmmOrAdminOnly,
        (status = 404, description = "No user `author_id` (`unknown_reference`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The author is not smm staff (`conflict`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_post(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    extract::Json(body): extract::Json<PostCreateRequest>,
) -> Result<Created<PostDetail>, ApiError> {
    let new = body.parse()?;
    let created = state.blog.create(who, new).await?;
    Ok(Created(
        format!("/api/v1/blog/posts/{}", created.post.id),
        created,
    ))
}

/// Change a post (smm, admin).
#[utoipa::path(patch, path = "/api/v1/blog/posts/{id}", tag = "blog",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Post id")),
    request_body = PostUpdateRequest,
    responses(
        (status = 200, description = "The changed post", body = PostDetail),
        responses::SmmOrAdminOnly,
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_post(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<PostUpdateRequest>,
) -> Result<Json<PostDetail>, ApiError> {
    let changes = body.parse()?;
    Ok(Json(state.blog.update(who, id, changes).await?))
}

/// Delete a post (smm, admin).
#[utoipa::path(delete, path = "/api/v1/blog/posts/{id}", tag = "blog",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Post id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::SmmOrAdminOnly,
        (status = 404, description = "No such post", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_post(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.blog.delete(who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every tag, alphabetical.
#[utoipa::path(get, path = "/api/v1/blog/tags", tag = "blog",
    responses(
        (status = 200, description = "Tags", body = Vec<Tag>),
    ))]
pub async fn tags(State(state): State<AppState>) -> Result<Json<Vec<Tag>>, ApiError> {
    Ok(Json(state.blog.tags().await?))
}
