//! The typed cache keys: where each value lives in Redis (a key, or a field of a hash that is
//! dropped whole), its value type, its time to live and its metric label, and the windows
//! during which a recent write sends readers to the primary.

use std::time::Duration;

use serde::{Serialize, de::DeserializeOwned};

use crate::{
    config::RedisConfig,
    entity::{
        blog::PostSummary,
        catalog::{CourseDetail, CourseSummary, Lookups},
        page::Page,
        report::{EmploymentRow, LearningRow, Report, RevenueRange, RevenueRow, TopCourse},
    },
};

/// Where a value lives in Redis, relative to the key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A plain string key.
    Key(String),
    /// A field of a hash; deleting the hash drops every field at once (used for list pages,
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

/// One page of the public course list, named by the canonical query text.
#[derive(Debug, Clone)]
pub struct CourseListKey(pub String);

/// The hash that holds every cached list page.
pub const COURSE_LISTS_HASH: &str = "courses:lists";

impl CacheKey for CourseListKey {
    type Value = Page<CourseSummary>;
    const KIND: &'static str = "course_list";
    fn slot(&self) -> Slot {
        Slot::Field {
            hash: COURSE_LISTS_HASH.into(),
            field: self.0.clone(),
        }
    }
    fn ttl(&self, cfg: &RedisConfig) -> Duration {
        Duration::from_secs(cfg.ttl_course_list_s)
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
        assert!(matches!(
            CourseListKey("q".into()).slot(),
            Slot::Field { hash, .. } if hash == COURSE_LISTS_HASH
        ));
    }
}
