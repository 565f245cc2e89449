//! Refresh tokens (`refresh_tokens`): families of single-use tokens, stored as SHA-256 hashes
//! (computed by PostgreSQL, so the token itself never reaches a table or a log). Each
//! function runs in the use case's transaction; times in and out are Unix seconds.

use lyceum_db::DbError;

use super::Queries;

/// The stored facts about a presented refresh token, locked for the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedRefresh {
    pub family_id: String,
    pub user_id: i64,
    pub family_started_at: i64,
    pub expired: bool,
    /// Exchanged before: presenting it again is reuse.
    pub used: bool,
    /// Its family was ended (reuse, log out).
    pub revoked: bool,
    /// The account is active and its tokens since `family_started_at` are valid (no password
    /// change, role change or deactivation since).
    pub account_valid: bool,
}

/// SQL for refresh tokens.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefreshTokenRepository;

const HASH: &str = "sha256(convert_to($1, 'UTF8'))";

impl RefreshTokenRepository {
    /// Stores `token` as the next token of `family_id`, valid for `ttl_s` seconds.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
    pub async fn insert(
        &self,
        c: &impl Queries,
        token: &str,
        family_id: &str,
        user_id: i64,
        family_started_at: i64,
        ttl_s: i64,
    ) -> Result<(), DbError> {
        c.execute(
            &format!(
                "INSERT INTO refresh_tokens \
                   (token_hash, family_id, user_id, family_started_at, expires_at) \
                 VALUES ({HASH}, $2, $3, to_timestamp($4::bigint), \
                         now() + $5::bigint * interval '1 second') \
                 ON CONFLICT (token_hash) DO NOTHING"
            ),
            &[&token, &family_id, &user_id, &family_started_at, &ttl_s],
        )
        .await?;
        Ok(())
    }

    /// The presented token's row, locked until the exchange commits (two exchanges of one
    /// token take turns, so the second sees the first's `used_at`); `None`: unknown token.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lock(
        &self,
        c: &impl Queries,
        token: &str,
    ) -> Result<Option<PresentedRefresh>, DbError> {
        let row = c
            .query_opt(
                &format!(
                    "SELECT r.family_id, r.user_id, \
                            extract(epoch FROM r.family_started_at)::bigint AS family_started_at, \
                            r.expires_at < now() AS expired, r.used_at IS NOT NULL AS used, \
                            r.revoked_at IS NOT NULL AS revoked, \
                            u.deactivated_at IS NULL AND (u.tokens_valid_from IS NULL \
                              OR r.family_started_at >= u.tokens_valid_from) AS account_valid \
                       FROM refresh_tokens r JOIN users u ON u.id = r.user_id \
                      WHERE r.token_hash = {HASH} FOR UPDATE OF r"
                ),
                &[&token],
            )
            .await?;
        Ok(row.map(|r| PresentedRefresh {
            family_id: r.get("family_id"),
            user_id: r.get("user_id"),
            family_started_at: r.get("family_started_at"),
            expired: r.get("expired"),
            used: r.get("used"),
            revoked: r.get("revoked"),
            account_valid: r.get("account_valid"),
        }))
    }

    /// Marks the token exchanged.
    pub async fn mark_used(&self, c: &impl Queries, token: &str) -> Result<(), DbError> {
        c.execute(
            &format!("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = {HASH}"),
            &[&token],
        )
        .await?;
        Ok(())
    }

    /// Ends every token of `user_id`'s family `family_id` (again: nothing changes), and
    /// forgets the user's tokens that have expired.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id))]
    pub async fn end_family(
        &self,
        c: &impl Queries,
        family_id: &str,
        user_id: i64,
    ) -> Result<(), DbError> {
        c.execute(
            "UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, now()) \
             WHERE family_id = $1 AND user_id = $2",
            &[&family_id, &user_id],
        )
        .await?;
        c.execute(
            "DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at < now()",
            &[&user_id],
        )
        .await?;
        Ok(())
    }
}
