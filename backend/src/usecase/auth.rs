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

use std::{net::IpAddr, sync::Arc};

use chrono::Utc;
use lyceum_db::{Client, Db, DbFuture};

pub use super::password_hasher::PasswordHasher;
use super::{Resource, ServiceError, consistency::ReadYourWrites, login_limit::LoginLimiter};
use super::{
    access_token::{TokenError, TokenService, VerifiedToken},
    refresh_token::{RefreshTokens, Session},
};
use crate::repository::pg;
use crate::{
    entity::user::{Email, Password, Principal, User, UserForCreate, UserForUpdate},
    repository::{
        refresh_token::RefreshTokenRepository, session::SessionRepository, user::UserRepository,
    },
};

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
    refresh: RefreshTokens,
    limiter: LoginLimiter,
}

impl AuthService {
    pub fn new(
        db: Db,
        ryw: ReadYourWrites,
        hasher: PasswordHasher,
        tokens: TokenService,
        refresh: RefreshTokens,
        limiter: LoginLimiter,
    ) -> Self {
        Self {
            db,
            ryw,
            users: UserRepository,
            sessions: SessionRepository,
            hasher,
            tokens,
            refresh,
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

    /// Exchanges a refresh token for a new access token and the next refresh token
    /// ([`RefreshTokens::exchange`]).
    pub async fn refresh(&self, presented: &str) -> Result<(User, Session), ServiceError> {
        self.refresh.exchange(presented).await
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
        let session = self.refresh.start(&user, Some(valid_from)).await?;
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
        let session = self.refresh.start(&user, None).await?;
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
        let session = self.refresh.start(&user, valid_from).await?;
        Ok((user, session))
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
