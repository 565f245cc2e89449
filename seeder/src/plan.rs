//! What a run produces: the parameters that identify a data set and the row counts per scale.
//!
//! Scale 1 is a small online school: 10 000 users (1.5 % staff), 100 courses, 50 000
//! purchases, 50 partner companies and 300 blog posts. Every count that the scale drives
//! grows linearly with it; lookup-like tables (12 specializations, 60 tags) do not grow.

use chrono::{NaiveDate, NaiveTime};

/// Bump when generation changes in a way that alters the rows: a database seeded by an
/// older version is then refused instead of being completed with mismatching rows.
pub const DATA_VERSION: i32 = 3;

/// The default "now" of the generated world; every timestamp is at or before it,
/// except scheduled blog posts and future course runs.
pub const DEFAULT_ANCHOR: &str = "2026-11-01";

/// The platform's history before the anchor, in days (four years).
pub const HISTORY_DAYS: i64 = 4 * 365;

/// Everything that identifies a data set: the same parameters give the same rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub seed: u64,
    pub scale: f64,
    pub anchor: NaiveDate,
}

/// The smallest and largest accepted scale.
pub const MIN_SCALE: f64 = 0.01;
pub const MAX_SCALE: f64 = 10_000.0;

/// Row counts the scale drives directly; dependent tables follow from the distributions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub users: u32,
    pub teachers: u32,
    pub mentors: u32,
    pub reviewers: u32,
    pub support: u32,
    pub smm: u32,
    pub admins: u32,
    pub courses: u32,
    pub purchases: u32,
    pub companies: u32,
    pub posts: u32,
}

impl Counts {
    /// Scale 1: 10 000 users, of whom 150 staff (60 teachers, 30 mentors, 30 reviewers,
    /// 15 support, 8 smm, 7 admins), 100 courses, 50 000 purchases, 50 companies, 300 posts.
    /// Small scales keep a floor so every role, known account and rule still appears.
    pub fn for_scale(scale: f64) -> Self {
        let n = |per_scale: f64, floor: u32| ((per_scale * scale).round() as u32).max(floor);
        Self {
            users: n(10_000.0, 200),
            teachers: n(60.0, 3),
            mentors: n(30.0, 2),
            reviewers: n(30.0, 2),
            support: n(15.0, 1),
            smm: n(8.0, 2),
            admins: n(7.0, 1),
            courses: n(100.0, 12),
            purchases: n(50_000.0, 600),
            companies: n(50.0, 6),
            posts: n(300.0, 20),
        }
    }

    pub fn staff(&self) -> u32 {
        self.teachers + self.mentors + self.reviewers + self.support + self.smm + self.admins
    }
}

/// The fixed clock of the generated world, in Unix seconds and Unix days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeline {
    /// The anchor date at 12:00 UTC.
    pub now: i64,
    /// `HISTORY_DAYS` before `now`: the platform opened.
    pub start: i64,
}

pub const DAY: i64 = 86_400;
pub const HOUR: i64 = 3_600;

impl Timeline {
    pub fn new(anchor: NaiveDate) -> Self {
        let now = anchor
            .and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default())
            .and_utc()
            .timestamp();
        Self {
            now,
            start: now - HISTORY_DAYS * DAY,
        }
    }

    pub fn now_day(&self) -> i32 {
        day_of(self.now)
    }
}

/// The Unix day that contains Unix second `ts`.
pub fn day_of(ts: i64) -> i32 {
    ts.div_euclid(DAY) as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_one_is_what_the_docs_say() {
        let c = Counts::for_scale(1.0);
        assert_eq!(c.users, 10_000);
        assert_eq!(c.staff(), 150);
        assert_eq!(c.courses, 100);
        assert_eq!(c.purchases, 50_000);
        let big = Counts::for_scale(40.0);
        assert_eq!(big.users, 400_000);
        assert_eq!(big.purchases, 2_000_000);
    }

    #[test]
    fn tiny_scales_keep_every_role() {
        let c = Counts::for_scale(0.01);
        assert!(c.teachers >= 3 && c.smm >= 2 && c.admins >= 1 && c.support >= 1);
        assert!(c.users > c.staff() * 10);
    }
}
