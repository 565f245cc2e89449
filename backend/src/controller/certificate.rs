//! Certificates: issuing (admins, teachers), listing per user, public verification.

use axum::{Json, extract::State};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::created::Created;
use super::responses;
use super::{
    error::{ApiError, Problem},
    extract::{self, CurrentUser, Path, Query},
};
use crate::entity::certificate::Certificate;
use crate::entity::page::{Page, PageParams, PageRequest};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertificateIssueRequest {
    /// The holder; must have a paid purchase of the course.
    pub user_id: i64,
    pub course_id: i64,
}

/// Issue a certificate.
#[utoipa::path(post, path = "/api/v1/certificates", tag = "certificates",
    security(("bearer" = [])),
    request_body = CertificateIssueRequest,
    responses(
        (status = 201, description = "Issued", body = Certificate),
        (status = 403, description = "Not an admin or teacher", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user or course (`unknown_reference`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already issued (`already_issued`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The user has no paid purchase of the course", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn issue(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    extract::Json(body): extract::Json<CertificateIssueRequest>,
) -> Result<Created<Certificate>, ApiError> {
    let issued = state
        .certificates
        .issue(who, body.user_id, body.course_id)
        .await?;
    Ok(Created(
        format!("/api/v1/certificates/{}", issued.serial_number),
        issued,
    ))
}

/// Your certificates, newest first.
#[utoipa::path(get, path = "/api/v1/me/certificates", tag = "certificates",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "One page of your certificates", body = Page<Certificate>),
        responses::PageOutOfRange,
    ))]
pub async fn mine(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<Certificate>>, ApiError> {
    let page = PageRequest::parse(params)?;
    Ok(Json(state.certificates.mine(who, page).await?))
}

/// A user's certificates (that user or staff).
#[utoipa::path(get, path = "/api/v1/users/{id}/certificates", tag = "certificates",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "User id"), PageParams),
    responses(
        (status = 200, description = "One page of certificates", body = Page<Certificate>),
        (status = 403, description = "Neither that user nor staff", body = Problem, content_type = "application/problem+json"),
        responses::NoSuchUser,
        responses::PageOutOfRange,
    ))]
pub async fn of_user(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<Certificate>>, ApiError> {
    let page = PageRequest::parse(params)?;
    Ok(Json(state.certificates.of_user(who, id, page).await?))
}

/// Verify a certificate by its serial number (public).
#[utoipa::path(get, path = "/api/v1/certificates/{serial_number}", tag = "certificates",
    params(("serial_number" = String, Path, description = "The serial number printed on the certificate")),
    responses(
        (status = 200, description = "The certificate is genuine", body = Certificate),
        (status = 404, description = "No certificate has this serial number", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn verify(
    State(state): State<AppState>,
    Path(serial): Path<String>,
) -> Result<Json<Certificate>, ApiError> {
    Ok(Json(state.certificates.verify(&serial).await?))
}
