//! Account administration by admins: staff accounts, roles and positions, deactivation, the
//! user list. Every route needs an admin's bearer token (re-checked in the database); others
//! get 403.

use axum::{Json, extract::State};
use chrono::Utc;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::auth::RegisterRequest;
use super::created::Created;
use super::responses;
use super::{
    AppState,
    error::{ApiError, Problem},
    extract::{self, CurrentUser, Path, Query},
};
use crate::entity::{
    ValidationErrors,
    account::{Account, AccountFilter, EMAIL_SEARCH_MAX},
    page::{Page, PageRequest},
    user::{Role, StaffPosition},
    validation::text,
};

/// Query string of the user list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountListParams {
    pub role: Option<Role>,
    pub position: Option<StaffPosition>,
    /// Part of the email address, any case.
    pub email: Option<String>,
    /// Only active (`true`) or deactivated (`false`) accounts.
    pub active: Option<bool>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

impl AccountListParams {
    fn parse(self) -> Result<AccountFilter, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let email = e.take_opt(self.email, |v| text("email", &v, EMAIL_SEARCH_MAX));
        let page = PageRequest::take_from(&mut e, self.page, self.page_size);
        e.finish(|| AccountFilter {
            role: self.role,
            position: self.position,
            email,
            active: self.active,
            page,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffCreateRequest {
    /// The person, as at registration.
    pub account: RegisterRequest,
    pub position: StaffPosition,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChangeRequest {
    pub role: Role,
    /// Required exactly when `role` is `staff`.
    pub position: Option<StaffPosition>,
}

/// List accounts (admins).
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    security(("bearer" = [])),
    params(AccountListParams),
    responses(
        (status = 200, description = "One page of accounts, oldest first", body = Page<Account>),
        (status = 400, description = "Unknown role or position (`invalid_query`)", body = Problem, content_type = "application/problem+json"),
        responses::AdminOnly,
        (status = 422, description = "Out-of-range page values or a blank email search", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_accounts(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Query(params): Query<AccountListParams>,
) -> Result<Json<Page<Account>>, ApiError> {
    let filter = params.parse()?;
    Ok(Json(state.account_admin.list(who, filter).await?))
}

/// One account (admins).
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The account", body = Account),
        responses::AdminOnly,
        responses::NoSuchUser,
    ))]
pub async fn get_account(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(state.account_admin.get(who, id).await?))
}

/// Create a staff account with a position (admins).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts",
    security(("bearer" = [])),
    request_body = StaffCreateRequest,
    responses(
        (status = 201, description = "Created; the new account", body = Account),
        responses::AdminOnly,
        (status = 409, description = "Email or national id already registered (`email_taken`, `national_id_taken`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_staff(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    extract::Json(body): extract::Json<StaffCreateRequest>,
) -> Result<Created<Account>, ApiError> {
    let new = body.account.parse(Utc::now().date_naive())?;
    let created = state
        .account_admin
        .create_staff(who, new, body.position)
        .await?;
    Ok(Created(format!("/api/v1/users/{}", created.id), created))
}

/// Change an account's role and position (admins). The account's earlier tokens stop working
/// (they name the old role): its owner logs in again.
#[utoipa::path(put, path = "/api/v1/users/{id}/role", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    request_body = RoleChangeRequest,
    responses(
        (status = 200, description = "The changed account", body = Account),
        responses::AdminOnly,
        responses::NoSuchUser,
        (status = 409, description = "It would leave no active admin (`last_admin`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong shape, or a position that does not fit the role (`position_mismatch`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_role(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<RoleChangeRequest>,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(
        state
            .account_admin
            .set_role(who, id, body.role, body.position)
            .await?,
    ))
}

/// Deactivate an account (admins): its tokens stop working at once and login is refused
/// (`account_deactivated`); its purchases, reviews and posts stay.
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The deactivated account (again: unchanged)", body = Account),
        responses::AdminOnly,
        responses::NoSuchUser,
        (status = 409, description = "It would leave no active admin (`last_admin`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn deactivate(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(state.account_admin.set_active(who, id, false).await?))
}

/// Reactivate an account (admins); tokens issued before its deactivation stay dead.
#[utoipa::path(post, path = "/api/v1/users/{id}/reactivate", tag = "accounts",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The active account", body = Account),
        responses::AdminOnly,
        responses::NoSuchUser,
    ))]
pub async fn reactivate(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Account>, ApiError> {
    Ok(Json(state.account_admin.set_active(who, id, true).await?))
}
