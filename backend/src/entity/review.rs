//! Course reviews: one per buyer and course, rating 1–5 with an optional text.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    user::{Principal, StaffPosition},
    validation::{FieldError, in_range, long_text},
};

/// Longest review text (the schema's `reviews_body_length`).
pub const MAX_BODY_CHARS: usize = 10_000;
/// Ratings are 1 to this many stars.
pub const MAX_RATING: i32 = 5;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Review {
    pub id: i64,
    pub course_id: i64,
    pub user_id: i64,
    /// The author's first and last name.
    pub author_name: String,
    /// 1 to 5 stars.
    pub rating: i16,
    /// May be empty.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A valid new review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewForCreate {
    pub rating: i16,
    pub body: String,
}

/// Review changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewForUpdate {
    pub rating: Option<i16>,
    pub body: Option<String>,
}

pub fn rating(v: i32) -> Result<i16, FieldError> {
    in_range("rating", v, 1, MAX_RATING).map(|v| v as i16)
}

pub fn body(input: &str) -> Result<String, FieldError> {
    long_text("body", input, MAX_BODY_CHARS)
}

/// Only the author edits a review; the author or an admin (moderation) deletes it.
pub fn may_delete(author_id: i64, who: &Principal) -> bool {
    author_id == who.user_id || (who.is_staff() && who.position == Some(StaffPosition::Admin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::user::Role;

    #[test]
    fn ratings_are_one_to_five() {
        assert!(rating(0).is_err() && rating(6).is_err());
        assert_eq!(rating(5), Ok(5));
    }

    #[test]
    fn authors_and_admins_delete() {
        let student = Principal {
            user_id: 1,
            role: Role::Student,
            position: None,
        };
        let admin = Principal {
            user_id: 2,
            role: Role::Staff,
            position: Some(StaffPosition::Admin),
        };
        let smm = Principal {
            user_id: 3,
            role: Role::Staff,
            position: Some(StaffPosition::Smm),
        };
        assert!(may_delete(1, &student));
        assert!(!may_delete(9, &student));
        assert!(may_delete(9, &admin));
        assert!(!may_delete(9, &smm));
    }
}
