//! Bulk-load preparation inside a table's load transaction.
//!
//! Row-by-row foreign-key checks and index maintenance cost several times the COPY itself,
//! so before the COPY the table's foreign keys, unique constraints and secondary indexes are
//! dropped, and afterwards recreated from the definitions the catalog gave
//! (`pg_get_constraintdef`, `pg_get_indexdef`): one sort per index and one anti-join per
//! foreign key instead of millions of lookups. Names and definitions come back exactly as
//! the migration made them. Everything happens in the load's transaction, so a failure
//! or a lost connection rolls the drops back with the rows.
//!
//! Kept in place: the primary key (other tables' foreign keys depend on it, and ids arrive
//! in order, which the btree handles cheaply), unique constraints that a foreign key
//! references, and CHECK constraints (evaluated per row, cheap).

use tokio_postgres::GenericClient;

/// Statements that put back what [`suspend`] removed, in the order to run them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Restore {
    pub statements: Vec<String>,
    pub foreign_keys: usize,
    pub indexes: usize,
}

/// Whether another table's foreign key points at `table` (then it cannot be truncated alone).
pub async fn is_referenced(
    c: &impl GenericClient,
    table: &str,
) -> Result<bool, tokio_postgres::Error> {
    let row = c
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint \
             WHERE contype = 'f' AND confrelid = to_regclass($1) AND conrelid <> confrelid)",
            &[&table],
        )
        .await?;
    Ok(row.get(0))
}

/// Drops the foreign keys, unreferenced unique constraints and secondary indexes of `table`.
pub async fn suspend(
    c: &impl GenericClient,
    table: &str,
) -> Result<Restore, tokio_postgres::Error> {
    // Sorted by referenced table so concurrent loads lock parents in one global order.
    let foreign_keys = c
        .query(
            "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = to_regclass($1) AND contype = 'f' \
             ORDER BY confrelid::regclass::text, conname",
            &[&table],
        )
        .await?;
    let uniques = c
        .query(
            "SELECT u.conname::text, pg_get_constraintdef(u.oid) FROM pg_constraint u \
             WHERE u.conrelid = to_regclass($1) AND u.contype = 'u' \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' \
                             AND f.confrelid = u.conrelid AND f.conindid = u.conindid) \
             ORDER BY u.conname",
            &[&table],
        )
        .await?;
    let indexes = c
        .query(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i \
             WHERE i.indrelid = to_regclass($1) \
             AND NOT EXISTS (SELECT 1 FROM pg_constraint c \
                             WHERE c.conrelid = i.indrelid AND c.conindid = i.indexrelid) \
             ORDER BY 1",
            &[&table],
        )
        .await?;

    let quoted = quote_ident(table);
    let mut drop = Vec::new();
    let mut restore = Restore::default();
    let constraint_names = foreign_keys
        .iter()
        .chain(&uniques)
        .map(|r| r.get::<_, String>(0));
    let drops: Vec<String> = constraint_names
        .map(|name| format!("DROP CONSTRAINT {}", quote_ident(&name)))
        .collect();
    if !drops.is_empty() {
        drop.push(format!("ALTER TABLE {quoted} {}", drops.join(", ")));
    }
    if !indexes.is_empty() {
        let names: Vec<String> = indexes.iter().map(|r| r.get::<_, String>(0)).collect();
        drop.push(format!("DROP INDEX {}", names.join(", ")));
    }
    for r in &uniques {
        restore.statements.push(format!(
            "ALTER TABLE {quoted} ADD CONSTRAINT {} {}",
            quote_ident(&r.get::<_, String>(0)),
            r.get::<_, String>(1)
        ));
    }
    for r in &indexes {
        restore.statements.push(r.get(1));
    }
    restore.indexes = uniques.len() + indexes.len();
    if !foreign_keys.is_empty() {
        let adds: Vec<String> = foreign_keys
            .iter()
            .map(|r| {
                format!(
                    "ADD CONSTRAINT {} {}",
                    quote_ident(&r.get::<_, String>(0)),
                    r.get::<_, String>(1)
                )
            })
            .collect();
        restore
            .statements
            .push(format!("ALTER TABLE {quoted} {}", adds.join(", ")));
        restore.foreign_keys = foreign_keys.len();
    }
    for statement in drop {
        c.batch_execute(&statement).await?;
    }
    Ok(restore)
}

/// Runs the statements [`suspend`] returned: indexes are built, foreign keys validated.
pub async fn restore(
    c: &impl GenericClient,
    restore: &Restore,
) -> Result<(), tokio_postgres::Error> {
    for statement in &restore.statements {
        c.batch_execute(statement).await?;
    }
    Ok(())
}

/// `"name"`, with embedded quotes doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident("users"), "\"users\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
