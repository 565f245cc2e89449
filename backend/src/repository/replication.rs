//! Where a server stands in the write-ahead log, for read-your-writes (`usecase::consistency`).

use lyceum_db::DbError;

use super::Queries;

/// WAL positions of the primary and the replicas.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplicationRepository;

impl ReplicationRepository {
    /// The primary's current WAL position, as text (`16/B374D848`). Asked right after a
    /// commit on the same connection, it is at or past that commit's record: a synchronous
    /// commit returns only once its WAL is written.
    pub async fn current_lsn(&self, c: &impl Queries) -> Result<String, DbError> {
        let row = c
            .query_one("SELECT pg_current_wal_lsn()::text AS lsn", &[])
            .await?;
        Ok(row.get("lsn"))
    }

    /// Whether the server this connection is on has replayed the WAL up to `lsn`. The primary
    /// (HAProxy's read port falls back to it when no replica is healthy) always has.
    pub async fn has_replayed(&self, c: &impl Queries, lsn: &str) -> Result<bool, DbError> {
        let row = c
            .query_one(
                "SELECT NOT pg_is_in_recovery()
                        OR coalesce(pg_last_wal_replay_lsn() >= $1::text::pg_lsn, false) AS replayed",
                &[&lsn],
            )
            .await?;
        Ok(row.get("replayed"))
    }
}
