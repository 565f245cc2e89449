//! The one place where failures become HTTP answers: RFC 9457 problem details
//! (`application/problem+json`) with a stable machine-readable `code`.
//!
//! 5xx answers are logged here with their cause and never show it to the client. Transient
//! database errors (failover, pool exhausted) and request timeouts are 503 with `Retry-After`.

use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    entity::{FieldError, ValidationErrors},
    usecase::{ServiceError, access_token::TokenError},
};

tokio::task_local! {
    /// The request being served, so a problem document can name it.
    pub static REQUEST: RequestContext;
}

/// What a problem document says about the request it answers.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The `x-request-id` header (set by the request-id layer when the client sent none).
    pub id: Option<HeaderValue>,
    /// The request URI; only its path is reported. Cloning it shares the parsed bytes.
    pub uri: Uri,
}

impl RequestContext {
    fn id(&self) -> Option<String> {
        self.id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`urn:lyceum:problem:<code>`).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary of the problem type.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this occurrence.
    pub detail: String,
    /// Stable machine-readable code, e.g. `validation_failed`, `not_found`, `service_unavailable`.
    pub code: String,
    /// The request path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The `x-request-id` of the request, for finding it in the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The rejected fields, for `validation_failed`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// Everything a handler or middleware can answer with instead of success.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the body does not match the expected shape: {0}")]
    InvalidBody(String),
    #[error("send the body as application/json")]
    UnsupportedMediaType,
    #[error("the body is larger than the limit")]
    PayloadTooLarge,
    #[error("{0}")]
    InvalidQuery(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("send an access token: Authorization: Bearer <token>")]
    MissingToken,
    #[error("{0}")]
    BadToken(TokenError),
    #[error("no such route")]
    RouteNotFound,
    #[error("this route does not accept this method")]
    MethodNotAllowed,
    #[error("the request took too long and was abandoned")]
    Timeout,
    #[error("internal error")]
    Panic,
    #[error("not ready: {0}")]
    NotReady(String),
    #[error("send an Idempotency-Key header (e.g. a fresh UUID) and reuse it when retrying")]
    MissingIdempotencyKey,
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonSyntaxError(e) => Self::MalformedJson(e.body_text()),
            JsonRejection::JsonDataError(e) => Self::InvalidBody(e.body_text()),
            JsonRejection::MissingJsonContentType(_) => Self::UnsupportedMediaType,
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            other => Self::MalformedJson(other.body_text()),
        }
    }
}

/// A request that parsed but broke a field rule: `?` on a `parse()` or `validate()` in a
/// handler answers 422 with the field errors.
impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        Self::Service(e.into())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        Self::InvalidQuery(r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        Self::InvalidPath(r.body_text())
    }
}

struct Answer {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    errors: Vec<FieldError>,
}

impl Answer {
    /// The answer with the rejected fields listed in `errors`.
    fn naming(self, fields: &ValidationErrors) -> Self {
        Self {
            errors: fields.0.clone(),
            ..self
        }
    }
}

fn answer(status: StatusCode, code: &'static str, title: &'static str) -> Answer {
    Answer {
        status,
        code,
        title,
        errors: Vec::new(),
    }
}

