//! Accounts: registration, login with access tokens, log out, password changes, the caller's
//! own profile. Passwords are hashed and checked by [`PasswordHasher`] (argon2id on the
//! blocking pool).
//!
//! **Refresh tokens.** Login, registration and a password change start a *family*: an access
//! token carrying the family's id (`sid`) and a single-use refresh token (`refresh_tokens`,
//! stored as a SHA-256). `refresh` uses the presented token up and issues the next one of the
//! family; a used token presented again ends the family, since only a copy can come back.
//! Log out ends the family of the presented token.
//!
//! **Revocation.** Tokens are signed JWTs, and on top of the signature every authenticated
//! request asks the database two things ([`AuthService::authenticate`]): is this token logged
//! out (`revoked_tokens`, by signature) or of an ended family, and was it issued before the user's last password
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
    entity::user::{
        Email, Password, Principal, Role, StaffPosition, User, UserForCreate, UserForUpdate,
    },
    repository::{
        refresh_token::RefreshTokenRepository, session::SessionRepository, user::UserRepository,
    },
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

/// What a login hands out: an access token and the refresh token that renews it.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: AccessToken,
    /// Single use: exchanging it at `POST /auth/refresh` returns the next one.
    pub refresh_token: String,
    pub refresh_expires_in: Duration,
}

