//! Accounts: register, login, log out, change the password, and the caller's profile.

use axum::{Json, extract::State, http::StatusCode};
use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::created::Created;
use super::{
    error::{ApiError, Problem},
    extract::{self, ClientAddress, CurrentSession, CurrentUser},
};
use crate::{
    entity::{
        ValidationErrors,
        user::{self, Email, Password, User, UserForCreate, UserForUpdate},
    },
    usecase::refresh_token::Session,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// 8 to 128 characters.
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    /// Not in the future, not before 1900.
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    /// Absolute http(s) URL.
    pub photo_url: Option<String>,
    pub national_id: Option<String>,
}

impl RegisterRequest {
    pub(super) fn parse(self, today: NaiveDate) -> Result<UserForCreate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let email = e.take(Email::parse(&self.email));
        let password = e.take(Password::parse(&self.password));
        let first_name = e.take(user::person_name("first_name", &self.first_name));
        let last_name = e.take(user::person_name("last_name", &self.last_name));
        let birth_date = e.take(user::birth_date(self.birth_date, today));
        let phone = e.take_opt(self.phone, |v| user::phone(&v));
        let photo_url = e.take_opt(self.photo_url, |v| user::photo_url(&v));
        let national_id = e.take_opt(self.national_id, |v| user::national_id(&v));
        match (email, password, first_name, last_name, birth_date) {
            (Some(email), Some(password), Some(first_name), Some(last_name), Some(birth_date))
                if e.is_empty() =>
            {
                Ok(UserForCreate {
                    email,
                    password,
                    first_name,
                    last_name,
                    birth_date,
                    phone,
                    photo_url,
                    national_id,
                })
            }
            _ => Err(e),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    /// 8 to 128 characters.
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeEmailRequest {
    /// The account's current password.
    pub password: String,
    /// The new sign-in address; unique ignoring case.
    pub email: String,
}

/// Profile changes; absent (or null) fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub photo_url: Option<String>,
    pub national_id: Option<String>,
}

impl UpdateMeRequest {
    fn parse(self, today: NaiveDate) -> Result<UserForUpdate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let changes = UserForUpdate {
            first_name: e.take_opt(self.first_name, |v| user::person_name("first_name", &v)),
            last_name: e.take_opt(self.last_name, |v| user::person_name("last_name", &v)),
            birth_date: e.take_opt(self.birth_date, |v| user::birth_date(v, today)),
            phone: e.take_opt(self.phone, |v| user::phone(&v)),
            photo_url: e.take_opt(self.photo_url, |v| user::photo_url(&v)),
            national_id: e.take_opt(self.national_id, |v| user::national_id(&v)),
        };
        e.finish(|| changes)
    }
}

/// Longest refresh token accepted (issued ones have 64 characters).
pub const REFRESH_TOKEN_MAX: usize = 128;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token of the last login or refresh; single use.
    pub refresh_token: String,
}

/// An access token, the refresh token that renews it, and the account they belong to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Exchange at `POST /api/v1/auth/refresh` for a new access token (and a new refresh
    /// token: each one works once). Keep it secret like a password.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: u64,
    pub user: User,
}

impl TokenResponse {
    fn new(user: User, session: Session) -> Self {
        Self {
            access_token: session.access.token,
            token_type: "Bearer".into(),
            expires_in: session.access.expires_in.as_secs(),
            refresh_token: session.refresh_token,
            refresh_expires_in: session.refresh_expires_in.as_secs(),
            user,
        }
    }
}

/// Create a student account and get an access token.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered", body = TokenResponse),
        (status = 409, description = "Email or national id already registered (`email_taken`, `national_id_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong shape (`invalid_body`) or invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address (`too_many_attempts`); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the registration window ends"))),
    ))]
pub async fn register(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    extract::Json(body): extract::Json<RegisterRequest>,
) -> Result<Created<TokenResponse>, ApiError> {
    let new = body
        .parse(Utc::now().date_naive())
        .map_err(|e| ApiError::Service(e.into()))?;
    let (user, token) = state.auth.register(new, client).await?;
    // The account is read and changed at `/me`.
    Ok(Created(
        "/api/v1/me".into(),
        TokenResponse::new(user, token),
    ))
}

