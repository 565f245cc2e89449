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
pub mod responses;
pub mod review;
pub mod state;
pub mod submission;
pub mod teacher_profile;

use axum::{
    Router, body::Body, extract::DefaultBodyLimit, http::Request, middleware::from_fn_with_state,
    routing::get,
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnResponse, TraceLayer},
};
use tracing::Level;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use self::error::ApiError;
pub use self::state::{AppContext, AppState};

/// Every operation of the API, in one list: each handler's `#[utoipa::path]` names its method
/// and path, and `routes!` registers it in the router and in the OpenAPI document at once, so
/// the two cannot disagree ([`docs::document`] reads the document from here). Handlers that
/// share a path go in one `routes!`.
pub fn operations() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(docs::openapi_json))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::change_email))
        .routes(routes!(auth::me, auth::update_me))
        .routes(routes!(
            account_admin::list_accounts,
            account_admin::create_staff
        ))
        .routes(routes!(account_admin::get_account))
        .routes(routes!(account_admin::set_role))
        .routes(routes!(account_admin::deactivate))
        .routes(routes!(account_admin::reactivate))
        .routes(routes!(
            catalog::specializations,
            lookup_admin::create_specialization
        ))
        .routes(routes!(
            lookup_admin::update_specialization,
            lookup_admin::delete_specialization
        ))
        .routes(routes!(
            catalog::difficulty_levels,
            lookup_admin::create_difficulty_level
        ))
        .routes(routes!(
            lookup_admin::update_difficulty_level,
            lookup_admin::delete_difficulty_level
        ))
        .routes(routes!(catalog::plans))
        .routes(routes!(catalog::list_courses, course_admin::create_course))
        .routes(routes!(
            catalog::course,
            course_admin::update_course,
            course_admin::delete_course
        ))
        .routes(routes!(course_admin::add_topic))
        .routes(routes!(
            course_admin::update_topic,
            course_admin::delete_topic
        ))
        .routes(routes!(course_staff::assign, course_staff::remove))
        .routes(routes!(course_admin::add_run))
        .routes(routes!(course_admin::update_run, course_admin::delete_run))
        .routes(routes!(purchase::list_own, purchase::create))
        .routes(routes!(purchase::get_one))
        .routes(routes!(purchase::pay))
        .routes(routes!(purchase::cancel))
        .routes(routes!(purchase::refund))
        .routes(routes!(catalog::teachers))
        .routes(routes!(catalog::teacher, teacher_profile::put_profile))
        .routes(routes!(review::course_reviews, review::create_review))
        .routes(routes!(review::update_review, review::delete_review))
        .routes(routes!(review::my_reviews))
        .routes(routes!(certificate::issue))
        .routes(routes!(certificate::verify))
        .routes(routes!(certificate::mine))
        .routes(routes!(certificate::of_user))
        .routes(routes!(submission::course_submissions, submission::submit))
        .routes(routes!(submission::my_progress))
        .routes(routes!(submission::claim))
        .routes(routes!(submission::get_one))
        .routes(routes!(submission::comment))
        .routes(routes!(submission::accept))
        .routes(routes!(submission::send_back))
        .routes(routes!(career::companies, career::create_company))
        .routes(routes!(career::update_company))
        .routes(routes!(career::tracks, career::create_track))
        .routes(routes!(career::update_track))
        .routes(routes!(career::applications, career::apply))
        .routes(routes!(career::set_status))
        .routes(routes!(blog::feed, blog::create_post))
        .routes(routes!(blog::post, blog::update_post, blog::delete_post))
        .routes(routes!(blog::tags))
        .routes(routes!(report::top_courses))
        .routes(routes!(report::revenue))
        .routes(routes!(report::employment))
        .routes(routes!(report::learning))
}

/// Every route: the API's [`operations`] and the docs page's files, with the middleware stack
/// (outermost first): request id, trace span, metrics and request context, panic handler,
/// body limit; per route: the request timeout.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.http.body_limit_bytes;
    let (api, _document) = operations().split_for_parts();
    api.route("/docs", get(docs::page))
        .route("/docs/init.js", get(docs::init_js))
        .route("/docs/swagger-ui.css", get(docs::css))
        .route("/docs/swagger-ui-bundle.js", get(docs::bundle_js))
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
