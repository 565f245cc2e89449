//! The Redis cache client: cache-aside reads and writes with short timeouts, behind a circuit
//! breaker ([`breaker`]), with typed keys ([`keys`]) and counters ([`metrics`]).
//!
//! The cache never makes a request fail. Every call is bounded by `redis.op_timeout_ms`; an
//! error or timeout counts against the breaker, which after `redis.breaker_failures`
//! consecutive failures skips Redis for `redis.breaker_open_ms` and then lets one trial call
//! through. While Redis is skipped, reads go to PostgreSQL (`bypass` in the metrics).
//!
//! An invalidation that fails is remembered and retried before this process trusts the cache
//! again: until it succeeds every lookup bypasses Redis, so this process never serves an
//! entry it knows to be stale.

mod breaker;
pub mod keys;
mod metrics;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use redis::{
    AsyncCommands,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use self::breaker::Breaker;
pub use self::{
    keys::{
        BLOG_FEED_HASH, BlogFeedKey, COURSE_SUMMARIES_HASH, CacheKey, CourseDetailKey,
        CourseListKey, CourseSummaryKey, EmploymentKey, LIST_WINDOW, LearningKey, ListChange,
        ListFamily, LookupsKey, RECENT_WRITE_WINDOW, REPORTS_HASH, RecentBlogWriteKey,
        RecentCatalogWriteKey, RecentReviewWriteKey, RevenueKey, Slot, TopCoursesKey,
        WRITE_FENCE_WINDOW, WriteFenceKey, all_course_summaries, all_reports,
    },
    metrics::CacheMetrics,
};
use super::local_pages::{self, LocalPages};
use crate::config::RedisConfig;

/// What [`Cache::lookup`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    Hit(T),
    /// Redis answered: there is no such entry.
    Miss,
    /// Redis could not be asked (down, slow, breaker open, or stale entries pending removal).
    Unknown,
}

