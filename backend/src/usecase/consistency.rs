//! Read-your-writes: a user who has just written sees that write on their next read, even
//! while replicas lag — without sending every read of every user to the primary.
//!
//! After a user's write commits, the use case asks the primary for its WAL position (LSN) on
//! the same connection and records it as that user's *write fence* for
//! [`WRITE_FENCE_WINDOW`]: in this process, and in Redis so that every backend instance
//! knows it. A read of the user's own data then goes:
//! - no fence → the read pool, as any read;
//! - a fence → the read pool, but the chosen replica must first show that it has replayed
//!   the fence's LSN (`pg_last_wal_replay_lsn()`, same connection); if it has not, the read
//!   runs on the primary instead, and while the primary keeps it waiting (a failover) the
//!   replicas are asked again until one has caught up — the log position decides, not the
//!   clock, so the read succeeds while the synchronous standby is up;
//! - fence unknowable (Redis enabled but unreachable, so another instance's fence could be
//!   missed), or the LSN could not be read after the commit → the primary.
//!
//! So a fence costs one cheap query on the replica, only for users who wrote recently, and a
//! lagging replica costs a primary read, never a stale answer. Known limit: two writes by one
//! user committed at the same moment through two instances may store the lower LSN last;
//! the window is then still covered by the local fence of the instance that wrote the higher.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use lyceum_db::{Client, Db, DbFuture, PoolKind, RetryPolicy};
use prometheus::{IntCounterVec, Opts, Registry};

use super::ServiceError;
use crate::repository::{
    cache::{Cache, CacheKey, Lookup, WRITE_FENCE_WINDOW, WriteFenceKey},
    pg,
    replication::ReplicationRepository,
};

/// Stored in place of an LSN when the position after a commit could not be read.
const PRIMARY_ONLY: &str = "primary";

/// How often a fenced read that is waiting for the primary asks a replica again. A healthy
/// primary answers well within it, so the polls only start when the primary is in trouble.
const REPLICA_POLL: Duration = Duration::from_millis(50);

/// A read that may run on a replica or on the primary, and more than once.
pub trait ReadOp<T>:
    for<'c> Fn(&'c mut Client) -> DbFuture<'c, T, ServiceError> + Clone + Send + Sync + 'static
{
}

impl<T, F> ReadOp<T> for F where
    F: for<'c> Fn(&'c mut Client) -> DbFuture<'c, T, ServiceError> + Clone + Send + Sync + 'static
{
}

/// A WAL position, ordered (`16/B374D848` → 0x16_B374D848).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Lsn(u64);

impl Lsn {
    fn parse(text: &str) -> Option<Self> {
        let (hi, lo) = text.split_once('/')?;
        let hi = u64::from_str_radix(hi, 16).ok()?;
        let lo = u64::from_str_radix(lo, 16).ok()?;
        (hi <= u64::from(u32::MAX) && lo <= u64::from(u32::MAX)).then_some(Self(hi << 32 | lo))
    }

    fn text(self) -> String {
        format!("{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// What a user's reads must wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fence {
    /// Nothing recent: any replica will do.
    None,
    /// A replica that has replayed this far, else the primary.
    AtLeast(Lsn),
    /// Only the primary is known to be fresh enough.
    PrimaryOnly,
}

impl Fence {
    fn from_stored(text: &str) -> Self {
        Lsn::parse(text).map_or(Self::PrimaryOnly, Self::AtLeast)
    }

    /// The text kept in Redis: the LSN, or the "primary" marker ([`Self::from_stored`]'s inverse).
    fn stored(self) -> String {
        match self {
            Self::AtLeast(lsn) => lsn.text(),
            Self::PrimaryOnly | Self::None => PRIMARY_ONLY.to_owned(),
        }
    }

    /// The stricter of two fences.
    fn max(self, other: Self) -> Self {
        match (self, other) {
            (Self::PrimaryOnly, _) | (_, Self::PrimaryOnly) => Self::PrimaryOnly,
            (Self::AtLeast(a), Self::AtLeast(b)) => Self::AtLeast(a.max(b)),
            (Self::AtLeast(a), Self::None) | (Self::None, Self::AtLeast(a)) => Self::AtLeast(a),
            (Self::None, Self::None) => Self::None,
        }
    }
}

/// The fences this process set itself, so they hold even when Redis is off or failing.
#[derive(Debug, Default)]
struct LocalFences(HashMap<i64, (Fence, Instant)>);

impl LocalFences {
    /// Bounds the map: expired fences are dropped once it grows.
    const PRUNE_AT: usize = 50_000;

    fn get(&self, user_id: i64, now: Instant) -> Fence {
        match self.0.get(&user_id) {
            Some((fence, until)) if *until > now => *fence,
            _ => Fence::None,
        }
    }

    fn raise(&mut self, user_id: i64, fence: Fence, now: Instant) {
        if self.0.len() >= Self::PRUNE_AT {
            self.0.retain(|_, (_, until)| *until > now);
        }
        let current = self.get(user_id, now);
        self.0
            .insert(user_id, (current.max(fence), now + WRITE_FENCE_WINDOW));
    }
}

/// Routes a user's reads of their own data; see the module documentation.
#[derive(Debug, Clone)]
pub struct ReadYourWrites {
    db: Db,
    cache: Cache,
    replication: ReplicationRepository,
    local: Arc<Mutex<LocalFences>>,
    /// Fenced reads (own data, and shared data under a recent-write marker) by route:
    /// `replica` (own data, no fence), `replica_caught_up`,
    /// `primary_replica_behind`, `replica_caught_up_while_primary_waited`,
    /// `primary_fence_unknown`.
    reads: IntCounterVec,
}

impl ReadYourWrites {
    pub fn new(db: Db, cache: Cache) -> Self {
        let reads = IntCounterVec::new(
            Opts::new(
                "lyceum_read_your_writes_reads_total",
                "Reads that must see a recent write (a user's own data; shared data right after an edit), by where they were served and why",
            ),
            &["route"],
        )
        .unwrap_or_else(|e| unreachable!("static metric definition is valid: {e}"));
        Self {
            db,
            cache,
            replication: ReplicationRepository,
            local: Arc::default(),
            reads,
        }
    }

    pub fn register_metrics(&self, registry: &Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.reads.clone()))
    }

