//! People: accounts, roles, and the rules their fields follow.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::validation::{FieldError, text, url};

pub const PERSON_NAME_MAX: usize = 100;
pub const NATIONAL_ID_MAX: usize = 64;
/// A phone number has 5 to 20 digits in at most 32 characters.
pub const PHONE_DIGITS_MIN: usize = 5;
pub const PHONE_DIGITS_MAX: usize = 20;
pub const PHONE_MAX: usize = 32;
/// Phone punctuation besides the digits.
pub const PHONE_PUNCTUATION: &str = " +-.()";

/// Student (the default) or staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Student,
    Staff,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Student => "student",
            Self::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "student" => Some(Self::Student),
            "staff" => Some(Self::Staff),
            _ => None,
        }
    }
}

/// What a staff member does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaffPosition {
    Teacher,
    Mentor,
    Reviewer,
    Support,
    Smm,
    Admin,
}

impl StaffPosition {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Teacher => "teacher",
            Self::Mentor => "mentor",
            Self::Reviewer => "reviewer",
            Self::Support => "support",
            Self::Smm => "smm",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "teacher" => Self::Teacher,
            "mentor" => Self::Mentor,
            "reviewer" => Self::Reviewer,
            "support" => Self::Support,
            "smm" => Self::Smm,
            "admin" => Self::Admin,
            _ => return None,
        })
    }

    /// Who may create, change and delete courses, topics and runs: admins and teachers.
    /// Mentors, reviewers, support and the blog team work with the catalog but do not own it.
    pub fn can_edit_catalog(self) -> bool {
        matches!(self, Self::Admin | Self::Teacher)
    }

    /// Who may see any buyer's purchases and refund them: admins and support.
    pub fn can_manage_purchases(self) -> bool {
        matches!(self, Self::Admin | Self::Support)
    }

    /// Who may create, change and delete specializations and difficulty levels: admins only
    /// (every course and teacher profile shows them).
    pub fn can_edit_lookups(self) -> bool {
        matches!(self, Self::Admin)
    }

    /// Who may create staff accounts, change roles and positions, and deactivate accounts:
    /// admins only.
    pub fn can_manage_accounts(self) -> bool {
        matches!(self, Self::Admin)
    }

    /// Who may assign and remove any course's teachers, mentors and reviewers: admins (a
    /// course's own teachers manage its mentors and reviewers, `course_staff::may_manage`).
    pub fn can_manage_course_staff(self) -> bool {
        matches!(self, Self::Admin)
    }
}

/// The authenticated caller, as proven by their access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub user_id: i64,
    pub role: Role,
    pub position: Option<StaffPosition>,
}

impl Principal {
    pub fn is_staff(&self) -> bool {
        self.role == Role::Staff
    }

    pub fn can_edit_catalog(&self) -> bool {
        self.role == Role::Staff && self.position.is_some_and(StaffPosition::can_edit_catalog)
    }

    pub fn can_manage_purchases(&self) -> bool {
        self.role == Role::Staff
            && self
                .position
                .is_some_and(StaffPosition::can_manage_purchases)
    }

    pub fn can_edit_lookups(&self) -> bool {
        self.role == Role::Staff && self.position.is_some_and(StaffPosition::can_edit_lookups)
    }

    pub fn can_manage_accounts(&self) -> bool {
        self.role == Role::Staff
            && self
                .position
                .is_some_and(StaffPosition::can_manage_accounts)
    }

    pub fn can_manage_course_staff(&self) -> bool {
        self.role == Role::Staff
            && self
                .position
                .is_some_and(StaffPosition::can_manage_course_staff)
    }
}

