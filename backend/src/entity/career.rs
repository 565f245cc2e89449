//! The career center: partner companies, graduates' career tracks and their job applications.
//!
//! `partner_companies.graduates_hired` counts the company's applications in status `hired`;
//! [`hired_delta`] says how a status change moves it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    user::{Principal, StaffPosition},
    validation::{FieldError, long_text, text},
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Company {
    pub id: i64,
    pub short_name: String,
    pub legal_name: String,
    /// Graduates hired through the career center (applications in status `hired`).
    pub graduates_hired: i32,
    pub requirements: String,
    /// `false` once the partnership ended; such companies take no new applications.
    pub agreement_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyForCreate {
    pub short_name: String,
    pub legal_name: String,
    pub requirements: String,
    pub agreement_active: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanyForUpdate {
    pub short_name: Option<String>,
    pub legal_name: Option<String>,
    pub requirements: Option<String>,
    pub agreement_active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CareerTrack {
    pub id: i64,
    pub user_id: i64,
    pub course_id: i64,
    pub course_title: String,
    /// Absent until the graduate uploads a resume.
    pub resume_url: Option<String>,
    pub support_start: NaiveDate,
    pub support_extended: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackForCreate {
    pub user_id: i64,
    pub course_id: i64,
    pub support_start: NaiveDate,
    pub resume_url: Option<String>,
}

/// Track changes: the graduate sets the resume, career staff extend the support.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackForUpdate {
    pub resume_url: Option<String>,
    pub support_extended: Option<bool>,
}

/// Where a job application stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Applied,
    Interview,
    Offer,
    Hired,
    Rejected,
}

impl ApplicationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Interview => "interview",
            Self::Offer => "offer",
            Self::Hired => "hired",
            Self::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "applied" => Self::Applied,
            "interview" => Self::Interview,
            "offer" => Self::Offer,
            "hired" => Self::Hired,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }
}

/// How a status change moves the company's `graduates_hired`: +1 into `hired`, -1 out of it.
pub fn hired_delta(from: ApplicationStatus, to: ApplicationStatus) -> i32 {
    use ApplicationStatus::Hired;
    match (from == Hired, to == Hired) {
        (false, true) => 1,
        (true, false) => -1,
        _ => 0,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobApplication {
    pub id: i64,
    pub career_track_id: i64,
    pub company_id: i64,
    /// The company's short name.
    pub company: String,
    pub applied_on: NaiveDate,
    pub status: ApplicationStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationForCreate {
    pub company_id: i64,
    /// `None`: today (the database's `current_date`).
    pub applied_on: Option<NaiveDate>,
}

/// Who runs the career center: admins and support staff.
pub fn may_manage(who: &Principal) -> bool {
    who.is_staff()
        && matches!(
            who.position,
            Some(StaffPosition::Admin | StaffPosition::Support)
        )
}

pub const SHORT_NAME_MAX: usize = 100;
pub const LEGAL_NAME_MAX: usize = 300;
pub const REQUIREMENTS_MAX: usize = 10_000;
/// Application and support dates: `YYYY-MM-DD` from 2000-01-01 to 2099-12-31.
pub const DATE_2000S_PATTERN: &str = "^20[0-9]{2}-";

pub fn short_name(input: &str) -> Result<String, FieldError> {
    text("short_name", input, SHORT_NAME_MAX)
}
pub fn legal_name(input: &str) -> Result<String, FieldError> {
    text("legal_name", input, LEGAL_NAME_MAX)
}
pub fn requirements(input: &str) -> Result<String, FieldError> {
    long_text("requirements", input, REQUIREMENTS_MAX)
}

/// Application dates are plausible calendar dates, not decades off.
pub fn applied_on(d: NaiveDate) -> Result<NaiveDate, FieldError> {
    let lo = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
    let hi = NaiveDate::from_ymd_opt(2100, 1, 1).unwrap_or_default();
    if d < lo || d >= hi {
        return Err(FieldError::new(
            "applied_on",
            "must be between 2000-01-01 and 2099-12-31",
        ));
    }
    Ok(d)
}

pub fn support_start(d: NaiveDate) -> Result<NaiveDate, FieldError> {
    applied_on(d).map_err(|e| FieldError::new("support_start", e.message))
}

#[cfg(test)]
mod tests {
    use super::{ApplicationStatus::*, *};

    #[test]
    fn only_moves_into_and_out_of_hired_change_the_count() {
        assert_eq!(hired_delta(Offer, Hired), 1);
        assert_eq!(hired_delta(Hired, Rejected), -1);
        assert_eq!(hired_delta(Hired, Hired), 0);
        assert_eq!(hired_delta(Applied, Interview), 0);
    }

    #[test]
    fn statuses_round_trip() {
        for s in [Applied, Interview, Offer, Hired, Rejected] {
            assert_eq!(ApplicationStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ApplicationStatus::parse("fired"), None);
    }
}
