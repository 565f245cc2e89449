//! The career center: partner companies, career tracks, job applications.

use axum::{Json, extract::State};
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

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
    career::{
        self, ApplicationForCreate, ApplicationStatus, CareerTrack, Company, CompanyForCreate,
        CompanyForUpdate, JobApplication, TrackForCreate, TrackForUpdate,
    },
    validation::url,
};

/// Query string of the company list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompanyListParams {
    /// Only companies whose agreement is (`true`) or is no longer (`false`) active.
    pub active: Option<bool>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyCreateRequest {
    pub short_name: String,
    /// Unique.
    pub legal_name: String,
    #[serde(default)]
    pub requirements: String,
    #[serde(default = "yes")]
    pub agreement_active: bool,
}

fn yes() -> bool {
    true
}

impl CompanyCreateRequest {
    fn parse(self) -> Result<CompanyForCreate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let short_name = e.take(career::short_name(&self.short_name));
        let legal_name = e.take(career::legal_name(&self.legal_name));
        let requirements = e.take(career::requirements(&self.requirements));
        match (short_name, legal_name, requirements) {
            (Some(short_name), Some(legal_name), Some(requirements)) => Ok(CompanyForCreate {
                short_name,
                legal_name,
                requirements,
                agreement_active: self.agreement_active,
            }),
            _ => Err(e),
        }
    }
}

/// Company changes; absent fields stay. `graduates_hired` follows the applications only.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyUpdateRequest {
    pub short_name: Option<String>,
    pub legal_name: Option<String>,
    pub requirements: Option<String>,
    pub agreement_active: Option<bool>,
}

impl CompanyUpdateRequest {
    fn parse(self) -> Result<CompanyForUpdate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let changes = CompanyForUpdate {
            short_name: e.take_opt(self.short_name, |v| career::short_name(&v)),
            legal_name: e.take_opt(self.legal_name, |v| career::legal_name(&v)),
            requirements: e.take_opt(self.requirements, |v| career::requirements(&v)),
            agreement_active: self.agreement_active,
        };
        e.finish(|| changes)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackCreateRequest {
    /// The graduate: a paid purchase of the course on a plan with career support.
    pub user_id: i64,
    pub course_id: i64,
    pub support_start: NaiveDate,
    /// Absolute http(s) URL.
    pub resume_url: Option<String>,
}

impl TrackCreateRequest {
    fn parse(self) -> Result<TrackForCreate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let support_start = e.take(career::support_start(self.support_start));
        let resume_url = e.take_opt(self.resume_url, |v| url("resume_url", &v));
        let (user_id, course_id) = (self.user_id, self.course_id);
        e.finish(|| TrackForCreate {
            user_id,
            course_id,
            support_start: support_start.unwrap_or_default(),
            resume_url,
        })
    }
}

/// The graduate sets `resume_url`; admins and support set `support_extended`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrackUpdateRequest {
    pub resume_url: Option<String>,
    pub support_extended: Option<bool>,
}