/// Cache-aside storage in Redis. Cheap to clone.
#[derive(Clone)]
pub struct Cache {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    conn: Option<ConnectionManager>,
    cfg: RedisConfig,
    op_timeout: Duration,
    breaker: Breaker,
    metrics: CacheMetrics,
    /// Full Redis keys whose deletion failed; see the module documentation.
    pending: Mutex<Vec<String>>,
    /// Course pages held in this process in front of Redis (`repository::local_pages`).
    pages: LocalPages,
    /// Where course-page changes are announced to every instance's [`LocalPages`].
    channel: String,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("config", &self.inner.cfg)
            .field("breaker_open", &self.inner.breaker.is_open())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
enum CallError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis call timed out")]
    Timeout,
    #[error("cached value does not decode: {0}")]
    Decode(#[from] serde_json::Error),
}

impl Cache {
    /// Prepares the client; no connection is opened until the first call, so a missing
    /// Redis never stops the service from starting. Called inside a Tokio runtime, it also
    /// starts the subscriber that makes the local page layer live (outside one, that layer
    /// stays off and every lookup goes to Redis).
    pub fn new(cfg: &RedisConfig) -> Result<Self, String> {
        let metrics = CacheMetrics::new();
        let pages = LocalPages::new(
            metrics
                .lookups
                .with_label_values(&[CourseDetailKey::KIND, "local_hit"]),
        );
        let channel = local_pages::channel(&cfg.key_prefix);
        let conn = if cfg.enabled {
            let client = super::redis_client::open(cfg)?;
            if tokio::runtime::Handle::try_current().is_ok() {
                pages.listen(client.clone(), channel.clone());
            }
            let manager_cfg = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(Duration::from_millis(cfg.connect_timeout_ms)))
                .set_response_timeout(Some(Duration::from_millis(cfg.op_timeout_ms)))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(200));
            Some(
                ConnectionManager::new_lazy_with_config(client, manager_cfg)
                    .map_err(|e| format!("redis client: {e}"))?,
            )
        } else {
            None
        };
        Ok(Self {
            inner: Arc::new(CacheInner {
                conn,
                op_timeout: Duration::from_millis(cfg.op_timeout_ms),
                breaker: Breaker::new(
                    cfg.breaker_failures,
                    Duration::from_millis(cfg.breaker_open_ms),
                ),
                cfg: cfg.clone(),
                metrics,
                pending: Mutex::default(),
                pages,
                channel,
            }),
        })
    }

    pub fn metrics(&self) -> &CacheMetrics {
        &self.inner.metrics
    }

    /// The in-process course pages in front of Redis.
    pub fn local_pages(&self) -> &LocalPages {
        &self.inner.pages
    }

    /// Tells every instance (this one at once, the others through Redis) that the cached page
    /// of `course_id` changed. Call after replacing or dropping it in Redis. A failed publish
    /// is logged; other instances then serve their copy for at most `local_pages::LOCAL_TTL`.
    pub async fn announce_course_change(&self, course_id: i64) {
        self.inner.pages.invalidate(Some(course_id));
        let Some(mut conn) = self.inner.conn.clone() else {
            return;
        };
        let publish = conn.publish::<_, _, i64>(&self.inner.channel, course_id);
        match tokio::time::timeout(self.inner.op_timeout, publish).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                tracing::warn!(course_id, error = %err, "cannot announce a course page change")
            }
            Err(_) => tracing::warn!(course_id, "announcing a course page change timed out"),
        }
    }

    fn full(&self, name: &str) -> String {
        format!("{}:{name}", self.inner.cfg.key_prefix)
    }

    /// A connection when Redis may be used now; `None` means bypass.
    fn usable(&self) -> Option<ConnectionManager> {
        let conn = self.inner.conn.as_ref()?;
        self.inner.breaker.allow().then(|| conn.clone())
    }

    async fn call<T>(
        &self,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CallError> {
        let result = match tokio::time::timeout(self.inner.op_timeout, fut).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(CallError::Redis(e)),
            Err(_) => Err(CallError::Timeout),
        };
        match &result {
            Ok(_) => {
                if self.inner.breaker.success() {
                    tracing::info!("redis answers again; cache breaker closed");
                    self.inner.metrics.breaker_open.set(0);
                }
            }
            Err(err) => {
                if self.inner.breaker.failure() {
                    tracing::warn!(error = %err, "redis failing; cache breaker open, reading from the database");
                    self.inner.metrics.breaker_open.set(1);
                }
            }
        }
        result
    }

    /// Deletes keys whose earlier invalidation failed. `false` while that is still impossible.
    async fn flush_pending(&self, conn: &mut ConnectionManager) -> bool {
        let keys: Vec<String> = {
            let pending = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
            if pending.is_empty() {
                return true;
            }
            pending.clone()
        };
        match self.call(conn.del::<_, ()>(&keys)).await {
            Ok(()) => {
                let mut pending = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
                pending.retain(|k| !keys.contains(k));
                tracing::info!(keys = keys.len(), "delayed cache invalidation done");
                true
            }
            Err(_) => false,
        }
    }

    /// The cached value, or `None` (miss, error, bypass) after counting which it was.
    pub async fn get<K: CacheKey>(&self, key: &K) -> Option<K::Value> {
        match self.lookup(key).await {
            Lookup::Hit(value) => Some(value),
            Lookup::Miss | Lookup::Unknown => None,
        }
    }

    /// [`Self::get`] of several keys in one round trip; each is counted as its own lookup.
    pub async fn get_many<K: CacheKey>(&self, keys: &[K]) -> Vec<Option<K::Value>> {
        let count = |result: &str, n: usize| self.count_lookups(K::KIND, result, n);
        let nothing = || keys.iter().map(|_| None).collect();
        if keys.is_empty() {
            return Vec::new();
        }
        let Some(mut conn) = self.usable() else {
            count("bypass", keys.len());
            return nothing();
        };
        if !self.flush_pending(&mut conn).await {
            count("bypass", keys.len());
            return nothing();
        }
        let mut pipe = redis::pipe();
        for key in keys {
            match key.slot() {
                Slot::Key(name) => pipe.cmd("GET").arg(self.full(&name)),
                Slot::Field { hash, field } => pipe.cmd("HGET").arg(self.full(&hash)).arg(field),
            };
        }
        match self
            .call(pipe.query_async::<Vec<Option<Vec<u8>>>>(&mut conn))
            .await
        {
            Ok(found) => found
                .into_iter()
                .map(|bytes| {
                    let value = bytes.and_then(|b| decode::<K>(&b));
                    count(if value.is_some() { "hit" } else { "miss" }, 1);
                    value
                })
                .collect(),
            Err(err) => {
                tracing::debug!(kind = K::KIND, error = %err, "cache lookup failed");
                count("error", keys.len());
                nothing()
            }
        }
    }

    /// Like [`Self::get`], but tells "not there" apart from "Redis could not be asked", for
    /// callers to whom an absent key means something (a write fence).
    pub async fn lookup<K: CacheKey>(&self, key: &K) -> Lookup<K::Value> {
        match self.lookup_raw(key).await {
            Lookup::Hit(bytes) => decode::<K>(&bytes).map_or(Lookup::Miss, Lookup::Hit),
            Lookup::Miss => Lookup::Miss,
            Lookup::Unknown => Lookup::Unknown,
        }
    }

    /// Like [`Self::lookup`], but returns the stored JSON undecoded (a hit is counted as a
    /// hit even if the caller then finds it does not decode).
    pub async fn lookup_raw<K: CacheKey>(&self, key: &K) -> Lookup<Vec<u8>> {
        let count = |result: &str| self.count_lookups(K::KIND, result, 1);
        let Some(mut conn) = self.usable() else {
            count("bypass");
            return Lookup::Unknown;
        };
        if !self.flush_pending(&mut conn).await {
            count("bypass");
            return Lookup::Unknown;
        }
        let raw: Result<Option<Vec<u8>>, CallError> = match key.slot() {
            Slot::Key(name) => self.call(conn.get(self.full(&name))).await,
            Slot::Field { hash, field } => self.call(conn.hget(self.full(&hash), field)).await,
        };
        match raw {
            Ok(Some(bytes)) => {
                count("hit");
                Lookup::Hit(bytes)
            }
            Ok(None) => {
                count("miss");
                Lookup::Miss
            }
            Err(err) => {
                tracing::debug!(kind = K::KIND, error = %err, "cache lookup failed");
                count("error");
                Lookup::Unknown
            }
        }
    }

    fn count_lookups(&self, kind: &str, result: &str, n: usize) {
        self.inner
            .metrics
            .lookups
            .with_label_values(&[kind, result])
            .inc_by(n as u64);
    }

    /// Whether Redis is in use at all (`redis.enabled`).
    pub fn enabled(&self) -> bool {
        self.inner.conn.is_some()
    }

    /// Stores a value read after a miss, unless a value is already there: a fresher value
    /// stored by a writer must not be replaced by one read from a lagging replica.
    pub async fn fill<K: CacheKey>(&self, key: &K, value: &K::Value) {
        self.store(&[(key, value)], false).await;
    }

    /// [`Self::fill`] of several entries in one round trip.
    pub async fn fill_many<K: CacheKey>(&self, entries: &[(K, K::Value)]) {
        let entries: Vec<(&K, &K::Value)> = entries.iter().map(|(k, v)| (k, v)).collect();
        self.store(&entries, false).await;
    }

    /// Stores a value a writer just read from the primary, replacing whatever is cached. If
    /// that fails the old entry is invalidated (or, failing that too, remembered as stale).
    pub async fn replace<K: CacheKey>(&self, key: &K, value: &K::Value) {
        if !self.store(&[(key, value)], true).await {
            self.invalidate(&[key.slot()]).await;
        }
    }

    /// Whether the values were stored (nothing to store is stored).
    async fn store<K: CacheKey>(&self, entries: &[(&K, &K::Value)], overwrite: bool) -> bool {
        if entries.is_empty() {
            return true;
        }
        let count = |result: &str| {
            self.inner
                .metrics
                .writes
                .with_label_values(&["store", result])
                .inc();
        };
        let Some(mut conn) = self.usable() else {
            count("bypass");
            return false;
        };
        if !self.flush_pending(&mut conn).await {
            // Storing next to entries known to be stale would only hide them longer.
            count("bypass");
            return false;
        }
        let mut pipe = redis::pipe();
        for (key, value) in entries {
            let bytes = match serde_json::to_vec(value) {
                Ok(b) => b,
                Err(err) => {
                    tracing::error!(kind = K::KIND, error = %err, "cache value does not encode");
                    count("error");
                    return false;
                }
            };
            let ttl = key.ttl(&self.inner.cfg).as_secs().max(1);
            match key.slot() {
                Slot::Key(name) => {
                    let mut cmd = redis::cmd("SET");
                    cmd.arg(self.full(&name)).arg(bytes).arg("EX").arg(ttl);
                    if !overwrite {
                        cmd.arg("NX");
                    }
                    pipe.add_command(cmd).ignore();
                }
                Slot::Field { hash, field } => {
                    let hash = self.full(&hash);
                    let op = if overwrite { "HSET" } else { "HSETNX" };
                    pipe.cmd(op).arg(&hash).arg(field).arg(bytes).ignore();
                    // The whole hash expires `ttl` after its first field was stored.
                    pipe.cmd("EXPIRE").arg(&hash).arg(ttl).arg("NX").ignore();
                }
            }
        }
        match self.call(pipe.query_async::<()>(&mut conn)).await {
            Ok(()) => {
                count("ok");
                true
            }
            Err(err) => {
                tracing::debug!(kind = K::KIND, error = %err, "cache store failed");
                count("error");
                false
            }
        }
    }

    /// Drops the given slots (a hash slot drops the whole hash). A failure is remembered and
    /// retried before the next lookup.
    pub async fn invalidate(&self, slots: &[Slot]) {
        let mut keys: Vec<String> = slots
            .iter()
            .map(|s| match s {
                Slot::Key(name) => self.full(name),
                Slot::Field { hash, .. } => self.full(hash),
            })
            .collect();
        keys.dedup();
        // DEL needs a key; nothing to drop is not a failed invalidation.
        let (false, Some(conn)) = (keys.is_empty(), self.inner.conn.clone()) else {
            return;
        };
        let count = |result: &str| {
            self.inner
                .metrics
                .writes
                .with_label_values(&["invalidate", result])
                .inc();
        };
        let mut conn = conn;
        // An invalidation is attempted even while the breaker is open: it is cheap to try and
        // costly to skip.
        let result = tokio::time::timeout(self.inner.op_timeout, conn.del::<_, ()>(&keys)).await;
        match result {
            Ok(Ok(())) => count("ok"),
            _ => {
                count("error");
                tracing::warn!(
                    keys = ?keys,
                    "cache invalidation failed; lookups bypass the cache until it succeeds"
                );
                let mut pending = self.inner.pending.lock().unwrap_or_else(|e| e.into_inner());
                for k in keys {
                    if !pending.contains(&k) {
                        pending.push(k);
                    }
                }
            }
        }
    }
}

/// A cached value, or `None` for an entry written by an older version (logged; treated as a
/// miss, and the next store replaces it).
fn decode<K: CacheKey>(bytes: &[u8]) -> Option<K::Value> {
    serde_json::from_slice(bytes)
        .inspect_err(
            |err| tracing::warn!(kind = K::KIND, error = %err, "cached value does not decode"),
        )
        .ok()
}
