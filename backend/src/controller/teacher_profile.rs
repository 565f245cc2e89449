//! Teacher profile writes: an admin for any teacher, a teacher for their own profile.

use axum::{Json, extract::State};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{self, CurrentUser, Path},
};
use crate::entity::{catalog::TeacherProfile, teacher::TeacherProfileForUpsert};

/// A whole teacher profile; it replaces the stored one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeacherProfileRequest {
    /// Slug of the specialization `years_in_specialization` counts; absent: not classified.
    pub specialization: Option<String>,
    /// Current workplace.
    pub workplace: String,
    pub years_experience: i64,
    /// At most `years_experience`.
    pub years_in_specialization: i64,
    /// Absolute http(s) URL; absent: the account's own photo is shown.
    pub photo_url: Option<String>,
}

/// Create or replace a teacher's profile (an admin, or the teacher themselves). The course
/// pages that show the teacher show the new workplace and photo at once.
#[utoipa::path(put, path = "/api/v1/teachers/{id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The teacher's user id")),
    request_body = TeacherProfileRequest,
    responses(
        (status = 200, description = "The profile as stored (created or replaced)", body = TeacherProfile),
        (status = 403, description = "Neither an admin nor this teacher (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user (`not_found`), or no such specialization (`unknown_reference`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account is not a teacher (`conflict`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_profile(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<TeacherProfileRequest>,
) -> Result<Json<TeacherProfile>, ApiError> {
    let profile = TeacherProfileForUpsert::parse(
        body.specialization.as_deref(),
        &body.workplace,
        body.years_experience,
        body.years_in_specialization,
        body.photo_url.as_deref(),
    )
    .map_err(|e| ApiError::Service(e.into()))?;
    Ok(Json(state.teacher_profiles.upsert(who, id, profile).await?))
}
