//! Accounts: registration, login with access tokens, log out, password changes, the caller's
//! own profile. Passwords are hashed and checked by [`PasswordHasher`] (argon2id on the
//! blocking pool).
//!
//! **Revocation.** Tokens are signed JWTs, and on top of the signature every authenticated
//! request asks the database two things ([`AuthService::authenticate`]): is this token logged
//! out (`revoked_tokens`, by signature), and was it issued before the user's last password
//! change, role change or deactivation (`users.tokens_valid_from`), and is the account still
//! active (`users.deactivated_at`)? The database, not Redis, is where revocations live:
//! it is the one store that survives every restart and that every instance shares, and Redis
//! here runs without persistence (a restart forgets everything), so a Redis-only record could
//! bring a logged-out token back to life. The question is asked through the user's
//! read-your-writes fence (`ReadYourWrites::read_own`): a revocation fences its user, so for
//! the next 30 s that user's checks run on a replica that has replayed it, or on the primary,
//! on every instance (the fence is in Redis, and when Redis cannot be asked the check goes to
//! the primary); after that every replica HAProxy serves has it. So a revoked token stops
//! working at once everywhere, while other users' checks stay on the replicas and keep
//! working through a failover. The cost is one indexed query per authenticated request.

use std::{net::IpAddr, sync::Arc, time::Duration};

use chrono::Utc;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use lyceum_db::{Client, Db, DbFuture};
use serde::{Deserialize, Serialize};

pub use super::password_hasher::PasswordHasher;
use super::{Resource, ServiceError, consistency::ReadYourWrites, login_limit::LoginLimiter};
use crate::repository::pg;
use crate::{
    config::AuthConfig,
    entity::user::{Password, Principal, Role, StaffPosition, User, UserForCreate, UserForUpdate},
    repository::{session::SessionRepository, user::UserRepository},
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

    /// A token issued now, or at `not_before` if that is later (a password change refuses
    /// tokens issued before its instant, which may be a second ahead).
    pub fn issue(&self, user: &User, not_before: Option<i64>) -> Result<AccessToken, ServiceError> {
        let now = Utc::now().timestamp().max(not_before.unwrap_or(i64::MIN));
        let claims = Claims {
            sub: user.id.to_string(),
            role: user.role,
            pos: user.staff_position,
            iat: now,
            exp: now + i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2),
            jti: format!("{:032x}", rand::random::<u128>()),
        };
        let token = jsonwebtoken::encode(&Header::default(), &claims, &self.encoding)
            .map_err(|e| ServiceError::Internal(format!("signing a token: {e}")))?;
        Ok(AccessToken {
            token,
            expires_in: self.ttl,
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
        })
    }
}

/// The revocation check of one token, as a read that may run anywhere and more than once.
fn token_check(
    sessions: SessionRepository,
    user_id: i64,
    issued_at: i64,
    signature: Arc<str>,
) -> impl for<'c> Fn(&'c mut Client) -> DbFuture<'c, Option<bool>, ServiceError>
+ Clone
+ Send
+ Sync
+ 'static {
    move |c| {
        let signature = Arc::clone(&signature);
        Box::pin(async move {
            Ok(sessions
                .token_valid(pg(c), user_id, issued_at, &signature)
                .await?)
        })
    }
}

/// Registration, login and the caller's profile.
#[derive(Debug, Clone)]
pub struct AuthService {
    db: Db,
    ryw: ReadYourWrites,
    users: UserRepository,
    sessions: SessionRepository,
    hasher: PasswordHasher,
    tokens: TokenService,
    limiter: LoginLimiter,
}

impl AuthService {
    pub fn new(
        db: Db,
        ryw: ReadYourWrites,
        hasher: PasswordHasher,
        tokens: TokenService,
        limiter: LoginLimiter,
    ) -> Self {
        Self {
            db,
            ryw,
            users: UserRepository,
            sessions: SessionRepository,
            hasher,
            tokens,
            limiter,
        }
    }

