//! Admin edits of the lookup tables: specializations and difficulty levels. Every route needs
//! the bearer token of an admin (re-checked in the database); others get 403. Creates answer
//! 201 with the row and its `Location`, changes answer with the row, deletes 204.

use axum::{Json, extract::State, http::StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;

use super::created::Created;
use super::responses;
use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{self, CurrentUser, Path},
};
use crate::entity::{
    catalog::{DifficultyLevel, Specialization},
    lookup::{
        DifficultyForCreate, DifficultyForUpdate, LookupTable, SpecializationForCreate,
        SpecializationForUpdate,
    },
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecializationCreateRequest {
    /// Lowercase words joined by hyphens (`data-science`); unique.
    pub slug: String,
    /// 1 to 100 characters; unique.
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Specialization changes; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SpecializationUpdateRequest {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DifficultyCreateRequest {
    /// A lowercase letter, then lowercase letters, digits or `_` (`expert`); unique.
    pub code: String,
    /// 1 to 100 characters.
    pub name: String,
    /// Position from easiest (1) to hardest; unique.
    pub sort_order: i64,
}

/// Difficulty level changes; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DifficultyUpdateRequest {
    pub code: Option<String>,
    pub name: Option<String>,
    pub sort_order: Option<i64>,
}

/// Add a specialization.
#[utoipa::path(post, path = "/api/v1/specializations", tag = "staff",
    security(("bearer" = [])),
    request_body = SpecializationCreateRequest,
    responses(
        (status = 201, description = "Created; the new specialization", body = Specialization),
        responses::AdminOnly,
        (status = 409, description = "The slug or name is taken (`name_taken`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_specialization(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    extract::Json(body): extract::Json<SpecializationCreateRequest>,
) -> Result<Created<Specialization>, ApiError> {
    let new = SpecializationForCreate::parse(&body.slug, &body.name, &body.description)?;
    let created = state.lookup_admin.create_specialization(who, new).await?;
    Ok(Created(
        format!("/api/v1/specializations/{}", created.id),
        created,
    ))
}

/// Change a specialization. A new slug or name shows on every course page of the
/// specialization at once.
#[utoipa::path(patch, path = "/api/v1/specializations/{id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Specialization id")),
    request_body = SpecializationUpdateRequest,
    responses(
        (status = 200, description = "The changed specialization", body = Specialization),
        responses::AdminOnly,
        (status = 404, description = "No such specialization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The slug or name is taken (`name_taken`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_specialization(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i32>,
    extract::Json(body): extract::Json<SpecializationUpdateRequest>,
) -> Result<Json<Specialization>, ApiError> {
    let changes = SpecializationForUpdate::parse(
        body.slug.as_deref(),
        body.name.as_deref(),
        body.description.as_deref(),
    )?;
    Ok(Json(
        state
            .lookup_admin
            .update_specialization(who, id, changes)
            .await?,
    ))
}

/// Delete a specialization no course or teacher profile uses.
#[utoipa::path(delete, path = "/api/v1/specializations/{id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Specialization id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::AdminOnly,
        (status = 404, description = "No such specialization", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Courses or teacher profiles use it (`in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_specialization(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    state
        .lookup_admin
        .delete(who, LookupTable::Specialization, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Add a difficulty level.
#[utoipa::path(post, path = "/api/v1/difficulty-levels", tag = "staff",
    security(("bearer" = [])),
    request_body = DifficultyCreateRequest,
    responses(
        (status = 201, description = "Created; the new difficulty level", body = DifficultyLevel),
        responses::AdminOnly,
        (status = 409, description = "The code or sort_order is taken (`name_taken`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_difficulty_level(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    extract::Json(body): extract::Json<DifficultyCreateRequest>,
) -> Result<Created<DifficultyLevel>, ApiError> {
    let new = DifficultyForCreate::parse(&body.code, &body.name, body.sort_order)?;
    let created = state.lookup_admin.create_difficulty(who, new).await?;
    Ok(Created(
        format!("/api/v1/difficulty-levels/{}", created.id),
        created,
    ))
}

/// Change a difficulty level. A new code or name shows on every course page of the level at
/// once; a new `sort_order` changes the `difficulty` sort of the course list.
#[utoipa::path(patch, path = "/api/v1/difficulty-levels/{id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Difficulty level id")),
    request_body = DifficultyUpdateRequest,
    responses(
        (status = 200, description = "The changed difficulty level", body = DifficultyLevel),
        responses::AdminOnly,
        (status = 404, description = "No such difficulty level", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code or sort_order is taken (`name_taken`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_difficulty_level(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i32>,
    extract::Json(body): extract::Json<DifficultyUpdateRequest>,
) -> Result<Json<DifficultyLevel>, ApiError> {
    let changes =
        DifficultyForUpdate::parse(body.code.as_deref(), body.name.as_deref(), body.sort_order)?;
    Ok(Json(
        state
            .lookup_admin
            .update_difficulty(who, id, changes)
            .await?,
    ))
}

/// Delete a difficulty level no course uses.
#[utoipa::path(delete, path = "/api/v1/difficulty-levels/{id}", tag = "staff",
    security(("bearer" = [])),
    params(("id" = i32, Path, description = "Difficulty level id")),
    responses(
        (status = 204, description = "Deleted"),
        responses::AdminOnly,
        (status = 404, description = "No such difficulty level", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Courses use it (`in_use`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_difficulty_level(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i32>,
) -> Result<StatusCode, ApiError> {
    state
        .lookup_admin
        .delete(who, LookupTable::DifficultyLevel, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
