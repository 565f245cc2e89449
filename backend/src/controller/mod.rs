//! HTTP: routing, extraction, validation at the edge, and the mapping of every failure to a
//! problem document ([`error`]). Handlers parse requests into entity types, call one use case
//! and serialize its result; they hold no business rules.
//!
//! May depend on every inner layer (`entity`, `repository` types, `usecase`); the state the
//! handlers share ([`state::AppState`]) and the HTTP metrics live here, so nothing in this
//! layer imports `app`.

pub mod account_admin;
pub mod auth;
pub mod blog;
pub mod career;
pub mod catalog;
pub mod certificate;
pub mod contract;
pub mod course_admin;
pub mod course_staff;
pub mod created;
pub mod docs;
pub mod error;
pub mod extract;
pub mod lookup_admin;
pub mod metrics;
pub mod middleware;
pub mod ops;
pub mod purchase;
pub mod report;
pub mod review;
pub mod state;
pub mod submission;
pub mod teacher_profile;

use axum::{
    Router,
    body::Body,
    extract::DefaultBodyLimit,
    http::Request,
    middleware::from_fn_with_state,
    routing::{get, patch, post, put},
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;

use self::error::ApiError;
pub use self::state::{AppContext, AppState};

/// Every route, with the middleware stack (outermost first): request id, trace span,
/// metrics and request context, panic handler, body limit; per route: the request timeout.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.http.body_limit_bytes;
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/docs", get(docs::page))
        .route("/docs/init.js", get(docs::init_js))
        .route("/docs/swagger-ui.css", get(docs::css))
        .route("/docs/swagger-ui-bundle.js", get(docs::bundle_js))
        .route("/api/v1/openapi.json", get(docs::openapi_json))
        .route("/api/v1/auth/register", post(auth::register))
        .route("/api/v1/auth/login", post(auth::login))
        .route("/api/v1/auth/logout", post(auth::logout))
        .route("/api/v1/auth/refresh", post(auth::refresh))
        .route("/api/v1/me/password", post(auth::change_password))
        .route("/api/v1/me/email", post(auth::change_email))
        .route("/api/v1/me", get(auth::me).patch(auth::update_me))
        .route(
            "/api/v1/users",
            get(account_admin::list_accounts).post(account_admin::create_staff),
        )
        .route("/api/v1/users/{id}", get(account_admin::get_account))
        .route("/api/v1/users/{id}/role", put(account_admin::set_role))
        .route(
            "/api/v1/users/{id}/deactivate",
            post(account_admin::deactivate),
        )
        .route(
            "/api/v1/users/{id}/reactivate",
            post(account_admin::reactivate),
        )
        .route(
            "/api/v1/specializations",
            get(catalog::specializations).post(lookup_admin::create_specialization),
        )
        .route(
            "/api/v1/specializations/{id}",
            patch(lookup_admin::update_specialization).delete(lookup_admin::delete_specialization),
        )
        .route(
            "/api/v1/difficulty-levels",
            get(catalog::difficulty_levels).post(lookup_admin::create_difficulty_level),
        )
        .route(
            "/api/v1/difficulty-levels/{id}",
            patch(lookup_admin::update_difficulty_level)
                .delete(lookup_admin::delete_difficulty_level),
        )
        .route("/api/v1/plans", get(catalog::plans))
        .route(
            "/api/v1/courses",
            get(catalog::list_courses).post(course_admin::create_course),
        )
        .route(
            "/api/v1/courses/{id}",
            get(catalog::course)
                .patch(course_admin::update_course)
                .delete(course_admin::delete_course),
        )
        .route("/api/v1/courses/{id}/topics", post(course_admin::add_topic))
        .route(
            "/api/v1/courses/{id}/topics/{topic_id}",
            patch(course_admin::update_topic).delete(course_admin::delete_topic),
        )
        .route(
            "/api/v1/courses/{id}/staff/{role}/{user_id}",
            put(course_staff::assign).delete(course_staff::remove),
        )
        .route("/api/v1/courses/{id}/runs", post(course_admin::add_run))
        .route(
            "/api/v1/courses/{id}/runs/{run_id}",
            patch(course_admin::update_run).delete(course_admin::delete_run),
        )
        .route(
            "/api/v1/purchases",
            get(purchase::list_own).post(purchase::create),
        )
        .route("/api/v1/purchases/{id}", get(purchase::get_one))
        .route("/api/v1/purchases/{id}/pay", post(purchase::pay))
        .route("/api/v1/purchases/{id}/cancel", post(purchase::cancel))
        .route("/api/v1/purchases/{id}/refund", post(purchase::refund))
        .route("/api/v1/teachers", get(catalog::teachers))
        .route(
            "/api/v1/teachers/{id}",
            get(catalog::teacher).put(teacher_profile::put_profile),
        )
        .route(
            "/api/v1/courses/{id}/reviews",
            get(review::course_reviews).post(review::create_review),
        )
        .route(
            "/api/v1/reviews/{id}",
            patch(review::update_review).delete(review::delete_review),
        )
        .route("/api/v1/me/reviews", get(review::my_reviews))
        .route("/api/v1/certificates", post(certificate::issue))
        .route(
            "/api/v1/certificates/{serial_number}",
            get(certificate::verify),
        )
        .route("/api/v1/me/certificates", get(certificate::mine))
        .route("/api/v1/users/{id}/certificates", get(certificate::of_user))
        .route(
            "/api/v1/courses/{id}/submissions",
            get(submission::course_submissions).post(submission::submit),
        )
        .route(
            "/api/v1/me/courses/{id}/progress",
            get(submission::my_progress),
        )
        .route("/api/v1/review-queue/claim", post(submission::claim))
        .route("/api/v1/submissions/{id}", get(submission::get_one))
        .route(
            "/api/v1/submissions/{id}/comments",
            post(submission::comment),
        )
        .route("/api/v1/submissions/{id}/accept", post(submission::accept))
        .route(
            "/api/v1/submissions/{id}/return",
            post(submission::send_back),
        )
        .route(
            "/api/v1/career/companies",
            get(career::companies).post(career::create_company),
        )
        .route(
            "/api/v1/career/companies/{id}",
            patch(career::update_company),
        )
        .route(
            "/api/v1/career/tracks",
            get(career::tracks).post(career::create_track),
        )
        .route("/api/v1/career/tracks/{id}", patch(career::update_track))
        .route(
            "/api/v1/career/tracks/{id}/applications",
            get(career::applications).post(career::apply),
        )
        .route(
            "/api/v1/career/applications/{id}",
            patch(career::set_status),
        )
        .route(
            "/api/v1/blog/posts",
            get(blog::feed).post(blog::create_post),
        )
        .route(
            "/api/v1/blog/posts/{id}",
            get(blog::post)
                .patch(blog::update_post)
                .delete(blog::delete_post),
        )
        .route("/api/v1/blog/tags", get(blog::tags))
        .route("/api/v1/reports/top-courses", get(report::top_courses))
        .route("/api/v1/reports/revenue", get(report::revenue))
        .route("/api/v1/reports/employment", get(report::employment))
        .route("/api/v1/reports/learning", get(report::learning))
        .route_layer(from_fn_with_state(state.clone(), middleware::per_route))
        .fallback(|| async { ApiError::RouteNotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        // One composed layer: `Router::layer` boxes every route once per call, and each box
        // is cloned for every request, so six calls cost six allocations per request.
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(
                    middleware::REQUEST_ID,
                    middleware::MakeRequestId::new(),
                ))
                .layer(PropagateRequestIdLayer::new(middleware::REQUEST_ID))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<Body>| {
                            let id = req
                                .headers()
                                .get(middleware::REQUEST_ID)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default();
                            tracing::info_span!(
                                "http",
                                request_id = %id,
                                method = %req.method(),
                                path = %req.uri().path(),
                            )
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(from_fn_with_state(state.clone(), middleware::observe))
                .layer(CatchPanicLayer::custom(middleware::panic_response))
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .with_state(state)
}
