//! Staff reports: top courses, revenue by month and specialization, employment by course and
//! company, learning (review turnaround and completion) by course. Parameters are parsed
//! here; the figures come from SQL.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::validation::{FieldError, ValidationErrors, in_range};

/// The answer of every report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Report<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TopCourse {
    pub course_id: i64,
    pub title: String,
    /// Mean of the course's review ratings; absent without reviews.
    pub average_rating: Option<f64>,
    pub review_count: i64,
    /// Distinct users with a `paid` purchase of any run of the course.
    pub buyers: i64,
    /// Distinct workplaces of the course's teachers, alphabetical.
    pub teacher_workplaces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RevenueRow {
    /// `YYYY-MM` of `paid_at` (UTC).
    pub month: String,
    pub specialization_id: i32,
    pub specialization: String,
    /// Sum of `final_price` (minor units) of purchases in status `paid`.
    pub revenue: i64,
    /// How many purchases that sum covers.
    pub purchases: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EmploymentRow {
    pub course_id: i64,
    pub course_title: String,
    pub company_id: i64,
    /// The company's short name.
    pub company: String,
    /// Job applications in status `hired` of this course's career tracks at this company.
    pub hired: i64,
}

/// One course's learning: how fast its submissions are reviewed and how many of its students
/// complete it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LearningRow {
    pub course_id: i64,
    pub title: String,
    /// Submissions of the course accepted or returned so far.
    pub decisions: i64,
    /// Median seconds from submission to decision, read from a histogram whose buckets grow
    /// by 2^(1/8): at most 9 % above the exact median.
    pub turnaround_p50_s: f64,
    /// The 90th percentile, read the same way.
    pub turnaround_p90_s: f64,
    /// Distinct users with a `paid` purchase of any run of the course.
    pub enrolled: i64,
    /// Enrolled students holding the course's certificate.
    pub graduates: i64,
    /// `graduates / enrolled`, 0 to 1; absent while nobody is enrolled.
    pub completion_rate: Option<f64>,
}

/// Buckets per doubling of the review turnaround histogram (`review_turnaround_bucket` in
/// migration V9).
pub const TURNAROUND_BUCKETS_PER_DOUBLING: f64 = 8.0;

/// The upper bound, in seconds, of the turnarounds counted in `bucket`.
pub fn turnaround_bucket_seconds(bucket: i16) -> f64 {
    let exact = 2f64.powf(f64::from(bucket) / TURNAROUND_BUCKETS_PER_DOUBLING);
    (exact * 10.0).round() / 10.0
}

/// Graduates per enrolled student; `None` while nobody is enrolled.
pub fn completion_rate(graduates: i64, enrolled: i64) -> Option<f64> {
    (enrolled > 0).then(|| graduates as f64 / enrolled as f64)
}

pub const TOP_COURSES_MAX: u32 = 100;
pub const LEARNING_COURSES_MAX: u32 = 100;
pub const EMPLOYMENT_ROWS_MAX: u32 = 1000;
/// Report months: `YYYY-MM`, years 2000 to 2999.
pub const MONTH_YEAR_MIN: i32 = 2000;
pub const MONTH_YEAR_MAX: i32 = 2999;
pub const MONTH_PATTERN: &str = "^2[0-9]{3}-(0[1-9]|1[0-2])$";

/// Query string of the top-courses report.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TopCoursesParams {
    /// How many courses, 1 to 100 (default 10).
    pub limit: Option<u32>,
}

/// A report's `limit`: `default` when absent, else 1 to `max`.
fn limit_param(limit: Option<u32>, default: u32, max: u32) -> Result<u32, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let limit = errors.take(in_range("limit", limit.unwrap_or(default), 1, max));
    errors.finish(|| limit.unwrap_or(default))
}

pub fn top_limit(p: TopCoursesParams) -> Result<u32, ValidationErrors> {
    limit_param(p.limit, 10, TOP_COURSES_MAX)
}

/// Query string of the learning report.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LearningParams {
    /// How many courses, most decisions first: 1 to 100 (default 20).
    pub limit: Option<u32>,
}

pub fn learning_limit(p: LearningParams) -> Result<u32, ValidationErrors> {
    limit_param(p.limit, 20, LEARNING_COURSES_MAX)
}

/// Query string of the employment report.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EmploymentParams {
    /// How many (course, company) rows, most hires first: 1 to 1000 (default 100). The full
    /// report grows with courses × companies (3 762 rows, 437 kB at seeder scale 5).
    pub limit: Option<u32>,
}

