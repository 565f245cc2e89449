//! Refresh tokens: a login, registration or password change starts a *family* ([`start`]);
//! each exchange ([`RefreshTokens::exchange`]) uses the presented token up and issues the next
//! one of the family; a used token presented again ends the family (its refresh tokens, and
//! through the revocation check its access tokens), since only a copy can come back.
//! Tokens are stored as SHA-256 hashes (`repository::refresh_token`).
//!
//! [`start`]: RefreshTokens::start

use std::time::Duration;

use lyceum_db::{Client, Db, DbFuture};

use super::{
    ServiceError,
    access_token::{AccessToken, TokenService, random_hex},
    consistency::ReadYourWrites,
};
use crate::{
    entity::user::User,
    repository::{pg, refresh_token::RefreshTokenRepository, user::UserRepository},
};

/// What a login hands out: an access token and the refresh token that renews it.
#[derive(Debug, Clone)]
pub struct Session {
    pub access: AccessToken,
    /// Single use: exchanging it at `POST /auth/refresh` returns the next one.
    pub refresh_token: String,
    pub refresh_expires_in: Duration,
}

/// Starts and rotates refresh-token families.
#[derive(Debug, Clone)]
pub struct RefreshTokens {
    db: Db,
    /// Fences the user whose family a reuse ended, so their access tokens' revocation checks
    /// see the end at once (`usecase::auth`).
    ryw: ReadYourWrites,
    tokens: TokenService,
    /// How long a refresh token is good (`auth.refresh_token_ttl_s`).
    ttl: Duration,
}

impl RefreshTokens {
    pub fn new(db: Db, ryw: ReadYourWrites, tokens: TokenService, ttl: Duration) -> Self {
        Self {
            db,
            ryw,
            tokens,
            ttl,
        }
    }

    fn ttl_s(&self) -> i64 {
        i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2)
    }

    /// Issues an access token and starts its refresh-token family. The insert is retried: a
    /// retry after a lost commit finds its token stored (`ON CONFLICT DO NOTHING`).
    pub async fn start(
        &self,
        user: &User,
        not_before: Option<i64>,
    ) -> Result<Session, ServiceError> {
        let family = random_hex(16);
        let access = self.tokens.issue(user, not_before, &family)?;
        let refresh_token = random_hex(32);
        let (user_id, started) = (user.id, access.issued_at);
        let ttl = self.ttl_s();
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
            refresh_expires_in: self.ttl,
        })
    }

    /// Exchanges a refresh token for a new access token and the next refresh token of its
    /// family. The presented token is used up; presenting it again ends the whole family
    /// (401 `refresh_token_reused`): a used token coming back means someone kept a copy.
    ///
    /// Not retried: a retry after a lost commit would present the used token again and end
    /// the family. A client whose refresh answer was lost logs in again.
    #[tracing::instrument(skip_all)]
    pub async fn exchange(&self, presented: &str) -> Result<(User, Session), ServiceError> {
        let next = random_hex(32);
        let ttl = self.ttl_s();
        let ryw = self.ryw.clone();
        let exchanged = self
            .db
            .write_once(|c| exchange(c, ryw.clone(), presented.to_owned(), next.clone(), ttl))
            .await?;
        let (user, family, started) = match exchanged {
            Exchanged::Next {
                user,
                family,
                started,
            } => (user, family, started),
            Exchanged::Reused { user_id, lsn } => {
                // Without the fence, the family's access tokens would pass a replica's check
                // until it replays the end.
                self.ryw.wrote(user_id, lsn.as_deref()).await;
                return Err(ServiceError::RefreshReused);
            }
        };
        // Not before the family's start: a family started by a password change starts a
        // second ahead (`change_password`), and an earlier `iat` would be refused.
        let access = self.tokens.issue(&user, Some(started), &family)?;
        tracing::info!(user_id = user.id, "access token refreshed");
        Ok((
            user,
            Session {
                access,
                refresh_token: next,
                refresh_expires_in: self.ttl,
            },
        ))
    }
}

/// What one attempt of [`RefreshTokens::exchange`] did.
enum Exchanged {
    /// Used the token up and stored the next: the account, the family and when it started.
    Next {
        user: User,
        family: String,
        started: i64,
    },
    /// The token was used before: its family is now ended (committed at `lsn`).
    Reused { user_id: i64, lsn: Option<String> },
}

/// One attempt of [`RefreshTokens::exchange`]: checks and uses up `presented`, stores `next` in
/// its family.
fn exchange(
    c: &mut Client,
    ryw: ReadYourWrites,
    presented: String,
    next: String,
    ttl_s: i64,
) -> DbFuture<'_, Exchanged, ServiceError> {
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
            return Ok(Exchanged::Reused {
                user_id: found.user_id,
                lsn: ryw.commit_position(c).await,
            });
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
        Ok(Exchanged::Next {
            user,
            family: found.family_id,
            started: found.family_started_at,
        })
    })
}