impl ApiError {
    fn answer(&self) -> Answer {
        use StatusCode as S;
        match self {
            Self::Service(e) => match e {
                ServiceError::NotFound(..) => answer(S::NOT_FOUND, "not_found", "Not found"),
                ServiceError::Invalid(v) => answer(
                    S::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "Validation failed",
                )
                .naming(v),
                ServiceError::UnknownReference(v) => {
                    answer(S::NOT_FOUND, "unknown_reference", "Unknown reference").naming(v)
                }
                ServiceError::Conflict(v) => answer(
                    S::CONFLICT,
                    "conflict",
                    "Conflicts with the stored resource",
                )
                .naming(v),
                ServiceError::EmailTaken => {
                    answer(S::CONFLICT, "email_taken", "Email already registered")
                }
                ServiceError::NationalIdTaken => answer(
                    S::CONFLICT,
                    "national_id_taken",
                    "National id already registered",
                ),
                ServiceError::InvalidCredentials => answer(
                    S::UNAUTHORIZED,
                    "invalid_credentials",
                    "Invalid credentials",
                ),
                ServiceError::WrongPassword => {
                    answer(S::FORBIDDEN, "wrong_password", "Wrong password")
                }
                ServiceError::Token(TokenError::Expired) => {
                    answer(S::UNAUTHORIZED, "token_expired", "Token expired")
                }
                ServiceError::Token(TokenError::Invalid | TokenError::Revoked) => {
                    answer(S::UNAUTHORIZED, "invalid_token", "Invalid token")
                }
                ServiceError::TooManyAttempts { .. } => answer(
                    S::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    "Too many attempts",
                ),
                ServiceError::RefreshInvalid => answer(
                    S::UNAUTHORIZED,
                    "invalid_refresh_token",
                    "Invalid refresh token",
                ),
                ServiceError::RefreshReused => answer(
                    S::UNAUTHORIZED,
                    "refresh_token_reused",
                    "Refresh token reused",
                ),
                ServiceError::AccountGone => {
                    answer(S::UNAUTHORIZED, "invalid_token", "Invalid token")
                }
                ServiceError::AccountDeactivated => {
                    answer(S::FORBIDDEN, "account_deactivated", "Account deactivated")
                }
                ServiceError::PositionMismatch => answer(
                    S::UNPROCESSABLE_ENTITY,
                    "position_mismatch",
                    "Position does not match the role",
                ),
                ServiceError::LastAdmin => answer(S::CONFLICT, "last_admin", "Last admin"),
                ServiceError::Forbidden => answer(S::FORBIDDEN, "forbidden", "Forbidden"),
                ServiceError::InUse | ServiceError::LookupInUse(_) => {
                    answer(S::CONFLICT, "in_use", "Still in use")
                }
                ServiceError::SeatsTaken => answer(S::CONFLICT, "seats_taken", "Seats taken"),
                ServiceError::SoldOut => answer(S::CONFLICT, "sold_out", "Sold out"),
                ServiceError::SalesClosed => answer(S::CONFLICT, "sales_closed", "Sales closed"),
                ServiceError::AlreadyEnrolled => {
                    answer(S::CONFLICT, "already_enrolled", "Already enrolled")
                }
                ServiceError::IdempotencyKeyReused => answer(
                    S::UNPROCESSABLE_ENTITY,
                    "idempotency_key_reused",
                    "Idempotency key reused",
                ),
                ServiceError::InvalidTransition { .. } => answer(
                    S::CONFLICT,
                    "invalid_transition",
                    "Invalid status transition",
                ),
                ServiceError::Denied(_) => answer(S::FORBIDDEN, "forbidden", "Forbidden"),
                ServiceError::NotABuyer => answer(S::FORBIDDEN, "not_a_buyer", "Not a buyer"),
                ServiceError::AlreadyReviewed => {
                    answer(S::CONFLICT, "already_reviewed", "Already reviewed")
                }
                ServiceError::AlreadyIssued => {
                    answer(S::CONFLICT, "already_issued", "Certificate already issued")
                }
                ServiceError::TrackExists => {
                    answer(S::CONFLICT, "track_exists", "Career track already exists")
                }
                ServiceError::NotEnrolled => answer(S::FORBIDDEN, "not_enrolled", "Not enrolled"),
                ServiceError::SubmissionOpen => answer(
                    S::CONFLICT,
                    "submission_open",
                    "An attempt is waiting for review",
                ),
                ServiceError::ProjectAccepted => {
                    answer(S::CONFLICT, "already_accepted", "Project already accepted")
                }
                ServiceError::NotClaimed => answer(S::CONFLICT, "not_claimed", "Not claimed"),
                ServiceError::ClaimedByAnother => answer(
                    S::CONFLICT,
                    "claimed_by_another",
                    "Claimed by another reviewer",
                ),
                ServiceError::AlreadyDecided => {
                    answer(S::CONFLICT, "already_decided", "Already reviewed")
                }
                ServiceError::NameTaken(_) => answer(S::CONFLICT, "name_taken", "Name taken"),
                ServiceError::UnknownSerial => answer(S::NOT_FOUND, "not_found", "Not found"),
                ServiceError::Db(db) if db.transient().is_some() => answer(
                    S::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "Service unavailable",
                ),
                ServiceError::Db(db) if db.is_rejected_value() => answer(
                    S::UNPROCESSABLE_ENTITY,
                    "invalid_value",
                    "A value was refused by the database",
                ),
                ServiceError::Db(_) | ServiceError::Internal(_) => {
                    answer(S::INTERNAL_SERVER_ERROR, "internal", "Internal error")
                }
            },
            Self::MalformedJson(_) => answer(S::BAD_REQUEST, "malformed_json", "Malformed JSON"),
            Self::InvalidBody(_) => answer(
                S::UNPROCESSABLE_ENTITY,
                "invalid_body",
                "Body does not match the schema",
            ),
            Self::UnsupportedMediaType => answer(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Unsupported media type",
            ),
            Self::PayloadTooLarge => answer(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "Payload too large",
            ),
            Self::InvalidQuery(_) => {
                answer(S::BAD_REQUEST, "invalid_query", "Invalid query string")
            }
            Self::InvalidPath(_) => answer(S::BAD_REQUEST, "invalid_path", "Invalid path"),
            Self::MissingToken => answer(S::UNAUTHORIZED, "missing_token", "Missing token"),
            Self::BadToken(TokenError::Expired) => {
                answer(S::UNAUTHORIZED, "token_expired", "Token expired")
            }
            Self::BadToken(TokenError::Invalid | TokenError::Revoked) => {
                answer(S::UNAUTHORIZED, "invalid_token", "Invalid token")
            }
            Self::RouteNotFound => answer(S::NOT_FOUND, "route_not_found", "No such route"),
            Self::MethodNotAllowed => answer(
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
            ),
            Self::Timeout => answer(
                S::SERVICE_UNAVAILABLE,
                "request_timeout",
                "Request timed out",
            ),
            Self::Panic => answer(S::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
            Self::NotReady(_) => answer(S::SERVICE_UNAVAILABLE, "not_ready", "Not ready"),
            Self::MissingIdempotencyKey => answer(
                S::BAD_REQUEST,
                "idempotency_key_missing",
                "Idempotency key missing",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let a = self.answer();
        let detail = if a.status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
            "an internal error occurred; the request id identifies it in the logs".to_string()
        } else if a.status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::warn!(error = %self, "request answered 503");
            match &self {
                Self::Service(_) => {
                    "the database is failing over or overloaded; retry shortly".to_string()
                }
                other => other.to_string(),
            }
        } else {
            self.to_string()
        };
        let context = REQUEST.try_with(Clone::clone).ok();
        let problem = Problem {
            problem_type: format!("urn:lyceum:problem:{}", a.code),
            title: a.title.to_string(),
            status: a.status.as_u16(),
            detail,
            code: a.code.to_string(),
            instance: context.as_ref().map(|c| c.uri.path().to_owned()),
            request_id: context.as_ref().and_then(RequestContext::id),
            errors: a.errors,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (a.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if a.status == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let Self::Service(ServiceError::TooManyAttempts { retry_after }) = &self {
            headers.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after.as_secs().max(1)),
            );
        }
        if a.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
