//! The typed cache keys: where each value lives in Redis (a key, or a field of a hash that is
//! dropped whole), its value type, its time to live and its metric label, and the windows
//! during which a recent write sends readers to the primary.

use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};

use crate::{
    config::RedisConfig,
    entity::{
        blog::PostSummary,
        catalog::{CourseDetail, CourseForUpdate, CourseListQuery, CourseSummary, Lookups},
        page::Page,
        report::{EmploymentRow, LearningRow, Report, RevenueRange, RevenueRow, TopCourse},
    },
};

/// Where a value lives in Redis, relative to the key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A plain string key.
    Key(String),
    /// A field of a hash; deleting the hash drops every field at once (used for list windows,
    /// which are all invalidated together).
    Field { hash: String, field: String },
}

/// A typed cache key: it knows the type of its value, its TTL and its metric label.
pub trait CacheKey {
    type Value: Serialize + DeserializeOwned;
    /// The `kind` label in metrics.
    const KIND: &'static str;
    fn slot(&self) -> Slot;
    fn ttl(&self, cfg: &RedisConfig) -> Duration;
}

/// The public course page of one course; `None` records that there is none (unknown,
/// unpublished or deleted), so a reader on a lagging replica cannot bring an old page back.
#[derive(Debug, Clone, Copy)]
pub struct CourseDetailKey(pub i64);

impl CacheKey for CourseDetailKey {
    type Value = Option<CourseDetail>;
    const KIND: &'static str = "course_detail";
    fn slot(&self) -> Slot {
        Slot::Key(format!("course:{}", self.0))
    }
    fn ttl(&self, cfg: &RedisConfig) -> Duration {
        Duration::from_secs(cfg.ttl_course_detail_s)
    }
}

/// Ids a course list window holds besides its probe: a page whose rows and "more follows"
/// probe fit in one window (every page of a size dividing 100) is cut from it, whatever its
/// size, so `page=2&page_size=10` and `page=1&page_size=20` share an entry.
pub const LIST_WINDOW: u32 = 100;

/// The course facts that, besides those every list reads (published, title, description,
/// specialization, difficulty, creation time), decide which courses a list holds and in
/// what order. Each family's windows live in their own hash, so an edit drops only the
/// windows it can change: a price edit leaves a list sorted by newest alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFamily {
    Plain,
    /// A price filter or a price sort.
    Prices,
    /// The on-sale filter or the next-start sort (runs' dates and seats).
    Runs,
    PricesAndRuns,
}

impl ListFamily {
    pub const ALL: [ListFamily; 4] = [
        ListFamily::Plain,
        ListFamily::Prices,
        ListFamily::Runs,
        ListFamily::PricesAndRuns,
    ];

    pub fn of(query: &CourseListQuery) -> Self {
        match (query.reads_prices(), query.reads_runs()) {
            (false, false) => ListFamily::Plain,
            (true, false) => ListFamily::Prices,
            (false, true) => ListFamily::Runs,
            (true, true) => ListFamily::PricesAndRuns,
        }
    }

    fn hash(self) -> &'static str {
        match self {
            ListFamily::Plain => "courses:lists:plain",
            ListFamily::Prices => "courses:lists:prices",
            ListFamily::Runs => "courses:lists:runs",
            ListFamily::PricesAndRuns => "courses:lists:prices-runs",
        }
    }

    /// The whole family: invalidating it drops every window in it.
    pub fn slot(self) -> Slot {
        Slot::Field {
            hash: self.hash().into(),
            field: String::new(),
        }
    }
}

/// What a catalog edit can change in the course lists, and so which families it drops. The
/// courses' own fields in a list come from [`CourseSummaryKey`], which the edit replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListChange {
    /// A syllabus edit: no list reads topics.
    Nothing,
    /// A run added, changed or deleted.
    Runs,
    /// A price, and nothing else of the course row.
    Prices,
    /// A course created, deleted, published, renamed, moved or described anew.
    Everything,
}