impl TrackUpdateRequest {
    fn parse(self) -> Result<TrackForUpdate, ValidationErrors> {
        let mut e = ValidationErrors::default();
        let resume_url = e.take_opt(self.resume_url, |v| url("resume_url", &v));
        let support_extended = self.support_extended;
        e.finish(|| TrackForUpdate {
            resume_url,
            support_extended,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationCreateRequest {
    /// A partner company with an active agreement.
    pub company_id: i64,
    /// Default: today.
    pub applied_on: Option<NaiveDate>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationStatusRequest {
    pub status: ApplicationStatus,
}

/// Partner companies by short name (public).
#[utoipa::path(get, path = "/api/v1/career/companies", tag = "career",
    params(CompanyListParams),
    responses(
        (status = 200, description = "One page of companies", body = Page<Company>),
        responses::PageOutOfRange,
    ))]
pub async fn companies(
    State(state): State<AppState>,
    Query(params): Query<CompanyListParams>,
) -> Result<Json<Page<Company>>, ApiError> {
    let page = PageRequest::parse(PageParams {
        page: params.page,
        page_size: params.page_size,
    })?;
    Ok(Json(state.career.companies(params.active, page).await?))
}

/// Add a partner company (admin, support).
#[utoipa::path(post, path = "/api/v1/career/companies", tag = "career",
    security(("bearer" = [])),
    request_body = CompanyCreateRequest,
    responses(
        (status = 201, description = "Added", body = Company),
        responses::AdminOrSupportOnly,
        (status = 409, description = "Legal name taken (`name_taken`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_company(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    extract::Json(body): extract::Json<CompanyCreateRequest>,
) -> Result<Created<Company>, ApiError> {
    let new = body.parse()?;
    let created = state.career.create_company(who, new).await?;
    Ok(Created(
        format!("/api/v1/career/companies/{}", created.id),
        created,
    ))
}

/// Change a partner company (admin, support).
#[utoipa::path(patch, path = "/api/v1/career/companies/{id}", tag = "career",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Company id")),
    request_body = CompanyUpdateRequest,
    responses(
        (status = 200, description = "Changed", body = Company),
        responses::AdminOrSupportOnly,
        (status = 404, description = "No such company", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Legal name taken (`name_taken`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_company(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<CompanyUpdateRequest>,
) -> Result<Json<Company>, ApiError> {
    let changes = body.parse()?;
    Ok(Json(state.career.update_company(who, id, changes).await?))
}

/// Your career tracks; staff see every track.
#[utoipa::path(get, path = "/api/v1/career/tracks", tag = "career",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "One page of tracks, newest first", body = Page<CareerTrack>),
        responses::PageOutOfRange,
    ))]
pub async fn tracks(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<CareerTrack>>, ApiError> {
    let page = PageRequest::parse(params)?;
    Ok(Json(state.career.tracks(who, page).await?))
}

/// Open a career track for a graduate (admin, support).
#[utoipa::path(post, path = "/api/v1/career/tracks", tag = "career",
    security(("bearer" = [])),
    request_body = TrackCreateRequest,
    responses(
        (status = 201, description = "Opened", body = CareerTrack),
        responses::AdminOrSupportOnly,
        (status = 404, description = "No such user or course (`unknown_reference`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The graduate already has a track for this course (`track_exists`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or no paid career-track purchase", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_track(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    extract::Json(body): extract::Json<TrackCreateRequest>,
) -> Result<Created<CareerTrack>, ApiError> {
    let new = body.parse()?;
    let created = state.career.create_track(who, new).await?;
    Ok(Created(
        format!("/api/v1/career/tracks/{}", created.id),
        created,
    ))
}

/// Change a track: the graduate sets the resume, admin/support extend the support.
#[utoipa::path(patch, path = "/api/v1/career/tracks/{id}", tag = "career",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Track id")),
    request_body = TrackUpdateRequest,
    responses(
        (status = 200, description = "Changed", body = CareerTrack),
        (status = 403, description = "A field the caller may not set", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update_track(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<TrackUpdateRequest>,
) -> Result<Json<CareerTrack>, ApiError> {
    let changes = body.parse()?;
    Ok(Json(state.career.update_track(who, id, changes).await?))
}

/// A track's job applications (its graduate, admin, support).
#[utoipa::path(get, path = "/api/v1/career/tracks/{id}/applications", tag = "career",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Track id"), PageParams),
    responses(
        (status = 200, description = "One page of applications, latest first", body = Page<JobApplication>),
        (status = 403, description = "Neither the graduate nor career staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Page or page size out of range", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn applications(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<JobApplication>>, ApiError> {
    let page = PageRequest::parse(params)?;
    Ok(Json(state.career.applications(who, id, page).await?))
}

/// Record a job application (its graduate, admin, support); it starts as `applied`.
#[utoipa::path(post, path = "/api/v1/career/tracks/{id}/applications", tag = "career",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Track id")),
    request_body = ApplicationCreateRequest,
    responses(
        (status = 201, description = "Recorded", body = JobApplication),
        (status = 403, description = "Neither the graduate nor career staff", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such track, or no partner company `company_id` (`unknown_reference`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The partnership with this company has ended (`conflict`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A date out of range", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn apply(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<ApplicationCreateRequest>,
) -> Result<Created<JobApplication>, ApiError> {
    let mut e = ValidationErrors::default();
    let applied_on = e.take_opt(body.applied_on, career::applied_on);
    e.finish(|| ())?;
    let new = ApplicationForCreate {
        company_id: body.company_id,
        applied_on,
    };
    let created = state.career.apply(who, id, new).await?;
    Ok(Created(
        format!("/api/v1/career/applications/{}", created.id),
        created,
    ))
}

/// Move an application to a status (admin, support). Into `hired` adds one to the company's
/// `graduates_hired`, out of it subtracts one, in the same transaction.
#[utoipa::path(patch, path = "/api/v1/career/applications/{id}", tag = "career",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Application id")),
    request_body = ApplicationStatusRequest,
    responses(
        (status = 200, description = "The application with its new status", body = JobApplication),
        responses::AdminOrSupportOnly,
        (status = 404, description = "No such application", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status (`invalid_body`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_status(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<ApplicationStatusRequest>,
) -> Result<Json<JobApplication>, ApiError> {
    Ok(Json(state.career.set_status(who, id, body.status).await?))
}