    /// The caller behind a bearer token: signature and expiry, then the revocation check
    /// described in the module documentation.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn authenticate(&self, token: &str) -> Result<VerifiedToken, ServiceError> {
        let verified = self.tokens.verify(token).map_err(ServiceError::Token)?;
        let check = token_check(
            self.sessions,
            verified.principal.user_id,
            verified.issued_at,
            verified.signature.as_str().into(),
        );
        let user_id = verified.principal.user_id;
        let mut valid = self.ryw.read_own(user_id, check.clone()).await?;
        if valid.is_none() {
            // No such user on that server: gone, or registered a moment ago and not on the
            // replica yet. The primary knows.
            valid = self.db.write(check).await?;
        }
        match valid {
            Some(true) => Ok(verified),
            Some(false) => Err(ServiceError::Token(TokenError::Revoked)),
            None => Err(ServiceError::Token(TokenError::Invalid)),
        }
    }

    /// Revokes the presented token until it expires. Idempotent, so it is retried; the
    /// revocation fences the user, so every instance refuses the token from the next request.
    #[tracing::instrument(skip_all, fields(user_id = token.principal.user_id))]
    pub async fn logout(&self, token: &VerifiedToken) -> Result<(), ServiceError> {
        let (sessions, ryw) = (self.sessions, self.ryw.clone());
        let user_id = token.principal.user_id;
        let lsn = self
            .db
            .write(|c| {
                let (token, ryw) = (token.clone(), ryw.clone());
                Box::pin(async move {
                    sessions
                        .revoke(pg(c), user_id, &token.signature, token.expires_at)
                        .await?;
                    Ok::<_, ServiceError>(ryw.commit_position(c).await)
                })
            })
            .await?;
        self.ryw.wrote(user_id, lsn.as_deref()).await;
        tracing::info!("logged out");
        Ok(())
    }

    /// Sets a new password after checking the current one, and revokes every token issued
    /// before; answers with a fresh token for the caller's session. A wrong current password
    /// counts as a failed login for the account and the address ([`LoginLimiter`]), and a
    /// throttled account is refused before any password is hashed.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn change_password(
        &self,
        who: Principal,
        current: &str,
        new: &Password,
        client: Option<IpAddr>,
    ) -> Result<(User, AccessToken), ServiceError> {
        let email = self.me(who).await?.email;
        self.limiter.check(&email, client).await?;
        let user = match self.verify_password(&email, current).await {
            Ok(found) => found.0,
            Err(ServiceError::InvalidCredentials) => {
                self.limiter.failed(&email, client).await;
                return Err(ServiceError::WrongPassword);
            }
            Err(other) => return Err(other),
        };
        let hash = self.hasher.hash(new).await?;
        // Whole seconds, like `iat`: every token issued up to now is before this instant.
        let valid_from = Utc::now().timestamp() + 1;
        let (sessions, ryw) = (self.sessions, self.ryw.clone());
        // Setting values: retried safely.
        let lsn = self
            .db
            .write(|c| {
                let (hash, ryw) = (hash.clone(), ryw.clone());
                Box::pin(async move {
                    if !sessions
                        .set_password(pg(c), who.user_id, &hash, valid_from)
                        .await?
                    {
                        return Err(ServiceError::AccountGone);
                    }
                    Ok(ryw.commit_position(c).await)
                })
            })
            .await?;
        self.ryw.wrote(who.user_id, lsn.as_deref()).await;
        self.limiter.succeeded(&email).await;
        tracing::info!("password changed; earlier tokens revoked");
        let token = self.tokens.issue(&user, Some(valid_from))?;
        Ok((user, token))
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
        let token = self.tokens.issue(&user, None)?;
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
        let result = self
            .verify_password(email, password)
            .await
            .and_then(|(user, valid_from)| {
                let token = self.tokens.issue(&user, valid_from)?;
                Ok((user, token))
            });
        match &result {
            Ok(_) => self.limiter.succeeded(email).await,
            Err(ServiceError::InvalidCredentials) => self.limiter.failed(email, client).await,
            Err(_) => {}
        }
        result
    }

    /// The account behind `email` if `password` is its password, with its
    /// `tokens_valid_from` (a token must not be issued before it).
    async fn verify_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<(User, Option<i64>), ServiceError> {
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
        // After the password check, so the refusal tells nothing to someone without it.
        if found.deactivated {
            return Err(ServiceError::AccountDeactivated);
        }
        Ok((found.user, found.tokens_valid_from))
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
