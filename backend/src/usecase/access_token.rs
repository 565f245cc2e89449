//! Access tokens: signed HS256 JWTs naming the user, their role and position, and the
//! refresh-token family (`sid`) they were issued with. Signing and checking only; whether a
//! token was revoked is asked of the database by `auth::AuthService::authenticate`.

use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use super::ServiceError;
use crate::{
    config::AuthConfig,
    entity::user::{Principal, Role, StaffPosition, User},
};

/// The claims inside an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    /// User id.
    sub: String,
    role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pos: Option<StaffPosition>,
    iat: i64,
    exp: i64,
    /// Random, so two tokens issued to one user in the same second differ (logging one out
    /// must not log out the other: revocation goes by signature).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    jti: String,
    /// The refresh-token family this token was issued with, which log out ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid")]
    Invalid,
    #[error("the access token was revoked (logged out, or the password changed); log in again")]
    Revoked,
}

/// A token whose signature and expiry check out, with what revoking it needs.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub principal: Principal,
    /// `iat` and `exp`, Unix seconds.
    pub issued_at: i64,
    pub expires_at: i64,
    /// The JWT's signature part: names this token in `revoked_tokens`.
    pub signature: String,
    /// Its refresh-token family (`sid`), if it was issued with one.
    pub session: Option<String>,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: Duration,
    /// `iat`, Unix seconds.
    pub issued_at: i64,
}

/// Signs and checks HS256 access tokens.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    pub fn new(cfg: &AuthConfig) -> Self {
        Self {
            encoding: EncodingKey::from_secret(cfg.jwt_secret.as_bytes()),
            decoding: DecodingKey::from_secret(cfg.jwt_secret.as_bytes()),
            ttl: Duration::from_secs(cfg.token_ttl_s),
        }
    }

    /// A token issued now, or at `not_before` if that is later (a password change refuses
    /// tokens issued before its instant, which may be a second ahead), of refresh family
    /// `session`.
    pub fn issue(
        &self,
        user: &User,
        not_before: Option<i64>,
        session: &str,
    ) -> Result<AccessToken, ServiceError> {
        let now = Utc::now().timestamp().max(not_before.unwrap_or(i64::MIN));
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role,
            pos: user.staff_position,
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2),
            jti: random_hex(16),
            sid: Some(session.to_owned()),
        };
        let token = jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
            .map_err(|e| ServiceError::Internal(format!("signing a token: {e}")))?;
        Ok(AccessToken {
            token,
            expires_in: self.ttl,
            issued_at: now,
        })
    }

    pub fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(
            |e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            },
        )?;
        let user_id = data.claims.sub.parse().map_err(|_| TokenError::Invalid)?;
        let signature = token.rsplit('.').next().unwrap_or_default().to_owned();
        Ok(VerifiedToken {
            principal: Principal {
                user_id,
                role: data.claims.role,
                position: data.claims.pos,
            },
            issued_at: data.claims.iat,
            expires_at: data.claims.exp,
            signature,
            session: data.claims.sid,
        })
    }
}

/// `bytes` random bytes in hex (the `jti` of access tokens, refresh tokens and their families).
pub(super) fn random_hex(bytes: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes * 2);
    for _ in 0..bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{:02x}", rand::random::<u8>());
    }
    out
}