/// An email address as the database accepts it: one `@`, no whitespace, at most 254 characters.
/// Uniqueness ignores case; the address is stored as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Characters, after trimming.
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let s = input.trim();
        let bad = || FieldError::new("email", "must be an email address like name@example.com");
        if s.chars().count() > Self::MAX_LEN || s.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = s.split_once('@').ok_or_else(bad)?;
        if local.is_empty() || domain.is_empty() || domain.contains('@') || !domain.contains('.') {
            return Err(bad());
        }
        Ok(Self(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8 to 128 characters. Its `Debug` output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 128;

    pub fn parse(input: &str) -> Result<Self, FieldError> {
        let n = input.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&n) {
            return Err(FieldError::new(
                "password",
                format!("must be {} to {} characters", Self::MIN, Self::MAX),
            ));
        }
        Ok(Self(input.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

pub fn person_name(field: &str, input: &str) -> Result<String, FieldError> {
    text(field, input, PERSON_NAME_MAX)
}

/// A birth date on or after 1900-01-01 and not after `today`.
pub fn birth_date(input: NaiveDate, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
    if input < earliest || input > today {
        return Err(FieldError::new(
            "birth_date",
            "must be between 1900-01-01 and today",
        ));
    }
    Ok(input)
}

/// A phone number: digits with optional `+`, spaces, dashes, dots and parentheses.
pub fn phone(input: &str) -> Result<String, FieldError> {
    let s = input.trim();
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let allowed = s
        .chars()
        .all(|c| c.is_ascii_digit() || PHONE_PUNCTUATION.contains(c));
    if !allowed || !(PHONE_DIGITS_MIN..=PHONE_DIGITS_MAX).contains(&digits) || s.len() > PHONE_MAX {
        return Err(FieldError::new(
            "phone",
            "must be a phone number (5 to 20 digits, + - . ( ) and spaces allowed)",
        ));
    }
    Ok(s.to_string())
}

pub fn photo_url(input: &str) -> Result<String, FieldError> {
    url("photo_url", input)
}

pub fn national_id(input: &str) -> Result<String, FieldError> {
    text("national_id", input, NATIONAL_ID_MAX)
}

/// A user as they see themselves (`GET /me`). The password hash never leaves the repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub photo_url: Option<String>,
    pub national_id: Option<String>,
    pub role: Role,
    /// Set exactly when `role` is `staff`.
    pub staff_position: Option<StaffPosition>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.id,
            role: self.role,
            position: self.staff_position,
        }
    }
}

/// A valid registration; the password is hashed before it reaches the repository.
#[derive(Debug, Clone)]
pub struct UserForCreate {
    pub email: Email,
    pub password: Password,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub phone: Option<String>,
    pub photo_url: Option<String>,
    pub national_id: Option<String>,
}

/// Profile changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct UserForUpdate {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub photo_url: Option<String>,
    pub national_id: Option<String>,
}

impl UserForUpdate {
    pub fn is_empty(&self) -> bool {
        self.first_name.is_none()
            && self.last_name.is_none()
            && self.birth_date.is_none()
            && self.phone.is_none()
            && self.photo_url.is_none()
            && self.national_id.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_follow_the_database_rule() {
        assert!(Email::parse("Ada@Example.com").is_ok());
        assert!(Email::parse("  ada@example.com ").is_ok());
        for bad in [
            "",
            "ada",
            "a@b@c.com",
            "a b@c.com",
            "@c.com",
            "a@",
            "a@localhost",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_bounded_and_never_shown() {
        assert!(Password::parse("short").is_err());
        let p = Password::parse("correct horse").expect("valid");
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn birth_dates_in_the_future_are_rejected() {
        let today = NaiveDate::from_ymd_opt(2025, 6, 1).expect("date");
        assert!(birth_date(NaiveDate::from_ymd_opt(2000, 1, 1).expect("date"), today).is_ok());
        assert!(birth_date(NaiveDate::from_ymd_opt(2025, 6, 2).expect("date"), today).is_err());
        assert!(birth_date(NaiveDate::from_ymd_opt(1899, 12, 31).expect("date"), today).is_err());
    }

    #[test]
    fn only_admins_and_teachers_edit_the_catalog() {
        let staff = |p| Principal {
            user_id: 1,
            role: Role::Staff,
            position: Some(p),
        };
        assert!(staff(StaffPosition::Admin).can_edit_catalog());
        assert!(staff(StaffPosition::Teacher).can_edit_catalog());
        assert!(!staff(StaffPosition::Smm).can_edit_catalog());
        let student = Principal {
            user_id: 2,
            role: Role::Student,
            position: None,
        };
        assert!(!student.can_edit_catalog());
    }
}