    /// The WAL position to fence with, read on the primary connection that just committed.
    /// `None` if it cannot be read; [`Self::wrote`] then fences to the primary.
    pub async fn commit_position(&self, c: &Client) -> Option<String> {
        match self.replication.current_lsn(pg(c)).await {
            Ok(lsn) => Some(lsn),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the WAL position after a commit; the author's reads go to the primary for a while");
                None
            }
        }
    }

    /// Records that `user_id` committed a write at `lsn` (from [`Self::commit_position`]).
    pub async fn wrote(&self, user_id: i64, lsn: Option<&str>) {
        let fence = lsn.map_or(Fence::PrimaryOnly, Fence::from_stored);
        self.local
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .raise(user_id, fence, Instant::now());
        self.cache
            .replace(&WriteFenceKey(user_id), &fence.stored())
            .await;
    }

    /// Records a write that has just committed for each of `user_ids`, reading the WAL position
    /// on a fresh primary connection (at or past any commit that returned before this call).
    /// For use cases whose transaction closure does not hand the position out itself.
    pub async fn wrote_now(&self, user_ids: &[i64]) {
        let lsn = self.position_now().await;
        for &user_id in user_ids {
            self.wrote(user_id, lsn.as_deref()).await;
        }
    }

    /// The primary's WAL position now, on a fresh primary connection: at or past every commit
    /// that returned before this call. `None` if it cannot be read.
    async fn position_now(&self) -> Option<String> {
        let replication = self.replication;
        self.db
            .write(|c| {
                Box::pin(async move { Ok::<_, ServiceError>(replication.current_lsn(pg(c)).await?) })
            })
            .await
            .map_err(|err| {
                tracing::warn!(error = %err, "cannot read the WAL position after a commit; fenced reads go to the primary for a while");
            })
            .ok()
    }

    /// Records a commit that every reader of some shared data must see (a catalog, blog or
    /// review edit): `key` holds the commit's WAL position (or the "primary" marker when it
    /// cannot be read) for its TTL. Call it after the commit, before dropping cached copies.
    pub async fn wrote_shared<K: CacheKey<Value = String>>(&self, key: &K) {
        let position = self.position_now().await;
        let fence = position
            .as_deref()
            .map_or(Fence::PrimaryOnly, Fence::from_stored);
        self.cache.replace(key, &fence.stored()).await;
    }

    /// Runs the read `op` of shared data: on the read pool, except while `key` holds a recent
    /// write's position ([`Self::wrote_shared`]); then on a replica that has replayed it, else
    /// on the primary.
    pub async fn read_shared<K, T, F>(&self, key: &K, op: F) -> Result<T, ServiceError>
    where
        K: CacheKey<Value = String>,
        F: ReadOp<T>,
        T: Send,
    {
        match self.cache.get(key).await {
            Some(position) => self.read_behind(Fence::from_stored(&position), op).await,
            None => self.db.read(op).await,
        }
    }

    async fn fence(&self, user_id: i64) -> Fence {
        let local = self
            .local
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(user_id, Instant::now());
        if !self.cache.enabled() {
            return local;
        }
        let shared = match self.cache.lookup(&WriteFenceKey(user_id)).await {
            Lookup::Hit(text) => Fence::from_stored(&text),
            Lookup::Miss => Fence::None,
            Lookup::Unknown => Fence::PrimaryOnly,
        };
        local.max(shared)
    }

    fn count(&self, route: &str) {
        self.reads.with_label_values(&[route]).inc();
    }

    /// Runs the read `op` of `user_id`'s own data where it is sure to see their writes.
    pub async fn read_own<T, F>(&self, user_id: i64, op: F) -> Result<T, ServiceError>
    where
        F: ReadOp<T>,
        T: Send,
    {
        let fence = self.fence(user_id).await;
        self.read_behind(fence, op).await
    }

    async fn read_behind<T, F>(&self, fence: Fence, op: F) -> Result<T, ServiceError>
    where
        F: ReadOp<T>,
        T: Send,
    {
        match fence {
            Fence::None => {
                self.count("replica");
                self.db.read(op).await
            }
            Fence::PrimaryOnly => {
                self.count("primary_fence_unknown");
                self.db.write(op).await
            }
            Fence::AtLeast(lsn) => self.read_at_least(&lsn.text(), op).await,
        }
    }

    /// A fenced read: on a replica that has replayed `lsn`, else on the primary. While the
    /// primary is slow to answer (no leader during a failover, when a write connection waits
    /// out the retry budget), the replicas are asked again every [`REPLICA_POLL`] and the
    /// first answer wins: the synchronous standby holds every acknowledged commit, so a
    /// user's own reads do not fail while a replica is up. When the primary is healthy it
    /// answers long before the first poll, so this costs nothing then.
    async fn read_at_least<T, F>(&self, lsn: &str, op: F) -> Result<T, ServiceError>
    where
        F: ReadOp<T>,
        T: Send,
    {
        if let Some(value) = self
            .on_replica_if_replayed(lsn, &op, self.db.retry_policy())
            .await?
        {
            self.count("replica_caught_up");
            return Ok(value);
        }
        let primary = self.db.write(op.clone());
        let replicas = async {
            loop {
                tokio::time::sleep(REPLICA_POLL).await;
                // Errors here are the primary path's to report: keep asking until it settles.
                if let Ok(Some(value)) = self
                    .on_replica_if_replayed(lsn, &op, RetryPolicy::NONE)
                    .await
                {
                    return value;
                }
            }
        };
        tokio::select! {
            biased;
            answer = primary => {
                self.count("primary_replica_behind");
                answer
            }
            value = replicas => {
                self.count("replica_caught_up_while_primary_waited");
                Ok(value)
            }
        }
    }

    /// One read on the read pool: `op`'s value if the replica it lands on has replayed
    /// `lsn`, `None` if that replica is behind. Each call checks out a connection afresh, and
    /// the pool hands them out oldest first, so repeated calls reach every replica.
    async fn on_replica_if_replayed<T, F>(
        &self,
        lsn: &str,
        op: &F,
        policy: RetryPolicy,
    ) -> Result<Option<T>, ServiceError>
    where
        F: ReadOp<T>,
        T: Send,
    {
        let replication = self.replication;
        self.db
            .run(PoolKind::Read, policy, |c| {
                let op = op.clone();
                let lsn = lsn.to_owned();
                Box::pin(async move {
                    if !replication.has_replayed(pg(c), &lsn).await? {
                        return Ok(None);
                    }
                    op(c).await.map(Some)
                })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_parse_order_and_print_like_postgres() {
        let a = Lsn::parse("16/B374D848").expect("valid");
        let b = Lsn::parse("17/0").expect("valid");
        assert!(a < b);
        assert_eq!(a.text(), "16/B374D848");
        assert_eq!(Lsn::parse("0/0"), Some(Lsn(0)));
        assert_eq!(Lsn::parse("primary"), None);
        assert_eq!(Lsn::parse("1/"), None);
        assert_eq!(Lsn::parse("100000000/0"), None);
    }

    #[test]
    fn the_stricter_fence_wins() {
        let low = Fence::AtLeast(Lsn(5));
        let high = Fence::AtLeast(Lsn(9));
        assert_eq!(low.max(high), high);
        assert_eq!(Fence::None.max(low), low);
        assert_eq!(high.max(Fence::PrimaryOnly), Fence::PrimaryOnly);
        assert_eq!(Fence::from_stored(PRIMARY_ONLY), Fence::PrimaryOnly);
    }

    #[test]
    fn local_fences_only_rise_and_expire() {
        let mut fences = LocalFences::default();
        let now = Instant::now();
        fences.raise(1, Fence::AtLeast(Lsn(9)), now);
        fences.raise(1, Fence::AtLeast(Lsn(5)), now);
        assert_eq!(fences.get(1, now), Fence::AtLeast(Lsn(9)));
        assert_eq!(fences.get(2, now), Fence::None);
        assert_eq!(fences.get(1, now + WRITE_FENCE_WINDOW), Fence::None);
    }
}
