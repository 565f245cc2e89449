//! Role checks against the database: a token names the caller's role as it was at login, but
//! positions change while tokens live on, so every write that a role decides re-reads it
//! inside its own transaction.

use super::ServiceError;
use crate::{
    entity::user::Principal,
    repository::{Queries, user::UserRepository},
};

/// The caller as the database has them now; `AccountGone` when the account was deleted.
pub async fn current_principal(
    c: &impl Queries,
    who: Principal,
) -> Result<Principal, ServiceError> {
    match UserRepository.find_by_id(c, who.user_id).await? {
        Some(user) => Ok(user.principal()),
        None => Err(ServiceError::AccountGone),
    }
}

/// The caller as the database has them, if `allowed` still holds; else 403 with `refusal`.
pub async fn require(
    c: &impl Queries,
    who: Principal,
    allowed: fn(&Principal) -> bool,
    refusal: &'static str,
) -> Result<Principal, ServiceError> {
    let now = current_principal(c, who).await?;
    if allowed(&now) {
        Ok(now)
    } else {
        Err(ServiceError::Denied(refusal))
    }
}
