//! Accounts: registration, login with access tokens, the caller's own profile. Passwords are
//! hashed and checked by [`PasswordHasher`] (argon2id on the blocking pool).

use std::{net::IpAddr, time::Duration};

use chrono::Utc;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use lyceum_db::Db;
use serde::{Deserialize, Serialize};

pub use super::password_hasher::PasswordHasher;
use super::{Resource, ServiceError, login_limit::LoginLimiter};
use crate::repository::pg;
use crate::{
    config::AuthConfig,
    entity::user::{Principal, Role, StaffPosition, User, UserForCreate, UserForUpdate},
    repository::user::UserRepository,
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
}

/// Why a bearer token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the access token has expired")]
    Expired,
    #[error("the access token is not valid")]
    Invalid,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: String,
    pub expires_in: Duration,
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

    pub fn issue(&self, user: &User) -> Result<AccessToken, ServiceError> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role,
            pos: user.staff_position,
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2),
        };
        let token = jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
            .map_err(|e| ServiceError::Internal(format!("signing a token: {e}")))?;
        Ok(AccessToken {
            token,
            expires_in: self.ttl,
        })
    }

    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
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
        Ok(Principal {
            user_id,
            role: data.claims.role,
            position: data.claims.pos,
        })
    }
}

/// Registration, login and the caller's profile.
#[derive(Debug, Clone)]
pub struct AuthService {
    db: Db,
    users: UserRepository,
    hasher: PasswordHasher,
    tokens: TokenService,
    limiter: LoginLimiter,
}

impl AuthService {
    pub fn new(
        db: Db,
        hasher: PasswordHasher,
        tokens: TokenService,
        limiter: LoginLimiter,
    ) -> Self {
        Self {
            db,
            users: UserRepository,
            hasher,
            tokens,
            limiter,
        }
    }

    pub fn verify_token(&self, token: &str) -> Result<Principal, TokenError> {
        self.tokens.verify(token)
    }

    /// Creates a student account. Not retried: a lost commit could otherwise register twice
    /// and answer "email taken" to the person who just succeeded.
    #[tracing::instrument(skip_all)]
    pub async fn register(&self, new: UserForCreate) -> Result<(User, AccessToken), ServiceError> {
        let hash = self.hasher.hash(&new.password).await?;
        let users = self.users;
        let user = self
            .db
            .write_once(|c| {
                let (new, hash) = (new.clone(), hash.clone());
                Box::pin(
                    async move { Ok::<_, ServiceError>(users.insert(pg(c), &new, &hash).await?) },
                )
            })
            .await?;
        tracing::info!(user_id = user.id, "account registered");
        let token = self.tokens.issue(&user)?;
        Ok((user, token))
    }

    /// Checks the password on the primary (a just-registered account is there even when the
    /// replicas lag) and issues a token. A throttled account or address (see
    /// [`LoginLimiter`]) is refused before any password is hashed.
    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<(User, AccessToken), ServiceError> {
        self.limiter.check(email, client).await?;
        let result = self.check_password(email, password).await;
        match &result {
            Ok(_) => self.limiter.succeeded(email).await,
            Err(ServiceError::InvalidCredentials) => self.limiter.failed(email, client).await,
            Err(_) => {}
        }
        result
    }

    async fn check_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<(User, AccessToken), ServiceError> {
        let users = self.users;
        let email = email.trim().to_owned();
        let found = self
            .db
            .write(|c| {
                let email = email.clone();
                Box::pin(
                    async move { Ok::<_, ServiceError>(users.find_by_email(pg(c), &email).await?) },
                )
            })
            .await?;
        let Some(found) = found else {
            // Same work as a wrong password, so response time does not reveal who has an account.
            let decoy = self.hasher.decoy_hash().await?;
            self.hasher.verify(password, &decoy).await?;
            return Err(ServiceError::InvalidCredentials);
        };
        if !self.hasher.verify(password, &found.password_hash).await? {
            return Err(ServiceError::InvalidCredentials);
        }
        let token = self.tokens.issue(&found.user)?;
        Ok((found.user, token))
    }

    /// The caller's own profile, from the primary so their latest edit is always shown.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn me(&self, who: Principal) -> Result<User, ServiceError> {
        let users = self.users;
        self.db
            .write(|c| {
                Box::pin(async move {
                    Ok::<_, ServiceError>(users.find_by_id(pg(c), who.user_id).await?)
                })
            })
            .await?
            .ok_or(ServiceError::AccountGone)
    }

    /// Applies profile changes. Setting fields to given values is idempotent, so it is retried.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn update_me(
        &self,
        who: Principal,
        changes: UserForUpdate,
    ) -> Result<User, ServiceError> {
        if changes.is_empty() {
            return self.me(who).await;
        }
        let users = self.users;
        self.db
            .write(|c| {
                let changes = changes.clone();
                Box::pin(async move {
                    Ok::<_, ServiceError>(users.update(pg(c), who.user_id, &changes).await?)
                })
            })
            .await?
            .ok_or(ServiceError::NotFound(Resource::User, who.user_id))
    }
}
