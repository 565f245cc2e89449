//! Public catalog reads: lookups, course list and page, teachers.

use axum::{
    Json,
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};

use super::AppState;
use super::{
    error::{ApiError, Problem},
    extract::{MaybeUser, Path, Query},
};
use crate::entity::catalog::{
    CourseDetail, CourseListParams, CourseListQuery, CourseSummary, DifficultyLevel,
    Specialization, TeacherProfile, TeacherSummary,
};
use crate::entity::page::{Page, PageParams, PageRequest};
use crate::entity::plan::Plan;

/// All specializations, by name.
#[utoipa::path(get, path = "/api/v1/specializations", tag = "catalog",
    responses(
        (status = 200, description = "Specializations", body = Vec<Specialization>),
    ))]
pub async fn specializations(
    State(state): State<AppState>,
) -> Result<Json<Vec<Specialization>>, ApiError> {
    Ok(Json(state.catalog.lookups().await?.specializations))
}

/// All difficulty levels, easiest first.
#[utoipa::path(get, path = "/api/v1/difficulty-levels", tag = "catalog",
    responses(
        (status = 200, description = "Difficulty levels", body = Vec<DifficultyLevel>),
    ))]
pub async fn difficulty_levels(
    State(state): State<AppState>,
) -> Result<Json<Vec<DifficultyLevel>>, ApiError> {
    Ok(Json(state.catalog.lookups().await?.difficulty_levels))
}

/// The plans a purchase can name, and what each charges: a course of price `p` costs
/// `floor(p × percent_of_base_price / 100)` minor units on a plan, computed by the function the
/// purchase charges with. Course pages and their runs list the resulting prices.
#[utoipa::path(get, path = "/api/v1/plans", tag = "catalog",
    responses(
        (status = 200, description = "Every plan", body = Vec<Plan>),
    ))]
pub async fn plans(State(state): State<AppState>) -> Result<Json<Vec<Plan>>, ApiError> {
    Ok(Json(state.catalog.plans().await?))
}

/// Published courses: filter, search, sort, paginate (at most 100 per page). `on_sale=true`
/// keeps courses with a run on sale (last day of sales today or later, seats left);
/// `sort=next_start` orders by the soonest start of such a run, courses without one last.
/// List pages are cached for up to `ttl_course_list_s` (60 s), so a run that sells its last
/// seat may stay listed as on sale that long; the purchase itself always decides on the primary.
#[utoipa::path(get, path = "/api/v1/courses", tag = "catalog",
    params(CourseListParams),
    responses(
        (status = 200, description = "One page of courses", body = Page<CourseSummary>),
        (status = 400, description = "Unparseable query string (`invalid_query`), e.g. page=abc", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Out-of-range values (`validation_failed`), e.g. page_size=1000", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_courses(
    State(state): State<AppState>,
    Query(params): Query<CourseListParams>,
) -> Result<Json<Page<CourseSummary>>, ApiError> {
    let query = CourseListQuery::parse(params).map_err(|e| ApiError::Service(e.into()))?;
    Ok(Json(state.catalog.list_courses(&query).await?))
}

/// A course page: ordered topics with projects, staff, upcoming runs with seats left, and
/// statistics. Unpublished courses are visible to staff only.
#[utoipa::path(get, path = "/api/v1/courses/{id}", tag = "catalog",
    params(("id" = i64, Path, description = "Course id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The course", body = CourseDetail),
        (status = 400, description = "The id is not a number (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "A token was sent and is invalid or expired", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such (published) course", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn course(
    State(state): State<AppState>,
    MaybeUser(viewer): MaybeUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    // Already-encoded JSON (the cached bytes): what `Json(CourseDetail)` would send.
    let body = state.catalog.course_json(id, viewer).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// Teachers with a profile, by name.
#[utoipa::path(get, path = "/api/v1/teachers", tag = "catalog",
    params(PageParams),
    responses(
        (status = 200, description = "One page of teachers", body = Page<TeacherSummary>),
        (status = 400, description = "Unparseable query string", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Out-of-range values", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn teachers(
    State(state): State<AppState>,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<TeacherSummary>>, ApiError> {
    let page = PageRequest::parse(params).map_err(|e| ApiError::Service(e.into()))?;
    Ok(Json(state.catalog.teachers(page).await?))
}

/// A teacher's profile and the published courses they work on.
#[utoipa::path(get, path = "/api/v1/teachers/{id}", tag = "catalog",
    params(("id" = i64, Path, description = "The teacher's user id")),
    responses(
        (status = 200, description = "The profile", body = TeacherProfile),
        (status = 400, description = "The id is not a number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No teacher profile for this id", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn teacher(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<TeacherProfile>, ApiError> {
    Ok(Json(state.catalog.teacher(id).await?))
}
