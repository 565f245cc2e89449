//! Access-token revocation: the logged-out tokens (`revoked_tokens`) and the instant before
//! which a user's tokens are refused (`users.tokens_valid_from`, set with a new password, a
//! role change or a deactivation); a deactivated account's tokens are all refused.
//! Times are the tokens' own `iat` / `exp` claims, in Unix seconds.

use lyceum_db::DbError;

use super::Queries;

/// SQL for token revocation.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionRepository;

impl SessionRepository {
    /// Whether a token of `user_id` issued at `issued_at` with this signature, of refresh
    /// family `session`, is still good (and the account active, and the family not ended by
    /// log out or reuse): `None` when the user no longer exists (or is not on this server yet).
    #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
    pub async fn token_valid(
        &self,
        c: &impl Queries,
        user_id: i64,
        issued_at: i64,
        signature: &str,
        session: Option<&str>,
    ) -> Result<Option<bool>, DbError> {
        let row = c
            .query_opt(
                "SELECT u.deactivated_at IS NULL \
                        AND (u.tokens_valid_from IS NULL OR to_timestamp($2::bigint) >= u.tokens_valid_from) \
                        AND NOT EXISTS (SELECT 1 FROM revoked_tokens t WHERE t.signature = $3) \
                        AND NOT EXISTS (SELECT 1 FROM refresh_tokens r \
                                         WHERE r.family_id = $4 AND r.revoked_at IS NOT NULL) AS valid \
                   FROM users u WHERE u.id = $1",
                &[&user_id, &issued_at, &signature, &session],
            )
            .await?;
        Ok(row.map(|r| r.get("valid")))
    }

    /// Revokes one token until it expires (again: nothing changes), and forgets this user's
    /// revocations of tokens that have expired since.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
    pub async fn revoke(
        &self,
        c: &impl Queries,
        user_id: i64,
        signature: &str,
        expires_at: i64,
    ) -> Result<(), DbError> {
        c.execute(
            "INSERT INTO revoked_tokens (signature, user_id, expires_at) \
             VALUES ($1, $2, to_timestamp($3::bigint)) ON CONFLICT (signature) DO NOTHING",
            &[&signature, &user_id, &expires_at],
        )
        .await?;
        c.execute(
            "DELETE FROM revoked_tokens WHERE user_id = $1 AND expires_at < now()",
            &[&user_id],
        )
        .await?;
        Ok(())
    }

    /// Stores a new password hash and refuses every token issued before `valid_from`;
    /// `false` when the user does not exist.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
    pub async fn set_password(
        &self,
        c: &impl Queries,
        user_id: i64,
        password_hash: &str,
        valid_from: i64,
    ) -> Result<bool, DbError> {
        let changed = c
            .execute(
                "UPDATE users SET password_hash = $2, tokens_valid_from = to_timestamp($3::bigint) \
                 WHERE id = $1",
                &[&user_id, &password_hash, &valid_from],
            )
            .await?;
        Ok(changed == 1)
    }
}
