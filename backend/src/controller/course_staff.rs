//! The teachers, mentors and reviewers of a course: admins assign and remove any of them, a
//! course's own teachers its mentors and reviewers. Both answer with the course page as staff
//! see it (unpublished courses included); the public page shows the change at once.

use axum::{Json, extract::State};

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{CurrentUser, Path},
};
use crate::entity::{catalog::CourseDetail, course_staff::CourseRole};

/// Give a person a role on a course. Idempotent: assigning again changes nothing and answers
/// the same page.
#[utoipa::path(put, path = "/api/v1/courses/{id}/staff/{role}/{user_id}", tag = "staff",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Course id"),
        ("role" = CourseRole, Path, description = "The role on this course; the person needs the staff position of the same name"),
        ("user_id" = i64, Path, description = "The person's user id"),
    ),
    responses(
        (status = 200, description = "The course page with its staff", body = CourseDetail),
        (status = 400, description = "Non-numeric id or unknown role (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither an admin nor, for mentors and reviewers, a teacher of this course (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such course or user (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The person's position does not match the role, or the account is deactivated (`conflict`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn assign(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path((id, role, user_id)): Path<(i64, CourseRole, i64)>,
) -> Result<Json<CourseDetail>, ApiError> {
    Ok(Json(
        state.course_staff.assign(who, id, role, user_id).await?,
    ))
}

/// Take a role on a course from a person.
#[utoipa::path(delete, path = "/api/v1/courses/{id}/staff/{role}/{user_id}", tag = "staff",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "Course id"),
        ("role" = CourseRole, Path, description = "The role on this course"),
        ("user_id" = i64, Path, description = "The person's user id"),
    ),
    responses(
        (status = 200, description = "The course page with its staff", body = CourseDetail),
        (status = 400, description = "Non-numeric id or unknown role (`invalid_path`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither an admin nor, for mentors and reviewers, a teacher of this course (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such course, or the person does not hold this role on it (`not_found`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path((id, role, user_id)): Path<(i64, CourseRole, i64)>,
) -> Result<Json<CourseDetail>, ApiError> {
    Ok(Json(
        state.course_staff.remove(who, id, role, user_id).await?,
    ))
}