pub fn employment_limit(p: EmploymentParams) -> Result<u32, ValidationErrors> {
    limit_param(p.limit, 100, EMPLOYMENT_ROWS_MAX)
}

/// Query string of the revenue report.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RevenueParams {
    /// First month, `YYYY-MM` (default: 11 months before `to`).
    pub from: Option<String>,
    /// Last month, `YYYY-MM`, inclusive (default: the current month).
    pub to: Option<String>,
}

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    pub fn of(date: NaiveDate) -> Self {
        Self {
            year: date.year(),
            month: date.month(),
        }
    }

    /// `YYYY-MM`, years 2000 to 2999.
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new(field, "must be a month like 2026-03");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(MONTH_YEAR_MIN..=MONTH_YEAR_MAX).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Self { year, month })
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or_default()
    }

    /// Months since year 0, for arithmetic.
    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }

    fn from_index(i: i64) -> Self {
        Self {
            year: i.div_euclid(12) as i32,
            month: i.rem_euclid(12) as u32 + 1,
        }
    }

    pub fn plus(self, months: i64) -> Self {
        Self::from_index(self.index() + months)
    }

    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// At most ten years in one revenue report.
pub const MAX_REVENUE_MONTHS: i64 = 120;

/// A valid month range, both ends inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevenueRange {
    pub from: Month,
    pub to: Month,
}

impl RevenueRange {
    /// `today` gives the defaults (the 12 months up to and including the current one).
    pub fn parse(p: RevenueParams, today: NaiveDate) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let to = errors.take_opt(p.to, |s| Month::parse("to", &s));
        let from = errors.take_opt(p.from, |s| Month::parse("from", &s));
        if !errors.is_empty() {
            return Err(errors);
        }
        let to = to.unwrap_or_else(|| Month::of(today));
        let from = from.unwrap_or_else(|| to.plus(-11));
        if from > to {
            errors.push("from", "must not be after to");
        } else if to.index() - from.index() + 1 > MAX_REVENUE_MONTHS {
            errors.push(
                "to",
                format!("at most {MAX_REVENUE_MONTHS} months per report"),
            );
        }
        errors.finish(|| Self { from, to })
    }

    /// First day of `from`, and the first day after `to` (exclusive end).
    pub fn bounds(self) -> (NaiveDate, NaiveDate) {
        (self.from.first_day(), self.to.plus(1).first_day())
    }

    pub fn cache_field(self) -> String {
        format!("revenue:{}:{}", self.from.label(), self.to.label())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn turnaround_buckets_double_every_eight() {
        assert_eq!(turnaround_bucket_seconds(0), 1.0);
        assert_eq!(turnaround_bucket_seconds(8), 2.0);
        assert_eq!(turnaround_bucket_seconds(80), 1024.0);
        // One bucket up is at most 9 % more.
        assert_eq!(turnaround_bucket_seconds(1), 1.1);
    }

    #[test]
    fn completion_needs_someone_enrolled() {
        assert_eq!(completion_rate(0, 0), None);
        assert_eq!(completion_rate(1, 4), Some(0.25));
    }

    #[test]
    fn months_parse_strictly() {
        assert_eq!(
            Month::parse("from", "2026-03"),
            Ok(Month {
                year: 2026,
                month: 3
            })
        );
        for bad in ["2026-3", "2026-13", "26-03", "2026/03", "abcd-ef", ""] {
            assert!(Month::parse("from", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_default_range_is_the_last_twelve_months() {
        let r = RevenueRange::parse(RevenueParams::default(), day(2026, 2, 14)).expect("valid");
        assert_eq!(r.from.label(), "2025-03");
        assert_eq!(r.to.label(), "2026-02");
        assert_eq!(r.bounds(), (day(2025, 3, 1), day(2026, 3, 1)));
    }

    #[test]
    fn ranges_are_ordered_and_bounded() {
        let p = |f: &str, t: &str| RevenueParams {
            from: Some(f.into()),
            to: Some(t.into()),
        };
        assert!(RevenueRange::parse(p("2026-05", "2026-04"), day(2026, 1, 1)).is_err());
        assert!(RevenueRange::parse(p("2000-01", "2026-04"), day(2026, 1, 1)).is_err());
        let r = RevenueRange::parse(p("2025-12", "2025-12"), day(2026, 1, 1)).expect("one month");
        assert_eq!(r.bounds(), (day(2025, 12, 1), day(2026, 1, 1)));
    }
}
