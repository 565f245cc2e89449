//! Account administration: a user as an admin sees them, role assignments (a position exactly
//! when the role is staff) and the filters of the user list.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::page::PageRequest;
use super::user::{Email, Role, StaffPosition};

/// Longest email search string: an email address's own limit.
pub const EMAIL_SEARCH_MAX: usize = Email::MAX_LEN;

/// A user as the admin list shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Role,
    /// Set exactly when `role` is `staff`.
    pub staff_position: Option<StaffPosition>,
    /// False once deactivated: login is refused and every token of the account is dead.
    pub active: bool,
    pub deactivated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A role with the position it needs: staff have one, students none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleAssignment {
    pub role: Role,
    pub position: Option<StaffPosition>,
}

impl RoleAssignment {
    /// `None` when the position does not fit the role (staff without one, a student with one).
    pub fn parse(role: Role, position: Option<StaffPosition>) -> Option<Self> {
        match (role, position) {
            (Role::Staff, Some(_)) | (Role::Student, None) => Some(Self { role, position }),
            _ => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.position == Some(StaffPosition::Admin)
    }
}

/// The user list's filters; `email` matches any part of the address, ignoring case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFilter {
    pub role: Option<Role>,
    pub position: Option<StaffPosition>,
    pub email: Option<String>,
    pub active: Option<bool>,
    pub page: PageRequest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_exactly_when_staff() {
        assert!(RoleAssignment::parse(Role::Staff, Some(StaffPosition::Mentor)).is_some());
        assert!(RoleAssignment::parse(Role::Student, None).is_some());
        assert!(RoleAssignment::parse(Role::Staff, None).is_none());
        assert!(RoleAssignment::parse(Role::Student, Some(StaffPosition::Admin)).is_none());
    }
}
