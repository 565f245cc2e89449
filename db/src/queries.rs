//! [`Queries`]: what repositories run SQL on, a pooled connection or a transaction on one.
//!
//! Every statement is prepared once per connection and then reused (deadpool's statement
//! cache). tokio-postgres given SQL text prepares an unnamed statement first and waits for
//! its description before it can bind, so each statement cost two round trips and a parse
//! and plan on the server; a cached statement costs one round trip and no parse. The cache
//! lives and dies with its connection, so a failover, which replaces the connections, also
//! replaces the statements.
//!
//! Callers pass SQL text whose values are all parameters (`$1`, `$2`, …): the set of texts is
//! then bounded by the code (the course list's filters combine into a few dozen), and so is
//! each connection's cache.

use std::future::Future;

use deadpool_postgres::{ClientWrapper, StatementCache, Transaction};
use tokio_postgres::{Client as PgClient, Error, Row, Statement, error::SqlState, types::ToSql};

/// Runs statements prepared once per connection. Implemented for a pooled connection
/// ([`crate::Client`] derefs to [`ClientWrapper`]) and for a [`Transaction`] on one.
pub trait Queries: Sync {
    /// All rows.
    fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Vec<Row>, Error>> + Send;

    /// Exactly one row, or an error.
    fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Row, Error>> + Send;

    /// At most one row.
    fn query_opt(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<Option<Row>, Error>> + Send;

    /// The number of rows changed.
    fn execute(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> impl Future<Output = Result<u64, Error>> + Send;
}

/// Prepares (or finds) `sql` in `cache`, then runs `run` with the statement. A statement the
/// server no longer accepts as prepared (a table it reads was altered since: "cached plan
/// must not change result type", or the statement is gone) leaves the cache, so the next
/// call prepares it afresh; the error still reaches the caller, since inside a transaction
/// nothing can be retried after it.
async fn with_statement<'a, T, F, Fut>(
    client: &'a PgClient,
    cache: &StatementCache,
    sql: &str,
    run: F,
) -> Result<T, Error>
where
    F: FnOnce(&'a PgClient, Statement) -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    let statement = cache.prepare(client, sql).await?;
    let result = run(client, statement).await;
    if let Err(err) = &result
        && matches!(
            err.code(),
            Some(&SqlState::FEATURE_NOT_SUPPORTED | &SqlState::INVALID_SQL_STATEMENT_NAME)
        )
    {
        cache.remove(sql, &[]);
    }
    result
}

/// `Queries` for a type, given how to reach its driver client and statement cache.
macro_rules! cached_queries {
    ($ty:ty, |$this:ident| $client:expr) => {
        impl Queries for $ty {
            async fn query(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Vec<Row>, Error> {
                let $this = self;
                with_statement($client, &self.statement_cache, sql, |c, s| async move {
                    c.query(&s, params).await
                })
                .await
            }

            async fn query_one(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Row, Error> {
                let $this = self;
                with_statement($client, &self.statement_cache, sql, |c, s| async move {
                    c.query_one(&s, params).await
                })
                .await
            }

            async fn query_opt(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<Option<Row>, Error> {
                let $this = self;
                with_statement($client, &self.statement_cache, sql, |c, s| async move {
                    c.query_opt(&s, params).await
                })
                .await
            }

            async fn execute(
                &self,
                sql: &str,
                params: &[&(dyn ToSql + Sync)],
            ) -> Result<u64, Error> {
                let $this = self;
                with_statement($client, &self.statement_cache, sql, |c, s| async move {
                    c.execute(&s, params).await
                })
                .await
            }
        }
    };
}

cached_queries!(ClientWrapper, |this| this);
cached_queries!(Transaction<'_>, |this| this.client());
