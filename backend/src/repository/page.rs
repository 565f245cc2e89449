//! One page of a list query, the same way for every list: the statement gets
//! `LIMIT page_size + 1 OFFSET (page - 1) * page_size` as its last two parameters, and the
//! extra row, when it comes, only says that another page follows.

use lyceum_db::DbError;
use tokio_postgres::{Row, types::ToSql};

use super::Queries;
use crate::entity::page::{Page, PageRequest, page_of};

/// Runs `sql` (ordered, without `LIMIT`) with `params` for the rows of `page`, each mapped by
/// `map` (fallible, for columns a domain type must parse).
pub async fn fetch_page<T>(
    c: &impl Queries,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    page: PageRequest,
    map: impl Fn(&Row) -> Result<T, DbError>,
) -> Result<Page<T>, DbError> {
    let limit = i64::from(page.page_size) + 1;
    let offset = page.offset();
    let sql = format!(
        "{sql} LIMIT ${} OFFSET ${}",
        params.len() + 1,
        params.len() + 2
    );
    let mut all = Vec::with_capacity(params.len() + 2);
    all.extend_from_slice(params);
    all.push(&limit as &(dyn ToSql + Sync));
    all.push(&offset);
    let rows = c.query(&sql, &all).await?;
    let items = rows.iter().map(map).collect::<Result<Vec<_>, _>>()?;
    Ok(page_of(items, page.page, page.page_size))
}
