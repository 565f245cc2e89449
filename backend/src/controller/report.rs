//! Staff reports (cached for `redis.ttl_reports_s`).

use axum::{Json, extract::State};

use super::AppState;
use super::responses;
use super::{
    error::{ApiError, Problem},
    extract::{CurrentUser, Query},
};
use crate::entity::report::{
    self, EmploymentParams, EmploymentRow, LearningParams, LearningRow, Report, RevenueParams,
    RevenueRange, RevenueRow, TopCourse, TopCoursesParams,
};

/// Published courses with reviews, best average rating first (ties: more reviews, lower id).
#[utoipa::path(get, path = "/api/v1/reports/top-courses", tag = "reports",
    security(("bearer" = [])),
    params(TopCoursesParams),
    responses(
        (status = 200, description = "The report", body = Report<TopCourse>),
        responses::StaffOnly,
        (status = 422, description = "limit outside 1–100", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn top_courses(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Query(params): Query<TopCoursesParams>,
) -> Result<Json<Report<TopCourse>>, ApiError> {
    let limit = report::top_limit(params).map_err(|e| ApiError::Service(e.into()))?;
    Ok(Json(state.reports.top_courses(who, limit).await?))
}

/// Revenue of paid purchases by month of payment (UTC) and specialization.
#[utoipa::path(get, path = "/api/v1/reports/revenue", tag = "reports",
    security(("bearer" = [])),
    params(RevenueParams),
    responses(
        (status = 200, description = "The report, oldest month first", body = Report<RevenueRow>),
        responses::StaffOnly,
        (status = 422, description = "Bad months, from after to, or more than 120 months", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revenue(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Query(params): Query<RevenueParams>,
) -> Result<Json<Report<RevenueRow>>, ApiError> {
    let today = chrono::Utc::now().date_naive();
    let range = RevenueRange::parse(params, today).map_err(|e| ApiError::Service(e.into()))?;
    Ok(Json(state.reports.revenue(who, range).await?))
}

/// Graduates hired per course (through their career track) and company, most first.
#[utoipa::path(get, path = "/api/v1/reports/employment", tag = "reports",
    security(("bearer" = [])),
    params(EmploymentParams),
    responses(
        (status = 200, description = "The report", body = Report<EmploymentRow>),
        responses::StaffOnly,
        (status = 422, description = "limit outside 1–1000", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn employment(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Query(params): Query<EmploymentParams>,
) -> Result<Json<Report<EmploymentRow>>, ApiError> {
    let limit = report::employment_limit(params).map_err(|e| ApiError::Service(e.into()))?;
    Ok(Json(state.reports.employment(who, limit).await?))
}

/// Review turnaround (p50/p90 from a per-course histogram) and completion per course, the
/// courses with the most reviewed submissions first.
#[utoipa::path(get, path = "/api/v1/reports/learning", tag = "reports",
    security(("bearer" = [])),
    params(LearningParams),
    responses(
        (status = 200, description = "The report", body = Report<LearningRow>),
        responses::StaffOnly,
        (status = 422, description = "limit outside 1–100", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn learning(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Query(params): Query<LearningParams>,
) -> Result<Json<Report<LearningRow>>, ApiError> {
    let limit = report::learning_limit(params).map_err(|e| ApiError::Service(e.into()))?;
    Ok(Json(state.reports.learning(who, limit).await?))
}
