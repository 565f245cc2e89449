//! Account administration SQL: the admin user list, role and position changes, deactivation,
//! and the lock that keeps at least one active admin.

use chrono::{DateTime, Utc};
use lyceum_db::DbError;
use tokio_postgres::{Row, types::ToSql};

use super::Queries;
use crate::entity::{
    account::{Account, AccountFilter, RoleAssignment},
    user::{Role, StaffPosition},
};

const ACCOUNT_COLUMNS: &str =
    "id, email, first_name, last_name, role, staff_position, deactivated_at, created_at";

/// SQL for account administration.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccountRepository;

impl AccountRepository {
    /// The active admins, locked until the transaction ends, so two admins who demote or
    /// deactivate each other at once cannot both pass the "another admin remains" check.
    /// Every change of this module takes this lock first, so they cannot deadlock.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn lock_active_admins(&self, c: &impl Queries) -> Result<Vec<i64>, DbError> {
        let rows = c
            .query(
                "SELECT id FROM users WHERE role = 'staff' AND staff_position = 'admin' \
                   AND deactivated_at IS NULL ORDER BY id FOR UPDATE",
                &[],
            )
            .await?;
        Ok(rows.iter().map(|r| r.get("id")).collect())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = id))]
    pub async fn find(&self, c: &impl Queries, id: i64) -> Result<Option<Account>, DbError> {
        let row = c
            .query_opt(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(account_from_row))
    }

    /// Sets the role and position; when they change, tokens issued before `valid_from` (Unix
    /// seconds) are refused, since a token names the role it was issued for. `None`: no such
    /// user.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = id))]
    pub async fn set_role(
        &self,
        c: &impl Queries,
        id: i64,
        to: RoleAssignment,
        valid_from: i64,
    ) -> Result<Option<Account>, DbError> {
        let row = c
            .query_opt(
                &format!(
                    "UPDATE users SET role = $2, staff_position = $3, \
                       tokens_valid_from = CASE \
                         WHEN role IS DISTINCT FROM $2 OR staff_position IS DISTINCT FROM $3 \
                         THEN to_timestamp($4::bigint) ELSE tokens_valid_from END \
                     WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}"
                ),
                &[
                    &id,
                    &to.role.as_str(),
                    &to.position.map(StaffPosition::as_str),
                    &valid_from,
                ],
            )
            .await?;
        Ok(row.as_ref().map(account_from_row))
    }

    /// Deactivates (tokens issued before `valid_from` stay refused after a reactivation) or
    /// reactivates an account; again is a no-op. `None`: no such user.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = id))]
    pub async fn set_active(
        &self,
        c: &impl Queries,
        id: i64,
        active: bool,
        valid_from: i64,
    ) -> Result<Option<Account>, DbError> {
        let sql = if active {
            format!(
                "UPDATE users SET deactivated_at = NULL WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}"
            )
        } else {
            format!(
                "UPDATE users SET deactivated_at = COALESCE(deactivated_at, now()), \
                   tokens_valid_from = CASE WHEN deactivated_at IS NULL \
                     THEN to_timestamp($2::bigint) ELSE tokens_valid_from END \
                 WHERE id = $1 RETURNING {ACCOUNT_COLUMNS}"
            )
        };
        let row = if active {
            c.query_opt(&sql, &[&id]).await?
        } else {
            c.query_opt(&sql, &[&id, &valid_from]).await?
        };
        Ok(row.as_ref().map(account_from_row))
    }

    /// One page of users, oldest first (`page_size + 1` rows, see `page_of`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list(
        &self,
        c: &impl Queries,
        filter: &AccountFilter,
    ) -> Result<Vec<Account>, DbError> {
        let role = filter.role.map(Role::as_str);
        let position = filter.position.map(StaffPosition::as_str);
        let limit = i64::from(filter.page.page_size) + 1;
        let offset = filter.page.offset();
        // Only the filters given, each written out: `role = $1 AND staff_position = $2` is a
        // range of users_role_position_id_idx in id order, and a literal `deactivated_at IS
        // NOT NULL` matches the partial users_deactivated_id_idx (migration V12). The old
        // catch-all form (`$1 IS NULL OR role = $1`) read every user for a rare match.
        let mut conditions = vec!["true".to_owned()];
        let mut params: Vec<&(dyn ToSql + Sync)> = Vec::new();
        if let Some(role) = &role {
            params.push(role);
            conditions.push(format!("role = ${}", params.len()));
        }
        if let Some(position) = &position {
            params.push(position);
            conditions.push(format!("staff_position = ${}", params.len()));
        }
        let email_pattern = filter.email.as_deref().map(contains_pattern);
        if let Some(pattern) = &email_pattern {
            // LIKE on lower(email), which users_email_trgm_idx (V12) serves; the search
            // string's own `%`, `_` and `\` are escaped to stay plain characters.
            params.push(pattern);
            conditions.push(format!("lower(email) LIKE lower(${})", params.len()));
        }
        match filter.active {
            Some(true) => conditions.push("deactivated_at IS NULL".into()),
            Some(false) => conditions.push("deactivated_at IS NOT NULL".into()),
            None => {}
        }
        params.push(&limit);
        params.push(&offset);
        let n = params.len();
        let rows = c
            .query(
                &format!(
                    "SELECT {ACCOUNT_COLUMNS} FROM users WHERE {} ORDER BY id LIMIT ${} OFFSET ${}",
                    conditions.join(" AND "),
                    n - 1,
                    n
                ),
                &params,
            )
            .await?;
        Ok(rows.iter().map(account_from_row).collect())
    }
}

/// A LIKE pattern matching `text` anywhere, with LIKE's special characters taken literally.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

fn account_from_row(r: &Row) -> Account {
    let role: String = r.get("role");
    let position: Option<String> = r.get("staff_position");
    let deactivated_at: Option<DateTime<Utc>> = r.get("deactivated_at");
    Account {
        id: r.get("id"),
        email: r.get("email"),
        first_name: r.get("first_name"),
        last_name: r.get("last_name"),
        // The CHECK constraints admit only these values.
        role: Role::parse(&role).unwrap_or(Role::Student),
        staff_position: position.as_deref().and_then(StaffPosition::parse),
        active: deactivated_at.is_none(),
        deactivated_at,
        created_at: r.get("created_at"),
    }
}

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn a_search_string_is_matched_literally_anywhere() {
        assert_eq!(contains_pattern("ann"), "%ann%");
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
