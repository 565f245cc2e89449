//! What can stop a seeding run, and which of it is worth retrying.

use lyceum_db::{DbError, Retryable, Transient, migrate::MigrateError};

use crate::generate::Table;

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    #[error("bad configuration: {0}")]
    Config(String),
    #[error(
        "the schema lacks the seeder's bookkeeping (seeder_state, seeder_suspended_fks): apply the migrations first \
         (lyceum-migrate, or lyceum-seeder --migrate)"
    )]
    NotMigrated,
    #[error("lookup row {0} is missing; the migration inserts it")]
    MissingLookup(String),
    #[error(
        "this database was seeded with {recorded}, but this run asks for {requested}; \
         run with --reset to delete the seeded data and start over, or repeat the recorded parameters"
    )]
    Mismatch { recorded: String, requested: String },
    #[error(
        "table {0} already holds rows the seeder did not record (written by someone else, \
         or seeded before the bookkeeping existed); run with --reset to start over"
    )]
    ForeignRows(Table),
    #[error("table {table}: generated {expected} rows but COPY stored {copied}")]
    RowCount {
        table: Table,
        expected: u64,
        copied: u64,
    },
    #[error("table {table}: gave up after {attempts} attempts: {source}")]
    GaveUp {
        table: Table,
        attempts: u32,
        source: Box<SeedError>,
    },
    #[error("injected failure while loading {0} (test hook --inject-failure-after)")]
    Injected(Table),
    #[error("the row generator for {0} stopped unexpectedly: {1}")]
    Generator(Table, String),
    #[error("tables {0:?} wait for dependencies that were not loaded")]
    Unschedulable(Vec<Table>),
}

impl From<tokio_postgres::Error> for SeedError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::Db(DbError::Postgres(err))
    }
}

impl Retryable for SeedError {
    fn transient(&self) -> Option<Transient> {
        match self {
            Self::Db(e) => e.transient(),
            Self::Migrate(e) => e.transient(),
            _ => None,
        }
    }
}

impl SeedError {
    /// Exit code: 2 for refusals the user must resolve (parameters, foreign rows, schema),
    /// 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Mismatch { .. } | Self::ForeignRows(_) | Self::NotMigrated | Self::Config(_) => 2,
            Self::GaveUp { source, .. } => source.exit_code(),
            _ => 1,
        }
    }
}