/// Exchange email and password for an access token.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong email or password (`invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The right password, but an admin deactivated the account (`account_deactivated`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins for this account or from this address (`too_many_attempts`); `Retry-After` says when to try again", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the failure window ends"))),
    ))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    extract::Json(body): extract::Json<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let (user, token) = state
        .auth
        .login(&body.email, &body.password, client)
        .await?;
    Ok(Json(TokenResponse::new(user, token)))
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = User),
        (status = 401, description = "Missing, invalid or expired token (`missing_token`, `invalid_token`, `token_expired`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn me(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
) -> Result<Json<User>, ApiError> {
    Ok(Json(state.auth.me(who).await?))
}

/// Change the caller's profile.
#[utoipa::path(patch, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, description = "The updated profile", body = User),
        (status = 409, description = "National id already registered", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_me(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    extract::Json(body): extract::Json<UpdateMeRequest>,
) -> Result<Json<User>, ApiError> {
    let changes = body
        .parse(Utc::now().date_naive())
        .map_err(|e| ApiError::Service(e.into()))?;
    Ok(Json(state.auth.update_me(who, changes).await?))
}

/// Log out: the presented token is refused from the next request on, by every instance.
/// Other sessions' tokens stay valid (change the password to end them too). Logging out a
/// token twice is impossible: the second call's token is already refused (401).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out; the token no longer works"),
        (status = 401, description = "Missing, invalid, expired or already revoked token", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    CurrentSession(token): CurrentSession,
) -> Result<StatusCode, ApiError> {
    state.auth.logout(&token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Change the caller's password. Needs the current password: a wrong one answers 403
/// `wrong_password` and counts as a failed login (past the limit: 429 `too_many_attempts`).
/// Every token issued before the change stops working, the presented one included; the
/// answer carries a fresh token for this session.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "auth",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed; a fresh token (earlier ones are revoked)", body = TokenResponse),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The current password is wrong (`wrong_password`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong shape or an invalid new password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins or password checks for this account or from this address (`too_many_attempts`)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the failure window ends"))),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ClientAddress(client): ClientAddress,
    extract::Json(body): extract::Json<ChangePasswordRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let new = Password::parse(&body.new_password).map_err(|e| {
        ApiError::Service(ValidationErrors::single("new_password", e.message).into())
    })?;
    let (user, token) = state
        .auth
        .change_password(who, &body.current_password, &new, client)
        .await?;
    Ok(Json(TokenResponse::new(user, token)))
}

/// Change the caller's sign-in address. Needs the password: a wrong one answers 403
/// `wrong_password` and counts as a failed login (past the limit: 429 `too_many_attempts`).
/// Unique ignoring case (409 `email_taken`). Tokens stay valid; the next login uses the new
/// address.
#[utoipa::path(post, path = "/api/v1/me/email", tag = "auth",
    security(("bearer" = [])),
    request_body = ChangeEmailRequest,
    responses(
        (status = 200, description = "Changed; the account", body = User),
        (status = 401, description = "Missing, invalid, expired or revoked token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The password is wrong (`wrong_password`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Another account has this address (`email_taken`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong shape or an invalid address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins or password checks for this account or from this address (`too_many_attempts`)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the failure window ends"))),
    ))]
pub async fn change_email(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    ClientAddress(client): ClientAddress,
    extract::Json(body): extract::Json<ChangeEmailRequest>,
) -> Result<Json<User>, ApiError> {
    let email = Email::parse(&body.email)
        .map_err(|e| ApiError::Service(ValidationErrors::single("email", e.message).into()))?;
    Ok(Json(
        state
            .auth
            .change_email(who, &body.password, &email, client)
            .await?,
    ))
}

/// Exchange a refresh token for a new access token and the next refresh token. Each refresh
/// token works once: presenting a used one again ends its whole session (every refresh token
/// of the login, and the access tokens' log out), since only a copy can come back.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "Refreshed: a new access token and the next refresh token", body = TokenResponse),
        (status = 401, description = "Unknown, expired or ended refresh token, or the password, role or activation changed since the login (`invalid_refresh_token`); a used one presented again (`refresh_token_reused`: its session is now ended)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database failing over; log in again if the refresh token may have been used", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    extract::Json(body): extract::Json<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let token = &body.refresh_token;
    if token.chars().count() > REFRESH_TOKEN_MAX || token.contains('\0') {
        return Err(ApiError::Service(
            ValidationErrors::single(
                "refresh_token",
                format!("at most {REFRESH_TOKEN_MAX} characters, no NUL"),
            )
            .into(),
        ));
    }
    let (user, session) = state.auth.refresh(token).await?;
    Ok(Json(TokenResponse::new(user, session)))
}
