//! Small queries the cluster tests share; stack helpers come from `lyceum_db::testing`.

use lyceum_db::{Client, Db, DbError, DbFuture, PoolKind};

/// Which server answered: (is it a standby, its port).
pub async fn where_am_i(db: &Db, kind: PoolKind) -> Result<(bool, i32), DbError> {
    db.run(kind, db.retry_policy(), server_identity).await
}

fn server_identity(c: &mut Client) -> DbFuture<'_, (bool, i32), DbError> {
    Box::pin(async move {
        let row = c
            .query_one("SELECT pg_is_in_recovery(), inet_server_port()", &[])
            .await?;
        Ok((row.get(0), row.get(1)))
    })
}
