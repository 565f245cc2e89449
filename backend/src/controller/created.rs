//! `201 Created`: the new resource as JSON, and its path in `Location` (RFC 9110 §15.3.2), so a
//! client learns the new id without parsing the body.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// The created resource and its path (e.g. `/api/v1/courses/7/runs/12`).
#[derive(Debug)]
pub struct Created<T>(pub String, pub T);

impl<T: Serialize> IntoResponse for Created<T> {
    fn into_response(self) -> Response {
        let Self(location, body) = self;
        let mut response = (StatusCode::CREATED, Json(body)).into_response();
        // Paths built from ids and serials are always valid header values.
        if let Ok(value) = HeaderValue::try_from(location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        response
    }
}
