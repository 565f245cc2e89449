//! The catalog: lookups, courses with their syllabus, staff and runs, teacher profiles, and the
//! rules of the course list query (filters, sort orders) and of staff edits.
//!
//! long: the catalog's types, its limits (shared with the OpenAPI document) and the validators
//! that apply them stay together, so a limit is read next to the rule that enforces it.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    page::PageRequest,
    plan::PlanPrice,
    validation::{FieldError, ValidationErrors, in_range, long_text, text},
};

/// Prices are minor units; one billion keeps sums far from overflow.
pub const MAX_PRICE: i64 = 1_000_000_000;
/// Course titles and topic names (characters, trimmed).
pub const COURSE_TITLE_MAX: usize = 200;
pub const TOPIC_NAME_MAX: usize = 200;
/// Course, topic and project descriptions (characters; may be empty).
pub const DESCRIPTION_MAX: usize = 20_000;
pub const PROJECT_DESCRIPTION_MAX: usize = 10_000;
/// Ten years.
pub const DURATION_WEEKS_MAX: i32 = 520;
/// Specialization slugs and difficulty codes (ASCII).
pub const CODE_MAX: usize = 100;
pub const EFFORT_HOURS_MAX: i32 = 10_000;
pub const POSITION_MAX: i32 = 10_000;
/// Technologies per topic, and characters per technology.
pub const TECHNOLOGIES_MAX: usize = 50;
pub const TECHNOLOGY_MAX: usize = 50;
/// Projects per topic.
pub const PROJECTS_MAX: usize = 100;
pub const SEATS_TOTAL_MAX: i32 = 100_000;
/// The course search text, after runs of whitespace became one space.
pub const SEARCH_MAX: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Specialization {
    pub id: i32,
    pub slug: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DifficultyLevel {
    pub id: i32,
    /// `beginner`, `intermediate` or `advanced`.
    pub code: String,
    pub name: String,
    /// Order from easiest to hardest.
    pub sort_order: i16,
}

/// Both lookup tables; cached together because they change together (rarely).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Lookups {
    pub specializations: Vec<Specialization>,
    pub difficulty_levels: Vec<DifficultyLevel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SpecializationRef {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DifficultyRef {
    pub code: String,
    pub name: String,
}

/// A course as it appears in lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CourseSummary {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub specialization: SpecializationRef,
    pub difficulty: DifficultyRef,
    pub duration_weeks: i32,
    /// Minor currency units.
    pub price: i64,
    /// Unpublished courses are visible to staff only.
    pub published: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Project {
    pub id: i64,
    pub title: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Topic {
    pub id: i64,
    /// 1-based, gap-free order within the course.
    pub position: i32,
    pub name: String,
    pub description: String,
    pub technologies: Vec<String>,
    pub effort_hours: i32,
    pub project_count: i64,
    pub projects: Vec<Project>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CourseStaffMember {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: String,
    /// `teacher`, `mentor` or `reviewer` on this course.
    pub role: String,
    pub photo_url: Option<String>,
    /// From the teacher profile, when there is one.
    pub workplace: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CourseRun {
    pub id: i64,
    pub start_date: NaiveDate,
    /// Last day the run can be bought (inclusive).
    pub sales_end_date: NaiveDate,
    pub seats_total: i32,
    pub seats_left: i32,
    /// What each plan costs for this run, in minor units: what a purchase charges.
    pub prices: Vec<PlanPrice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CourseStats {
    /// The students enrolled: distinct users with a paid purchase of any run.
    pub buyers: i64,
    /// Mean review rating (1–5), absent without reviews.
    pub average_rating: Option<f64>,
    pub review_count: i64,
    /// Graduates of this course hired through the career track.
    pub graduates_employed: i64,
    /// Enrolled students holding the course's certificate (earned by completing every
    /// project, or issued by staff).
    pub graduates: i64,
    /// `graduates / buyers`, 0 to 1; absent while nobody is enrolled.
    pub completion_rate: Option<f64>,
}

/// Everything the course page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CourseDetail {
    #[serde(flatten)]
    pub course: CourseSummary,
    pub topics: Vec<Topic>,
    pub staff: Vec<CourseStaffMember>,
    /// What each plan costs for this course, in minor units: what a purchase charges.
    pub prices: Vec<PlanPrice>,
    /// Runs that have not started yet, soonest first.
    pub upcoming_runs: Vec<CourseRun>,
    pub stats: CourseStats,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TeacherSummary {
    pub user_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub photo_url: Option<String>,
    pub workplace: String,
    pub years_experience: i32,
    pub years_in_specialization: i32,
    pub specialization: Option<SpecializationRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TeacherCourse {
    pub id: i64,
    pub title: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TeacherProfile {
    #[serde(flatten)]
    pub teacher: TeacherSummary,
    /// Published courses this teacher works on.
    pub courses: Vec<TeacherCourse>,
}

/// Sort orders of the course list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CourseSort {
    /// Newest first (the default without `q`).
    Newest,
    PriceAsc,
    PriceDesc,
    Title,
    /// Easiest first.
    Difficulty,
    /// Best full-text match first (the default with `q`; requires `q`).
    Relevance,
    /// Soonest start first, of the course's runs that are on sale (sales open and seats
    /// left); courses without such a run come last.
    NextStart,
}

impl CourseSort {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Newest => "newest",
            Self::PriceAsc => "price_asc",
            Self::PriceDesc => "price_desc",
            Self::Title => "title",
            Self::Difficulty => "difficulty",
            Self::Relevance => "relevance",
            Self::NextStart => "next_start",
        }
    }
}

/// Query string of `GET /courses`, as sent.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CourseListParams {
    /// Specialization slug.
    pub specialization: Option<String>,
    /// Difficulty code: `beginner`, `intermediate`, `advanced`.
    pub difficulty: Option<String>,
    /// Lowest price (minor units, inclusive).
    pub min_price: Option<i64>,
    /// Highest price (minor units, inclusive).
    pub max_price: Option<i64>,
    /// Full-text search over title and description (web search syntax: `rust -async "error handling"`).
    pub q: Option<String>,
    /// `true`: only courses with a run on sale (its last day of sales is today or later and
    /// seats are left); `false`: only courses without one.
    pub on_sale: Option<bool>,
    /// Sort order; default `relevance` with `q`, else `newest`.
    pub sort: Option<CourseSort>,
    /// 1-based page number (at most 500).
    pub page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    pub page_size: Option<u32>,
}

/// A valid course list query. Its [`Self::list_key`] names the list in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseListQuery {
    pub specialization: Option<String>,
    pub difficulty: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub q: Option<String>,
    pub on_sale: Option<bool>,
    pub sort: CourseSort,
    pub page: u32,
    pub page_size: u32,
}

impl CourseListQuery {
    pub fn parse(p: CourseListParams) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let PageRequest { page, page_size } =
            PageRequest::take_from(&mut errors, p.page, p.page_size);
        let min_price = errors.take_opt(p.min_price, |v| in_range("min_price", v, 0, MAX_PRICE));
        let max_price = errors.take_opt(p.max_price, |v| in_range("max_price", v, 0, MAX_PRICE));
        if let (Some(lo), Some(hi)) = (min_price, max_price)
            && lo > hi
        {
            errors.push("max_price", "must not be below min_price");
        }
        let q =
            p.q.map(|q| q.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|q| !q.is_empty());
        if let Some(q) = &q
            && q.chars().count() > SEARCH_MAX
        {
            errors.push("q", format!("must be at most {SEARCH_MAX} characters"));
        }
        let sort = match (p.sort, &q) {
            (Some(CourseSort::Relevance), None) => {
                errors.push("sort", "relevance needs a search text in q");
                CourseSort::Relevance
            }
            (Some(sort), _) => sort,
            (None, Some(_)) => CourseSort::Relevance,
            (None, None) => CourseSort::Newest,
        };
        let slug = |field: &str, v: String| -> Result<String, FieldError> {
            let v = v.trim().to_lowercase();
            if v.is_empty()
                || v.len() > CODE_MAX
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(FieldError::new(field, "must be a slug like data-science"));
            }
            Ok(v)
        };
        let specialization = errors.take_opt(p.specialization, |v| slug("specialization", v));
        let difficulty = errors.take_opt(p.difficulty, |v| slug("difficulty", v));
        errors.finish(|| Self {
            specialization,
            difficulty,
            min_price,
            max_price,
            q,
            on_sale: p.on_sale,
            sort,
            page,
            page_size,
        })
    }

    /// The page this query asks for.
    pub fn page_request(&self) -> PageRequest {
        PageRequest {
            page: self.page,
            page_size: self.page_size,
        }
    }

    /// A canonical text of the query without its page: queries for the same list give the
    /// same text, whatever page they ask for.
    pub fn list_key(&self) -> String {
        format!(
            "s={}|d={}|min={}|max={}|q={}|sale={}|sort={}",
            self.specialization.as_deref().unwrap_or(""),
            self.difficulty.as_deref().unwrap_or(""),
            self.min_price.map(|v| v.to_string()).unwrap_or_default(),
            self.max_price.map(|v| v.to_string()).unwrap_or_default(),
            self.q.as_deref().unwrap_or("").to_lowercase(),
            self.on_sale.map(|v| v.to_string()).unwrap_or_default(),
            self.sort.as_str(),
        )
    }

    /// Whether a course's price decides if it is in this list, or where.
    pub fn reads_prices(&self) -> bool {
        self.min_price.is_some()
            || self.max_price.is_some()
            || matches!(self.sort, CourseSort::PriceAsc | CourseSort::PriceDesc)
    }

    /// Whether a course's runs (their sales dates and seats) decide if it is in this list, or
    /// where.
    pub fn reads_runs(&self) -> bool {
        self.on_sale.is_some() || self.sort == CourseSort::NextStart
    }
}

/// A valid new course. Lookups are named by slug/code, never by id.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseForCreate {
    pub title: String,
    pub description: String,
    pub specialization: String,
    pub difficulty: String,
    pub duration_weeks: i32,
    pub price: i64,
    pub published: bool,
}

