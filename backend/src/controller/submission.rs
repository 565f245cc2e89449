//! Learning: submitting projects, the caller's progress, and the review queue.

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::created::Created;
use super::purchase::IDEMPOTENT_REPLAYED;
use super::responses;
use super::{
    error::{ApiError, Problem},
    extract::{self, CurrentUser, Path, Query},
};
use crate::{
    entity::{
        ValidationErrors,
        page::{Page, PageParams, PageRequest},
        submission::{
            self, CourseProgress, Reviewed, Submission, SubmissionComment, SubmissionDetail,
            SubmissionForCreate, SubmissionStatus, Verdict,
        },
    },
    usecase::submission::Submitted,
};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionRequest {
    /// A project of the course in the path.
    pub project_id: i64,
    /// Where the work is: an absolute http(s) URL.
    pub repository_url: String,
    /// For the reviewer; at most 10 000 characters.
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// Optional words for the student.
    pub feedback: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRequest {
    /// What to change; required.
    pub feedback: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// Not blank; at most 10 000 characters.
    pub body: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClaimParams {
    /// Only this course's queue (default: every course the caller reviews).
    pub course_id: Option<i64>,
}

/// Query string of a course's submission list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CourseSubmissionsParams {
    /// Only submissions in this status.
    pub status: Option<SubmissionStatus>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}

/// Submit a project (enrolled students).
///
/// A new attempt after a return is a new submission; every attempt is kept. Safe to retry:
/// while an attempt waits for review, sending the same URL and note again answers with it
/// (header `Idempotent-Replayed: true`) instead of storing a second one.
#[utoipa::path(post, path = "/api/v1/courses/{id}/submissions", tag = "learning",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id")),
    request_body = SubmissionRequest,
    responses(
        (status = 201, description = "The attempt, in the review queue: new, or the same one sent before", body = Submission,
            headers(("Idempotent-Replayed" = String, description = "`true` when this attempt was already submitted (a retry)"))),
        (status = 403, description = "Not enrolled in the course: no paid purchase of one of its runs (`not_enrolled`)", body = Problem, content_type = "application/problem+json"),
        responses::NoSuchCourse,
        (status = 409, description = "An attempt at this project waits for review (`submission_open`), or the project is accepted (`already_accepted`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a project of another course", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn submit(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(course_id): Path<i64>,
    extract::Json(body): extract::Json<SubmissionRequest>,
) -> Result<Response, ApiError> {
    let draft =
        SubmissionForCreate::parse(body.project_id, &body.repository_url, body.note.as_deref())?;
    let submitted = state.submissions.submit(who, course_id, draft).await?;
    let (Submitted::Created(s) | Submitted::Replayed(s)) = &submitted;
    let location = format!("/api/v1/me/courses/{course_id}/progress");
    let mut response = Created(location, s.clone()).into_response();
    if matches!(submitted, Submitted::Replayed(_)) {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// A course's submissions, newest first (the course's teachers, mentors and reviewers, and
/// admins): how mentors find work to comment on.
#[utoipa::path(get, path = "/api/v1/courses/{id}/submissions", tag = "learning",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id"), CourseSubmissionsParams),
    responses(
        (status = 200, description = "One page of the course's submissions", body = Page<Submission>),
        (status = 400, description = "Unparseable query (an unknown status)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not on the course's staff, and not an admin", body = Problem, content_type = "application/problem+json"),
        responses::NoSuchCourse,
        responses::PageOutOfRange,
    ))]
pub async fn course_submissions(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(course_id): Path<i64>,
    Query(params): Query<CourseSubmissionsParams>,
) -> Result<Json<Page<Submission>>, ApiError> {
    let page = PageRequest::parse(PageParams {
        page: params.page,
        page_size: params.page_size,
    })?;
    Ok(Json(
        state
            .submissions
            .for_course(who, course_id, params.status, page)
            .await?,
    ))
}

/// Your progress in a course: accepted projects out of the total, per topic and in all, and
/// every project in syllabus order with your attempts.
#[utoipa::path(get, path = "/api/v1/me/courses/{id}/progress", tag = "learning",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Course id")),
    responses(
        (status = 200, description = "Counts, and each project's status (of the latest attempt; null when never submitted) and attempts, newest first", body = CourseProgress),
        responses::NoSuchCourse,
    ))]
pub async fn my_progress(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(course_id): Path<i64>,
) -> Result<Json<CourseProgress>, ApiError> {
    Ok(Json(state.submissions.progress(who, course_id).await?))
}

/// Claim the next submission to review (reviewers of the course).
///
/// Answers the submission the caller already holds, if any, else the oldest waiting one;
/// two reviewers never get the same one. The claim holds for `learning.claim_hold_s`
/// (default 30 minutes), then the submission is back in the queue. Safe to retry.
#[utoipa::path(post, path = "/api/v1/review-queue/claim", tag = "learning",
    security(("bearer" = [])),
    params(ClaimParams),
    responses(
        (status = 200, description = "The submission now held by the caller", body = Submission),
        (status = 204, description = "The queue is empty"),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a reviewer of the course (or of any course)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn claim(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Query(params): Query<ClaimParams>,
) -> Result<Response, ApiError> {
    Ok(
        match state.submissions.claim(who, params.course_id).await? {
            Some(s) => Json(s).into_response(),
            None => StatusCode::NO_CONTENT.into_response(),
        },
    )
}

/// Accept a submission you hold the claim of.
///
/// The acceptance of a student's last project of the course issues their certificate in the
/// same transaction (`certificate_serial`). Safe to retry.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/accept", tag = "learning",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Submission id")),
    request_body = AcceptRequest,
    responses(
        (status = 200, description = "Accepted", body = Reviewed),
        (status = 404, description = "No such submission among the courses you review", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not claimed (`not_claimed`), claimed by another reviewer (`claimed_by_another`), or already reviewed otherwise (`already_decided`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Feedback too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn accept(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<AcceptRequest>,
) -> Result<Json<Reviewed>, ApiError> {
    let verdict =
        Verdict::accept(body.feedback.as_deref()).map_err(|e| ValidationErrors(vec![e]))?;
    Ok(Json(state.submissions.decide(who, id, verdict).await?))
}

/// Return a submission you hold the claim of, with feedback; the student submits again.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/return", tag = "learning",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Submission id")),
    request_body = ReturnRequest,
    responses(
        (status = 200, description = "Returned", body = Reviewed),
        (status = 404, description = "No such submission among the courses you review", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not claimed (`not_claimed`), claimed by another reviewer (`claimed_by_another`), or already reviewed otherwise (`already_decided`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No feedback, or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn send_back(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<ReturnRequest>,
) -> Result<Json<Reviewed>, ApiError> {
    let verdict = Verdict::send_back(&body.feedback).map_err(|e| ValidationErrors(vec![e]))?;
    Ok(Json(state.submissions.decide(who, id, verdict).await?))
}

/// A submission with its comments (its student, the course's staff, admins).
#[utoipa::path(get, path = "/api/v1/submissions/{id}", tag = "learning",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Submission id")),
    responses(
        (status = 200, description = "The submission and its comments, oldest first", body = SubmissionDetail),
        (status = 404, description = "No such submission that you may read", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<SubmissionDetail>, ApiError> {
    Ok(Json(state.submissions.detail(who, id).await?))
}

/// Comment on a submission (mentors and reviewers of the course).
///
/// Safe to retry: the same text sent again within a minute answers with the stored comment.
#[utoipa::path(post, path = "/api/v1/submissions/{id}/comments", tag = "learning",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Submission id")),
    request_body = CommentRequest,
    responses(
        (status = 201, description = "The comment", body = SubmissionComment),
        (status = 403, description = "Not a mentor or reviewer of the submission's course", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such submission", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Blank or too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn comment(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
    extract::Json(body): extract::Json<CommentRequest>,
) -> Result<Created<SubmissionComment>, ApiError> {
    let text = submission::comment_body(&body.body).map_err(|e| ValidationErrors(vec![e]))?;
    let comment = state.submissions.comment(who, id, text).await?;
    Ok(Created(format!("/api/v1/submissions/{id}"), comment))
}
