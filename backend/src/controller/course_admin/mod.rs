//! Staff-only catalog edits: courses, topics and runs. Every route needs a bearer token of a
//! staff member whose position edits the catalog (admin or teacher); others get 403.
//! Creates answer 201 with what they created and its `Location`; other edits answer with the
//! fresh course page, read from the primary.

mod request;

use axum::{Json, extract::State, http::StatusCode};

use super::created::Created;
use super::responses;

pub use self::request::{
    CourseCreateRequest, CourseUpdateRequest, ProjectInput, RunCreateRequest, RunUpdateRequest,
    TopicCreateRequest, TopicUpdateRequest,
};
use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{self, CurrentUser, Path},
};
use crate::entity::catalog::{CourseDetail, CourseRun, Topic};

/// Create a course.
#[utoipa::path(post, path = "/api/v1/courses", tag = "staff",
    security(("bearer" = [])),
    request_body = CourseCreateRequest,
    responses(
        (status = 201, description = "Created; the new course page", body = CourseDetail),
        responses::CatalogEditorsOnly,
        (status = 404, description = "No such specialization or difficulty (`unknown_reference`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_course(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    extract::Json(body): extract::Json<CourseCreateRequest>,
) -> Result<Created<CourseDetail>, ApiError> {
    let new = body.parse()?;
    let detail = state.course_admin.create_course(who, new).await?;
    Ok(Created(
        format!("/api/v1/courses/{}", detail.course.id),
        detail,
    ))
}

/// Change a course.
#[utoipa::path(patch, path = "/api/v1/courses/{id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id")),
    request_body = CourseUpdateRequest,
    responses(
        (status = 200, description = "The updated course page", body = CourseDetail),
        responses::CatalogEditorsOnly,
        (status = 404, description = "No such course, specialization or difficulty", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_course(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<CourseUpdateRequest>,
) -> Result<Json<CourseDetail>, ApiError> {
    let changes = body.parse()?;
    Ok(Json(
        state.course_admin.update_course(who, id, changes).await?,
    ))
}

/// Delete a course with its topics and runs; refused (409 `in_use`) once a run was sold.
#[utoipa::path(delete, path = "/api/v1/courses/{id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::CatalogEditorsOnly,
        responses::NoSuchCourse,
        (status = 409, description = "The course has sales, certificates or career tracks", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_course(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    state.course_admin.delete_course(who, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a topic (with projects) to a course.
#[utoipa::path(post, path = "/api/v1/courses/{id}/topics", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id")),
    request_body = TopicCreateRequest,
    responses(
        (status = 201, description = "Added; the new topic", body = Topic),
        responses::CatalogEditorsOnly,
        responses::NoSuchCourse,
    ))]
pub async fn add_topic(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<TopicCreateRequest>,
) -> Result<Created<Topic>, ApiError> {
    let new = body.parse()?;
    let topic = state.course_admin.add_topic(who, id, new).await?;
    Ok(Created(
        format!("/api/v1/courses/{id}/topics/{}", topic.id),
        topic,
    ))
}

/// Change or move a topic.
#[utoipa::path(patch, path = "/api/v1/courses/{id}/topics/{topic_id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id"), ("topic_id" = i64, Path, description = "Topic id")),
    request_body = TopicUpdateRequest,
    responses(
        (status = 200, description = "The course page", body = CourseDetail),
        responses::CatalogEditorsOnly,
        (status = 404, description = "No such course or topic", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_topic(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path((id, topic_id)): Path<(i64, i64)>,
    extract::Json(body): extract::Json<TopicUpdateRequest>,
) -> Result<Json<CourseDetail>, ApiError> {
    let changes = body.parse()?;
    Ok(Json(
        state
            .course_admin
            .update_topic(who, id, topic_id, changes)
            .await?,
    ))
}

/// Delete a topic; later topics move up.
#[utoipa::path(delete, path = "/api/v1/courses/{id}/topics/{topic_id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id"), ("topic_id" = i64, Path, description = "Topic id")),
    responses(
        (status = 200, description = "The course page", body = CourseDetail),
        responses::CatalogEditorsOnly,
        (status = 404, description = "No such course or topic", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_topic(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path((id, topic_id)): Path<(i64, i64)>,
) -> Result<Json<CourseDetail>, ApiError> {
    Ok(Json(
        state.course_admin.delete_topic(who, id, topic_id).await?,
    ))
}

/// Schedule a run of a course.
#[utoipa::path(post, path = "/api/v1/courses/{id}/runs", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id")),
    request_body = RunCreateRequest,
    responses(
        (status = 201, description = "Scheduled; the new run", body = CourseRun),
        responses::CatalogEditorsOnly,
        responses::NoSuchCourse,
    ))]
pub async fn add_run(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<RunCreateRequest>,
) -> Result<Created<CourseRun>, ApiError> {
    let new = body.parse()?;
    let run = state.course_admin.add_run(who, id, new).await?;
    Ok(Created(
        format!("/api/v1/courses/{id}/runs/{}", run.id),
        run,
    ))
}

/// Change a run's dates or size.
#[utoipa::path(patch, path = "/api/v1/courses/{id}/runs/{run_id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id"), ("run_id" = i64, Path, description = "Run id")),
    request_body = RunUpdateRequest,
    responses(
        (status = 200, description = "The course page", body = CourseDetail),
        responses::CatalogEditorsOnly,
        (status = 404, description = "No such course or run", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Fewer seats than already sold (`seats_taken`), or a date that contradicts the stored one: sales must end by the start (`conflict`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_run(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path((id, run_id)): Path<(i64, i64)>,
    extract::Json(body): extract::Json<RunUpdateRequest>,
) -> Result<Json<CourseDetail>, ApiError> {
    let changes = body.parse()?;
    Ok(Json(
        state
            .course_admin
            .update_run(who, id, run_id, changes)
            .await?,
    ))
}

/// Delete a run; refused (409 `in_use`) once it was sold.
#[utoipa::path(delete, path = "/api/v1/courses/{id}/runs/{run_id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id"), ("run_id" = i64, Path, description = "Run id")),
    responses(
        (status = 200, description = "The course page", body = CourseDetail),
        responses::CatalogEditorsOnly,
        (status = 404, description = "No such course or run", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The run has purchases", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_run(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path((id, run_id)): Path<(i64, i64)>,
) -> Result<Json<CourseDetail>, ApiError> {
    Ok(Json(state.course_admin.delete_run(who, id, run_id).await?))
}