/// Course changes; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CourseForUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub specialization: Option<String>,
    pub difficulty: Option<String>,
    pub duration_weeks: Option<i32>,
    pub price: Option<i64>,
    pub published: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectForCreate {
    pub title: String,
    pub description: String,
}

/// A valid new topic; without a position it goes last, with one the others make room.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicForCreate {
    pub name: String,
    pub description: String,
    pub technologies: Vec<String>,
    pub effort_hours: i32,
    pub position: Option<i32>,
    pub projects: Vec<ProjectForCreate>,
}

/// Topic changes; `projects`, when given, replaces the topic's projects.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopicForUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub technologies: Option<Vec<String>>,
    pub effort_hours: Option<i32>,
    pub position: Option<i32>,
    pub projects: Option<Vec<ProjectForCreate>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunForCreate {
    pub start_date: NaiveDate,
    pub sales_end_date: NaiveDate,
    pub seats_total: i32,
}

/// Run changes. Changing `seats_total` moves `seats_left` by the same amount, so seats already
/// taken stay taken; a total below the seats taken is refused.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunForUpdate {
    pub start_date: Option<NaiveDate>,
    pub sales_end_date: Option<NaiveDate>,
    pub seats_total: Option<i32>,
}

pub fn course_title(input: &str) -> Result<String, FieldError> {
    text("title", input, COURSE_TITLE_MAX)
}
pub fn course_description(input: &str) -> Result<String, FieldError> {
    long_text("description", input, DESCRIPTION_MAX)
}
pub fn duration_weeks(v: i32) -> Result<i32, FieldError> {
    in_range("duration_weeks", v, 1, DURATION_WEEKS_MAX)
}
pub fn price(v: i64) -> Result<i64, FieldError> {
    in_range("price", v, 0, MAX_PRICE)
}
pub fn lookup_code(field: &str, input: &str) -> Result<String, FieldError> {
    let v = input.trim();
    if v.is_empty()
        || v.len() > CODE_MAX
        || !v
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(FieldError::new(field, "must be a lowercase slug or code"));
    }
    Ok(v.to_string())
}
pub fn topic_name(input: &str) -> Result<String, FieldError> {
    text("name", input, TOPIC_NAME_MAX)
}
pub fn effort_hours(v: i32) -> Result<i32, FieldError> {
    in_range("effort_hours", v, 1, EFFORT_HOURS_MAX)
}
pub fn position(v: i32) -> Result<i32, FieldError> {
    in_range("position", v, 1, POSITION_MAX)
}
pub fn technologies(v: Vec<String>) -> Result<Vec<String>, FieldError> {
    if v.len() > TECHNOLOGIES_MAX {
        return Err(FieldError::new(
            "technologies",
            format!("at most {TECHNOLOGIES_MAX} entries"),
        ));
    }
    v.iter()
        .map(|t| text("technologies", t, TECHNOLOGY_MAX))
        .collect::<Result<Vec<_>, _>>()
}
pub fn seats_total(v: i32) -> Result<i32, FieldError> {
    in_range("seats_total", v, 1, SEATS_TOTAL_MAX)
}
/// The last day of sales must not be after the start.
pub fn run_dates(start: NaiveDate, sales_end: NaiveDate) -> Result<(), FieldError> {
    if sales_end > start {
        return Err(FieldError::new(
            "sales_end_date",
            "must not be after start_date",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    #[test]
    fn page_size_has_a_hard_cap() {
        let err = CourseListQuery::parse(CourseListParams {
            page_size: Some(101),
            ..Default::default()
        })
        .expect_err("too large");
        assert_eq!(err.0[0].field, "page_size");
        let ok = CourseListQuery::parse(CourseListParams {
            page_size: Some(100),
            ..Default::default()
        })
        .expect("at the cap");
        assert_eq!(ok.page_size, 100);
    }

    #[test]
    fn search_defaults_to_relevance_and_relevance_needs_search() {
        let q = CourseListQuery::parse(CourseListParams {
            q: Some("  rust   async ".into()),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(q.sort, CourseSort::Relevance);
        assert_eq!(q.q.as_deref(), Some("rust async"));
        assert!(
            CourseListQuery::parse(CourseListParams {
                sort: Some(CourseSort::Relevance),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn price_range_must_be_ordered() {
        let err = CourseListQuery::parse(CourseListParams {
            min_price: Some(500),
            max_price: Some(100),
            ..Default::default()
        })
        .expect_err("inverted");
        assert_eq!(err.0[0].field, "max_price");
    }

    #[test]
    fn equal_queries_share_a_list_key() {
        let a = CourseListQuery::parse(CourseListParams {
            q: Some("Rust  Web".into()),
            ..Default::default()
        })
        .expect("valid");
        let b = CourseListQuery::parse(CourseListParams {
            q: Some("rust web".into()),
            page: Some(3),
            page_size: Some(50),
            ..Default::default()
        })
        .expect("valid");
        assert_eq!(a.list_key(), b.list_key());
    }

    #[test]
    fn a_query_knows_which_course_facts_it_reads() {
        let parse = |p: CourseListParams| CourseListQuery::parse(p).expect("valid");
        let plain = parse(CourseListParams::default());
        assert!(!plain.reads_prices() && !plain.reads_runs());
        let priced = parse(CourseListParams {
            sort: Some(CourseSort::PriceDesc),
            ..Default::default()
        });
        assert!(priced.reads_prices() && !priced.reads_runs());
        let on_sale = parse(CourseListParams {
            on_sale: Some(true),
            max_price: Some(1000),
            ..Default::default()
        });
        assert!(on_sale.reads_prices() && on_sale.reads_runs());
    }
}