/// `bytes` random bytes in hex.
fn random_hex(bytes: usize) -> String {
    (0..bytes)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// Signs and checks HS256 access tokens.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
    refresh_ttl: Duration,
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
            refresh_ttl: Duration::from_secs(cfg.refresh_token_ttl_s),
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
            jti: format!("{:032x}", rand::random::<u128>()),
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

/// The revocation check of one token, as a read that may run anywhere and more than once.
fn token_check(
    sessions: SessionRepository,
    user_id: i64,
    issued_at: i64,
    signature: Arc<str>,
    session: Option<Arc<str>>,
) -> impl for<'c> Fn(&'c mut Client) -> DbFuture<'c, Option<bool>, ServiceError>
+ Clone
+ Send
+ Sync
+ 'static {
    move |c| {
        let (signature, session) = (Arc::clone(&signature), session.clone());
        Box::pin(async move {
            Ok(sessions
                .token_valid(pg(c), user_id, issued_at, &signature, session.as_deref())
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
            verified.session.as_deref().map(Arc::from),
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

    /// Revokes the presented token until it expires, and ends its refresh-token family.
    /// Idempotent, so it is retried; the revocation fences the user, so every instance
    /// refuses the token from the next request.
    #[tracing::instrument(skip_all, fields(user_id = token.principal.user_id))]
    pub async fn logout(&self, token: &VerifiedToken) -> Result<(), ServiceError> {
        let (sessions, ryw) = (self.sessions, self.ryw.clone());
        let user_id = token.principal.user_id;
        let lsn = self
            .db
            .write(|c| {
                let (token, ryw) = (token.clone(), ryw.clone());
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(lyceum_db::DbError::from)?;
                    sessions
                        .revoke(&tx, user_id, &token.signature, token.expires_at)
                        .await?;
                    if let Some(family) = &token.session {
                        RefreshTokenRepository
                            .end_family(&tx, family, user_id)
                            .await?;
                    }
                    tx.commit().await.map_err(lyceum_db::DbError::from)?;
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
    ) -> Result<(User, Session), ServiceError> {
        let user = self.confirm_password(who, current, client).await?;
        let email = user.email.clone();
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
        let session = self.start_session(&user, Some(valid_from)).await?;
        Ok((user, session))
    }

    /// Gives the caller a new sign-in address after checking their password (a wrong one counts
    /// as a failed login, as for a password change). Unique ignoring case: 409 `email_taken`.
    /// Tokens name the account by id, so they all stay valid. Setting a value: retried (a
    /// retry after a lost commit finds the address already the caller's own, no conflict).
    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn change_email(
        &self,
        who: Principal,
        password: &str,
        email: &Email,
        client: Option<IpAddr>,
    ) -> Result<User, ServiceError> {
        let old = self.confirm_password(who, password, client).await?.email;
        let (users, ryw) = (self.users, self.ryw.clone());
        let (user, lsn) = self
            .db
            .write(|c| {
                let (email, ryw) = (email.clone(), ryw.clone());
                Box::pin(async move {
                    let user = users
                        .set_email(pg(c), who.user_id, &email)
                        .await?
                        .ok_or(ServiceError::AccountGone)?;
                    Ok::<_, ServiceError>((user, ryw.commit_position(c).await))
                })
            })
            .await?;
        self.ryw.wrote(who.user_id, lsn.as_deref()).await;
        self.limiter.succeeded(&old).await;
        tracing::info!("email changed");
        Ok(user)
    }

    /// The caller's account if `password` is its password. A wrong one answers
    /// `WrongPassword` and counts as a failed login for the account and the address; a
    /// throttled account is refused before any hashing.
    async fn confirm_password(
        &self,
        who: Principal,
        password: &str,
        client: Option<IpAddr>,
    ) -> Result<User, ServiceError> {
        let email = self.me(who).await?.email;
        self.limiter.check(&email, client).await?;
        match self.verify_password(&email, password).await {
            Ok((user, _)) => Ok(user),
            Err(ServiceError::InvalidCredentials) => {
                self.limiter.failed(&email, client).await;
                Err(ServiceError::WrongPassword)
            }
            Err(other) => Err(other),
        }
    }

    /// Creates a student account. Not retried: a lost commit could otherwise register twice
    /// and answer "email taken" to the person who just succeeded. Registrations are limited
    /// per client address ([`LoginLimiter::check_registration`]); the limit is checked before
    /// any hashing, and every attempt that reaches the database counts.
    #[tracing::instrument(skip_all)]
    pub async fn register(
        &self,
        new: UserForCreate,
        client: Option<IpAddr>,
    ) -> Result<(User, Session), ServiceError> {
        self.limiter.check_registration(client).await?;
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
            .await;
        if matches!(
            &user,
            Ok(_) | Err(ServiceError::EmailTaken | ServiceError::NationalIdTaken)
        ) {
            self.limiter.registration_counted(client).await;
        }
        let user = user?;
        tracing::info!(user_id = user.id, "account registered");
        let session = self.start_session(&user, None).await?;
        Ok((user, session))
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
    ) -> Result<(User, Session), ServiceError> {
        self.limiter.check(email, client).await?;
        let (user, valid_from) = match self.verify_password(email, password).await {
            Ok(found) => found,
            Err(ServiceError::InvalidCredentials) => {
                self.limiter.failed(email, client).await;
                return Err(ServiceError::InvalidCredentials);
            }
            Err(other) => return Err(other),
        };
        self.limiter.succeeded(email).await;
        let session = self.start_session(&user, valid_from).await?;
        Ok((user, session))
    }

    /// Issues an access token and starts its refresh-token family. The insert is retried: a
    /// retry after a lost commit finds its token stored (`ON CONFLICT DO NOTHING`).
    async fn start_session(
        &self,
        user: &User,
        not_before: Option<i64>,
    ) -> Result<Session, ServiceError> {
        let family = random_hex(16);
        let access = self.tokens.issue(user, not_before, &family)?;
        let refresh_token = random_hex(32);
        let (user_id, started) = (user.id, access.issued_at);
        let ttl = i64::try_from(self.tokens.refresh_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        self.db
            .write(|c| {
                let (token, family) = (refresh_token.clone(), family.clone());
                Box::pin(async move {
                    RefreshTokenRepository
                        .insert(pg(c), &token, &family, user_id, started, ttl)
                        .await?;
                    Ok::<_, ServiceError>(())
                })
            })
            .await?;
        Ok(Session {
            access,
            refresh_token,
            refresh_expires_in: self.tokens.refresh_ttl,
        })
    }

    /// Exchanges a refresh token for a new access token and the next refresh token of its
    /// family. The presented token is used up; presenting it again ends the whole family
    /// (401 `refresh_token_reused`): a used token coming back means someone kept a copy.
    ///
    /// Not retried: a retry after a lost commit would present the used token again and end
    /// the family. A client whose refresh answer was lost logs in again.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, presented: &str) -> Result<(User, Session), ServiceError> {
        let next = random_hex(32);
        let ttl = i64::try_from(self.tokens.refresh_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let (user, family, started) = self
            .db
            .write_once(|c| exchange(c, presented.to_owned(), next.clone(), ttl))
            .await?;
        // Not before the family's start: a family started by a password change starts a
        // second ahead (`change_password`), and an earlier `iat` would be refused.
        let access = self.tokens.issue(&user, Some(started), &family)?;
        tracing::info!(user_id = user.id, "access token refreshed");
        Ok((
            user,
            Session {
                access,
                refresh_token: next,
                refresh_expires_in: self.tokens.refresh_ttl,
            },
        ))
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

/// One attempt of [`AuthService::refresh`]: checks and uses up `presented`, stores `next` in
/// its family; answers the account, the family and when it started.
fn exchange(
    c: &mut Client,
    presented: String,
    next: String,
    ttl_s: i64,
) -> DbFuture<'_, (User, String, i64), ServiceError> {
    Box::pin(async move {
        let tokens = RefreshTokenRepository;
        let tx = c.transaction().await.map_err(lyceum_db::DbError::from)?;
        let Some(found) = tokens.lock(&tx, &presented).await? else {
            return Err(ServiceError::RefreshInvalid);
        };
        if found.used && !found.revoked {
            tokens
                .end_family(&tx, &found.family_id, found.user_id)
                .await?;
            // The family's end must hold although the answer is an error.
            tx.commit().await.map_err(lyceum_db::DbError::from)?;
            tracing::warn!(
                user_id = found.user_id,
                "refresh token reused; its family is ended"
            );
            return Err(ServiceError::RefreshReused);
        }
        if found.used || found.revoked || found.expired || !found.account_valid {
            return Err(ServiceError::RefreshInvalid);
        }
        tokens.mark_used(&tx, &presented).await?;
        tokens
            .insert(
                &tx,
                &next,
                &found.family_id,
                found.user_id,
                found.family_started_at,
                ttl_s,
            )
            .await?;
        let user = UserRepository
            .find_by_id(&tx, found.user_id)
            .await?
            .ok_or(ServiceError::RefreshInvalid)?;
        tx.commit().await.map_err(lyceum_db::DbError::from)?;
        Ok((user, found.family_id, found.family_started_at))
    })
}