impl ListChange {
    /// What an update of the course row can change in the lists.
    pub fn of_update(changes: &CourseForUpdate) -> Self {
        let CourseForUpdate {
            title,
            description,
            specialization,
            difficulty,
            duration_weeks: _,
            price,
            published,
        } = changes;
        // Search text, filters, sort keys and visibility: any list may gain, lose or reorder it.
        if title.is_some()
            || description.is_some()
            || specialization.is_some()
            || difficulty.is_some()
            || published.is_some()
        {
            ListChange::Everything
        } else if price.is_some() {
            ListChange::Prices
        } else {
            // The duration is shown, never filtered or sorted on: the replaced entry carries it.
            ListChange::Nothing
        }
    }

    /// The list families this change can reorder or change the members of.
    pub fn slots(self) -> Vec<Slot> {
        let families: &[ListFamily] = match self {
            ListChange::Nothing => &[],
            ListChange::Runs => &[ListFamily::Runs, ListFamily::PricesAndRuns],
            ListChange::Prices => &[ListFamily::Prices, ListFamily::PricesAndRuns],
            ListChange::Everything => &ListFamily::ALL,
        };
        families.iter().map(|f| f.slot()).collect()
    }
}

/// One window of a public course list: the ids of the courses from position
/// `window * LIST_WINDOW` on, at most `LIST_WINDOW + 1` (the last one only says that more
/// follow). Named by the canonical query without its page.
#[derive(Debug, Clone)]
pub struct CourseListKey {
    pub family: ListFamily,
    pub query: String,
    pub window: u32,
}

impl CacheKey for CourseListKey {
    type Value = Vec<i64>;
    const KIND: &'static str = "course_list";
    fn slot(&self) -> Slot {
        Slot::Field {
            hash: self.family.hash().into(),
            field: format!("{}|w={}", self.query, self.window),
        }
    }
    fn ttl(&self, cfg: &RedisConfig) -> Duration {
        Duration::from_secs(cfg.ttl_course_list_s)
    }
}

/// The hash of every course's list entry ([`CourseSummaryKey`]).
pub const COURSE_SUMMARIES_HASH: &str = "courses:summaries";

/// Every course's list entry: dropped whole when a lookup row they show changes.
pub fn all_course_summaries() -> Slot {
    Slot::Field {
        hash: COURSE_SUMMARIES_HASH.into(),
        field: String::new(),
    }
}

/// A published course as lists show it; `None` records that there is no public course of
/// that id (unpublished or deleted). Lists hold ids and take each course from here, so a
/// course's edit replaces one entry instead of dropping every list that shows it.
#[derive(Debug, Clone, Copy)]
pub struct CourseSummaryKey(pub i64);

impl CacheKey for CourseSummaryKey {
    type Value = Option<CourseSummary>;
    const KIND: &'static str = "course_summary";
    fn slot(&self) -> Slot {
        Slot::Field {
            hash: COURSE_SUMMARIES_HASH.into(),
            field: self.0.to_string(),
        }
    }
    fn ttl(&self, cfg: &RedisConfig) -> Duration {
        Duration::from_secs(cfg.ttl_course_detail_s)
    }
}

/// Present for [`RECENT_WRITE_WINDOW`] after any catalog edit, holding the edit's WAL position
/// (or "primary" when it could not be read). While it is, readers that miss the cache read
/// from a replica that has replayed that position, else from the primary, so a lagging
/// replica cannot put pre-edit data back into the cache (`usecase::consistency`).
#[derive(Debug, Clone, Copy)]
pub struct RecentCatalogWriteKey;

/// Longer than any replica lag HAProxy tolerates (replicas lagging more leave the read port).
pub const RECENT_WRITE_WINDOW: Duration = Duration::from_secs(10);

