//! Extractors that turn every rejection into an [`ApiError`], and the bearer-token callers.

use std::net::{IpAddr, SocketAddr};

use axum::{
    extract::{ConnectInfo, FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use crate::{
    entity::user::Principal,
    usecase::{ServiceError, access_token::VerifiedToken},
};

/// `axum::Json` with problem-details rejections (400 malformed, 422 wrong shape, 413, 415).
///
/// A number with a zero fraction (`4.0`) is taken as the integer it equals: JSON Schema calls
/// it an integer, so clients and generators may send it where the document says `integer`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(mut value) = axum::Json::<Value>::from_request(req, state).await?;
        integral_floats_to_integers(&mut value);
        // Through axum again, so a wrong shape is reported with the path of the field.
        let bytes =
            serde_json::to_vec(&value).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
        let axum::Json(typed) = axum::Json::<T>::from_bytes(&bytes)?;
        Ok(Self(typed))
    }
}

/// Replaces every float with a zero fraction that fits an `i64` by that integer.
fn integral_floats_to_integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f >= i64::MIN as f64
                && f < i64::MAX as f64
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

const NUL_REFUSED: &str = "values may not contain NUL characters (%00)";

/// Whether a still-encoded URL part carries a NUL byte. PostgreSQL text cannot hold one, so it
/// would fail deep in a query (500); refusing it at the edge makes it a 400.
fn has_nul(encoded: Option<&str>) -> bool {
    encoded.is_some_and(|s| {
        s.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    })
}

/// `axum::extract::Query` with a 400 `invalid_query` rejection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if has_nul(parts.uri.query()) {
            return Err(ApiError::InvalidQuery(NUL_REFUSED.into()));
        }
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

/// `axum::extract::Path` with a 400 `invalid_path` rejection.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if has_nul(Some(parts.uri.path())) {
            return Err(ApiError::InvalidPath(NUL_REFUSED.into()));
        }
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Self(value))
    }
}

fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::MissingToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::MissingToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::MissingToken);
    }
    Ok(Some(token.trim()))
}

/// Checks a bearer token: signature, expiry, and not revoked (`AuthService::authenticate`).
async fn authenticate(state: &AppState, token: &str) -> Result<VerifiedToken, ApiError> {
    state.auth.authenticate(token).await.map_err(|e| match e {
        ServiceError::Token(t) => ApiError::BadToken(t),
        other => ApiError::Service(other),
    })
}

/// The authenticated caller and the token they presented (to log it out); 401 without a
/// valid bearer token.
#[derive(Debug, Clone)]
pub struct CurrentSession(pub VerifiedToken);

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?.ok_or(ApiError::MissingToken)?;
        Ok(Self(authenticate(state, token).await?))
    }
}

/// The authenticated caller; 401 without a valid bearer token.
#[derive(Debug, Clone, Copy)]
pub struct CurrentUser(pub Principal);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let CurrentSession(token) = CurrentSession::from_request_parts(parts, state).await?;
        Ok(Self(token.principal))
    }
}

/// The caller if they sent a token. A token that is sent must be valid: a bad one is a 401,
/// not a silent downgrade to anonymous.
#[derive(Debug, Clone, Copy)]
pub struct MaybeUser(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer(parts)? {
            None => Ok(Self(None)),
            Some(token) => Ok(Self(Some(authenticate(state, token).await?.principal))),
        }
    }
}

/// The client's IP address, for per-address limits: the TCP peer, unless the peer is one of
/// `http.trusted_proxies`, in which case the nearest `X-Forwarded-For` entry that is not itself
/// a trusted proxy. `None` only when the app is driven without a socket (in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let trusted = &state.config.http.trusted_proxies;
        Ok(Self(peer.map(|peer| {
            if !trusted.contains(&peer) {
                return peer;
            }
            // Proxies append the address they saw, so the list reads client, proxy1, proxy2…:
            // walk it from the right past our own proxies. A malformed entry stops the walk at
            // the last address a trusted proxy vouched for.
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .collect::<Vec<_>>();
            let mut client = peer;
            for entry in forwarded.iter().rev() {
                match entry.parse::<IpAddr>() {
                    Ok(ip) => {
                        client = ip;
                        if !trusted.contains(&ip) {
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
            client
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_become_integers_and_others_stay() {
        let mut v = serde_json::json!({"a": 4.0, "b": [1.5, -2.0], "c": "4.0", "d": 1e300});
        integral_floats_to_integers(&mut v);
        assert_eq!(
            v,
            serde_json::json!({"a": 4, "b": [1.5, -2], "c": "4.0", "d": 1e300})
        );
    }
}
