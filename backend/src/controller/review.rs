//! Course reviews: the public list of a course, the caller's own, and writes by buyers.

use axum::{Json, extract::State, http::StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::created::Created;
use super::responses;
use super::{
    error::{ApiError, Problem},
    extract::{self, CurrentUser, Path, Query},
};
use crate::entity::page::{Page, PageParams, PageRequest};
use crate::entity::{
    ValidationErrors,
    review::{self, Review, ReviewForCreate, ReviewForUpdate},
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewCreateRequest {
    /// 1 to 5.
    pub rating: i32,
    /// At most 10000 characters; may be empty.
    #[serde(default)]
    pub body: String,
}

impl ReviewCreateRequest {
    fn parse(self) -> Result<ReviewForCreate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let rating = e.take(review::rating(self.rating));
        let body = e.take(review::body(&self.body));
        match (rating, body) {
            (Some(rating), Some(body)) => Ok(ReviewForCreate { rating, body }),
            _ => Err(e),
        }
    }
}

/// Review changes; absent fields stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewUpdateRequest {
    pub rating: Option<i32>,
    pub body: Option<String>,
}

impl ReviewUpdateRequest {
    fn parse(self) -> Result<ReviewForUpdate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let rating = e.take_opt(self.rating, review::rating);
        let body = e.take_opt(self.body, |b| review::body(&b));
        e.finish(|| ReviewForUpdate { rating, body })
    }
}

/// A published course's reviews, newest first.
#[utoipa::path(get, path = "/api/v1/courses/{id}/reviews", tag = "reviews",
    params(("id" = i64, Path, description = "Course id"), PageParams),
    responses(
        (status = 200, description = "One page of reviews", body = Page<Review>),
        (status = 400, description = "Non-numeric id or unparseable query", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such published course", body = Problem, content_type = "application/problem+json"),
        responses::PageOutOfRange,
    ))]
pub async fn course_reviews(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<Review>>, ApiError> {
    let page = PageRequest::parse(params)?;
    Ok(Json(state.reviews.course_reviews(id, page).await?))
}

/// Review a course you bought (a paid purchase of one of its runs); one review per course.
#[utoipa::path(post, path = "/api/v1/courses/{id}/reviews", tag = "reviews",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id")),
    request_body = ReviewCreateRequest,
    responses(
        (status = 201, description = "The new review", body = Review),
        (status = 403, description = "No paid purchase of this course (`not_a_buyer`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such published course", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already reviewed (`already_reviewed`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_review(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<ReviewCreateRequest>,
) -> Result<Created<Review>, ApiError> {
    let new = body.parse()?;
    let created = state.reviews.create(who, id, new).await?;
    Ok(Created(format!("/api/v1/reviews/{}", created.id), created))
}

/// Change your review.
#[utoipa::path(patch, path = "/api/v1/reviews/{id}", tag = "reviews",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Review id")),
    request_body = ReviewUpdateRequest,
    responses(
        (status = 200, description = "The changed review", body = Review),
        (status = 403, description = "Not the author (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such review", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_review(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<ReviewUpdateRequest>,
) -> Result<Json<Review>, ApiError> {
    let changes = body.parse()?;
    Ok(Json(state.reviews.update(who, id, changes).await?))
}

/// Delete your review (admins may delete any).
#[utoipa::path(delete, path = "/api/v1/reviews/{id}", tag = "reviews",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Review id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Neither the author nor an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such review", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_review(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.reviews.delete(who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Your reviews, newest first (always includes one you just wrote).
#[utoipa::path(get, path = "/api/v1/me/reviews", tag = "reviews",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "One page of your reviews", body = Page<Review>),
        responses::PageOutOfRange,
    ))]
pub async fn my_reviews(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<Review>>, ApiError> {
    let page = PageRequest::parse(params)?;
    Ok(Json(state.reviews.my_reviews(who, page).await?))
}