impl CacheKey for RecentCatalogWriteKey {
    type Value = String;
    const KIND: &'static str = "recent_write";
    fn slot(&self) -> Slot {
        Slot::Key("catalog:recent_write".into())
    }
    fn ttl(&self, _: &RedisConfig) -> Duration {
        RECENT_WRITE_WINDOW
    }
}

/// Both lookup tables.
#[derive(Debug, Clone, Copy)]
pub struct LookupsKey;

impl CacheKey for LookupsKey {
    type Value = Lookups;
    const KIND: &'static str = "lookups";
    fn slot(&self) -> Slot {
        Slot::Key("lookups".into())
    }
    fn ttl(&self, cfg: &RedisConfig) -> Duration {
        Duration::from_secs(cfg.ttl_lookups_s)
    }
}

/// The log position a user's latest write committed at, kept for [`WRITE_FENCE_WINDOW`] so
/// every backend instance can route that user's own reads to a server that has it (see
/// `usecase::consistency`). The value is a PostgreSQL LSN as text (`16/B374D848`).
#[derive(Debug, Clone, Copy)]
pub struct WriteFenceKey(pub i64);

/// How long a write fences its author's reads. Replication here trails by milliseconds, and
/// HAProxy drops a replica that falls far behind (`LYCEUM_READ_MAX_LAG`); 30 s leaves a wide
/// margin, also over a deliberate `recovery_min_apply_delay` of a few seconds.
pub const WRITE_FENCE_WINDOW: Duration = Duration::from_secs(30);

impl CacheKey for WriteFenceKey {
    type Value = String;
    const KIND: &'static str = "write_fence";
    fn slot(&self) -> Slot {
        Slot::Key(format!("fence:user:{}", self.0))
    }
    fn ttl(&self, _: &RedisConfig) -> Duration {
        WRITE_FENCE_WINDOW
    }
}

/// The hash holding every cached report; review and hiring changes drop it whole.
pub const REPORTS_HASH: &str = "reports";

/// Every cached report at once (for [`Cache::invalidate`]).
pub fn all_reports() -> Slot {
    Slot::Field {
        hash: REPORTS_HASH.into(),
        field: String::new(),
    }
}

/// The top-courses report for one `limit`.
#[derive(Debug, Clone, Copy)]
pub struct TopCoursesKey(pub u32);

impl CacheKey for TopCoursesKey {
    type Value = Report<TopCourse>;
    const KIND: &'static str = "report";
    fn slot(&self) -> Slot {
        Slot::Field {
            hash: REPORTS_HASH.into(),
            field: format!("top:{}", self.0),
        }
    }
    fn ttl(&self, cfg: &RedisConfig) -> Duration {
        Duration::from_secs(cfg.ttl_reports_s)
    }
}

/// The revenue report for one month range.
#[derive(Debug, Clone, Copy)]
pub struct RevenueKey(pub RevenueRange);

impl CacheKey for RevenueKey {
    type Value = Report<RevenueRow>;
    const KIND: &'static str = "report";
    fn slot(&self) -> Slot {
        Slot::Field {
            hash: REPORTS_HASH.into(),
            field: self.0.cache_field(),
        }
    }
    fn ttl(&self, cfg: &RedisConfig) -> Duration {
        Duration::from_secs(cfg.ttl_reports_s)
    }
}

/// The employment report for one `limit`.
#[derive(Debug, Clone, Copy)]
pub struct EmploymentKey(pub u32);

impl CacheKey for EmploymentKey {
    type Value = Report<EmploymentRow>;
    const KIND: &'static str = "report";
    fn slot(&self) -> Slot {
        Slot::Field {
            hash: REPORTS_HASH.into(),
            field: format!("employment:{}", self.0),
        }
    }
    fn ttl(&self, cfg: &RedisConfig) -> Duration {
        Duration::from_secs(cfg.ttl_reports_s)
    }
}

/// The learning report for one `limit`. Decisions reach it once the TTL has passed.
#[derive(Debug, Clone, Copy)]
pub struct LearningKey(pub u32);

