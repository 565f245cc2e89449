//! `users` rows: registration, lookup by email (through the `lower(email)` index), profile edits.

use lyceum_db::DbError;
use tokio_postgres::Row;

use super::Queries;
use crate::entity::user::{Email, Role, StaffPosition, User, UserForCreate, UserForUpdate};

const USER_COLUMNS: &str = "id, email, first_name, last_name, birth_date, phone, photo_url, \
     national_id, role, staff_position, created_at, updated_at";

/// SQL for `users`.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserRepository;

/// A user with the stored password hash, for login only.
#[derive(Debug)]
pub struct UserWithHash {
    pub user: User,
    pub password_hash: String,
    /// Tokens issued before this (Unix seconds) are refused: the last password change.
    pub tokens_valid_from: Option<i64>,
    /// An admin switched the account off: login is refused.
    pub deactivated: bool,
}

impl UserRepository {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert(
        &self,
        c: &impl Queries,
        new: &UserForCreate,
        password_hash: &str,
    ) -> Result<User, DbError> {
        let row = c
            .query_one(
                &format!(
                    "INSERT INTO users (email, password_hash, first_name, last_name, birth_date, \
                     phone, photo_url, national_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     RETURNING {USER_COLUMNS}"
                ),
                &[
                    &new.email.as_str(),
                    &password_hash,
                    &new.first_name,
                    &new.last_name,
                    &new.birth_date,
                    &new.phone,
                    &new.photo_url,
                    &new.national_id,
                ],
            )
            .await?;
        Ok(user_from_row(&row))
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_by_email(
        &self,
        c: &impl Queries,
        email: &str,
    ) -> Result<Option<UserWithHash>, DbError> {
        let row = c
            .query_opt(
                &format!(
                    "SELECT {USER_COLUMNS}, password_hash, \
                     extract(epoch FROM tokens_valid_from)::bigint AS tokens_valid_from, \
                     deactivated_at IS NOT NULL AS deactivated \
                     FROM users WHERE lower(email) = lower($1)"
                ),
                &[&email],
            )
            .await?;
        Ok(row.map(|r| UserWithHash {
            user: user_from_row(&r),
            password_hash: r.get("password_hash"),
            tokens_valid_from: r.get("tokens_valid_from"),
            deactivated: r.get("deactivated"),
        }))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(user_id = id))]
    pub async fn find_by_id(&self, c: &impl Queries, id: i64) -> Result<Option<User>, DbError> {
        let row = c
            .query_opt(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(user_from_row))
    }

    /// Gives the account a new sign-in address; `None` when the user does not exist. A
    /// unique violation (`users_email_lower_key`, ignoring case) is the caller's `email_taken`.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = id))]
    pub async fn set_email(
        &self,
        c: &impl Queries,
        id: i64,
        email: &Email,
    ) -> Result<Option<User>, DbError> {
        let row = c
            .query_opt(
                &format!("UPDATE users SET email = $2 WHERE id = $1 RETURNING {USER_COLUMNS}"),
                &[&id, &email.as_str()],
            )
            .await?;
        Ok(row.as_ref().map(user_from_row))
    }

    /// Applies the given changes; `None` when the user does not exist.
    #[tracing::instrument(level = "debug", skip_all, fields(user_id = id))]
    pub async fn update(
        &self,
        c: &impl Queries,
        id: i64,
        changes: &UserForUpdate,
    ) -> Result<Option<User>, DbError> {
        let row = c
            .query_opt(
                &format!(
                    "UPDATE users SET \
                       first_name  = COALESCE($2, first_name), \
                       last_name   = COALESCE($3, last_name), \
                       birth_date  = COALESCE($4, birth_date), \
                       phone       = COALESCE($5, phone), \
                       photo_url   = COALESCE($6, photo_url), \
                       national_id = COALESCE($7, national_id) \
                     WHERE id = $1 RETURNING {USER_COLUMNS}"
                ),
                &[
                    &id,
                    &changes.first_name,
                    &changes.last_name,
                    &changes.birth_date,
                    &changes.phone,
                    &changes.photo_url,
                    &changes.national_id,
                ],
            )
            .await?;
        Ok(row.as_ref().map(user_from_row))
    }
}

fn user_from_row(r: &Row) -> User {
    let role: String = r.get("role");
    let position: Option<String> = r.get("staff_position");
    User {
        id: r.get("id"),
        email: r.get("email"),
        first_name: r.get("first_name"),
        last_name: r.get("last_name"),
        birth_date: r.get("birth_date"),
        phone: r.get("phone"),
        photo_url: r.get("photo_url"),
        national_id: r.get("national_id"),
        // The CHECK constraints admit only these values; anything else would be a schema change.
        role: Role::parse(&role).unwrap_or(Role::Student),
        staff_position: position.as_deref().and_then(StaffPosition::parse),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}
