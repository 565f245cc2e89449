//! Certificates: issued by staff to a buyer of a course, verified publicly by serial number.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::user::{Principal, StaffPosition};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Certificate {
    pub id: i64,
    /// Random, printed on the certificate; `GET /certificates/{serial_number}` verifies it.
    pub serial_number: String,
    pub user_id: i64,
    pub course_id: i64,
    pub course_title: String,
    pub issued_at: DateTime<Utc>,
}

/// Who issues certificates: admins and teachers.
pub fn may_issue(who: &Principal) -> bool {
    who.is_staff()
        && matches!(
            who.position,
            Some(StaffPosition::Admin | StaffPosition::Teacher)
        )
}

/// Serial numbers are UUID text; anything else cannot exist, so it is not looked up.
pub fn plausible_serial(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_uuid_like() {
        assert!(plausible_serial("0b4f5a8e-8d0c-4a47-9b0e-3f1b2d6c9a11"));
        assert!(!plausible_serial(""));
        assert!(!plausible_serial("a b"));
        assert!(!plausible_serial(&"a".repeat(65)));
    }
}