impl CacheKey for LearningKey {
    type Value = Report<LearningRow>;
    const KIND: &'static str = "report";
    fn slot(&self) -> Slot {
        Slot::Field {
            hash: REPORTS_HASH.into(),
            field: format!("learning:{}", self.0),
        }
    }
    fn ttl(&self, cfg: &RedisConfig) -> Duration {
        Duration::from_secs(cfg.ttl_reports_s)
    }
}

/// The hash holding the cached first pages of the blog feed; every post edit drops it.
pub const BLOG_FEED_HASH: &str = "blog:feed";

/// The first page of the blog feed for one tag filter and page size (`FeedQuery::cache_field`).
#[derive(Debug, Clone)]
pub struct BlogFeedKey(pub String);

impl CacheKey for BlogFeedKey {
    type Value = Page<PostSummary>;
    const KIND: &'static str = "blog_feed";
    fn slot(&self) -> Slot {
        Slot::Field {
            hash: BLOG_FEED_HASH.into(),
            field: self.0.clone(),
        }
    }
    fn ttl(&self, cfg: &RedisConfig) -> Duration {
        Duration::from_secs(cfg.ttl_blog_feed_s)
    }
}

/// Present for [`RECENT_WRITE_WINDOW`] after a post edit, holding its WAL position: feed misses
/// are then filled where that edit is replayed, so a lagging replica cannot put the pre-edit
/// feed back into the cache.
#[derive(Debug, Clone, Copy)]
pub struct RecentBlogWriteKey;

impl CacheKey for RecentBlogWriteKey {
    type Value = String;
    const KIND: &'static str = "recent_write";
    fn slot(&self) -> Slot {
        Slot::Key("blog:recent_write".into())
    }
    fn ttl(&self, _: &RedisConfig) -> Duration {
        RECENT_WRITE_WINDOW
    }
}

/// Present for [`RECENT_WRITE_WINDOW`] after a review of this course was written, changed or
/// deleted, holding its WAL position: the course's review list is then read where that write
/// is replayed, not from a lagging replica.
#[derive(Debug, Clone, Copy)]
pub struct RecentReviewWriteKey(pub i64);

impl CacheKey for RecentReviewWriteKey {
    type Value = String;
    const KIND: &'static str = "recent_write";
    fn slot(&self) -> Slot {
        Slot::Key(format!("reviews:recent_write:{}", self.0))
    }
    fn ttl(&self, _: &RedisConfig) -> Duration {
        RECENT_WRITE_WINDOW
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_know_their_slots() {
        assert_eq!(CourseDetailKey(7).slot(), Slot::Key("course:7".into()));
        let window = CourseListKey {
            family: ListFamily::Prices,
            query: "q".into(),
            window: 2,
        };
        assert_eq!(
            window.slot(),
            Slot::Field {
                hash: "courses:lists:prices".into(),
                field: "q|w=2".into()
            }
        );
        assert!(matches!(
            CourseSummaryKey(7).slot(),
            Slot::Field { hash, field } if hash == COURSE_SUMMARIES_HASH && field == "7"
        ));
    }

    #[test]
    fn an_edit_drops_the_families_it_can_change() {
        let hashes = |c: ListChange| {
            c.slots()
                .into_iter()
                .map(|s| match s {
                    Slot::Field { hash, .. } => hash,
                    Slot::Key(k) => k,
                })
                .collect::<Vec<_>>()
        };
        assert!(hashes(ListChange::Nothing).is_empty());
        assert_eq!(
            hashes(ListChange::Prices),
            ["courses:lists:prices", "courses:lists:prices-runs"]
        );
        assert_eq!(
            hashes(ListChange::Runs),
            ["courses:lists:runs", "courses:lists:prices-runs"]
        );
        assert_eq!(hashes(ListChange::Everything).len(), 4);
    }
}
