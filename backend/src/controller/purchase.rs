//! Purchases: buying a course run under an `Idempotency-Key`, paying, cancelling, refunding,
//! and the buyer's own list. Every route needs a bearer token.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, HeaderValue},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::created::Created;
use super::responses;
use super::{
    error::{ApiError, Problem},
    extract::{self, CurrentUser, Path, Query},
};
use crate::entity::page::{Page, PageParams, PageRequest};
use crate::{
    entity::{
        ValidationErrors,
        purchase::{IdempotencyKey, PlanCode, Purchase, PurchaseOrder, Transition},
    },
    usecase::purchase::Placed,
};

/// The request header that makes a purchase safe to retry.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on the answer to a request whose key had already been used.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    /// The run to buy a seat in.
    pub course_run_id: i64,
    /// `basic`, `career_track` or `discounted`.
    #[schema(value_type = PlanCode)]
    pub plan: String,
}

fn idempotency_key(headers: &HeaderMap) -> Result<IdempotencyKey, ApiError> {
    let raw = headers
        .get(IDEMPOTENCY_KEY)
        .ok_or(ApiError::MissingIdempotencyKey)?;
    let text = raw.to_str().map_err(|_| {
        ApiError::Service(
            ValidationErrors::single("Idempotency-Key", "must be visible ASCII characters").into(),
        )
    })?;
    IdempotencyKey::parse(text).map_err(|e| ApiError::Service(ValidationErrors(vec![e]).into()))
}

/// Buy a seat in a course run.
///
/// The price comes from the course and the plan, never from the client. Send a fresh
/// `Idempotency-Key` (e.g. a UUID) with each new purchase and the SAME key when retrying
/// (after a 503, a timeout or a lost connection): a replay answers with the original purchase
/// and header `Idempotent-Replayed: true`, and never buys a second seat.
#[utoipa::path(post, path = "/api/v1/purchases", tag = "purchases",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters; reuse it to retry")),
    request_body = PurchaseRequest,
    responses(
        (status = 201, description = "The purchase (pending payment), new or replayed", body = Purchase,
            headers(("Idempotent-Replayed" = String, description = "`true` when an earlier request with this key created it"))),
        (status = 400, description = "No Idempotency-Key, or malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such run on sale", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sold_out`, `sales_closed` or `already_enrolled`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the key was used with another body (`idempotency_key_reused`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database failing over; retry with the same key", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    headers: HeaderMap,
    extract::Json(body): extract::Json<PurchaseRequest>,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let order = PurchaseOrder::parse(body.course_run_id, &body.plan)
        .map_err(|e| ApiError::Service(e.into()))?;
    let placed = state.purchases.place(who, &key, &order).await?;
    let replayed = matches!(placed, Placed::Replayed(_));
    let purchase = placed.purchase().clone();
    let location = format!("/api/v1/purchases/{}", purchase.id);
    let mut response = Created(location, purchase).into_response();
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The caller's purchases, newest first.
#[utoipa::path(get, path = "/api/v1/purchases", tag = "purchases",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "One page of the caller's purchases", body = Page<Purchase>),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Page out of range", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_own(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Query(params): Query<PageParams>,
) -> Result<Json<Page<Purchase>>, ApiError> {
    let page = PageRequest::parse(params).map_err(|e| ApiError::Service(e.into()))?;
    Ok(Json(state.purchases.list_own(who, page).await?))
}

/// One purchase: the caller's own (admins and support: anyone's).
#[utoipa::path(get, path = "/api/v1/purchases/{id}", tag = "purchases",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Purchase id")),
    responses(
        (status = 200, description = "The purchase", body = Purchase),
        responses::NoSuchOwnPurchase,
    ))]
pub async fn get_one(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Purchase>, ApiError> {
    Ok(Json(state.purchases.get(who, id).await?))
}

async fn move_to(
    state: &AppState,
    who: crate::entity::user::Principal,
    id: i64,
    transition: Transition,
) -> Result<Json<Purchase>, ApiError> {
    Ok(Json(state.purchases.transition(who, id, transition).await?))
}

/// Pay for a pending purchase (the buyer). Paying again answers with the paid purchase.
#[utoipa::path(post, path = "/api/v1/purchases/{id}/pay", tag = "purchases",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Purchase id")),
    responses(
        (status = 200, description = "The paid purchase", body = Purchase),
        responses::NoSuchOwnPurchase,
        (status = 409, description = "Cancelled or refunded (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn pay(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Purchase>, ApiError> {
    move_to(&state, who, id, Transition::Pay).await
}

/// Cancel a pending purchase (the buyer); the seat goes back on sale.
#[utoipa::path(post, path = "/api/v1/purchases/{id}/cancel", tag = "purchases",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Purchase id")),
    responses(
        (status = 200, description = "The cancelled purchase", body = Purchase),
        responses::NoSuchOwnPurchase,
        (status = 409, description = "Already paid or refunded (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn cancel(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Purchase>, ApiError> {
    move_to(&state, who, id, Transition::Cancel).await
}

/// Refund a paid purchase (the buyer, admins, support); the seat goes back on sale.
#[utoipa::path(post, path = "/api/v1/purchases/{id}/refund", tag = "purchases",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "Purchase id")),
    responses(
        (status = 200, description = "The refunded purchase", body = Purchase),
        responses::NoSuchOwnPurchase,
        (status = 409, description = "Not paid (`invalid_transition`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn refund(
    State(state): State<AppState>,
    CurrentUser(who): CurrentUser,
    Path(id): Path<i64>,
) -> Result<Json<Purchase>, ApiError> {
    move_to(&state, who, id, Transition::Refund).await
}
