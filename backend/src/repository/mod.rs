//! Data access: SQL through the shared `lyceum_db` crate, and the Redis cache.
//!
//! Repositories are stateless structs whose functions take a connection or transaction
//! (any [`Queries`], which prepares each statement once per connection), so the use case
//! decides the pool, the transaction and the retry policy. They return [`DbError`];
//! [`ViolationExt`] names the integrity rule a failed statement broke so use cases can turn
//! it into a domain error.
//!
//! May depend on `entity`; never on `usecase` or `controller`.

pub mod account;
pub mod blog;
pub mod buyer;
pub mod cache;
pub mod career;
pub mod certificate;
pub mod course;
pub mod course_admin;
pub mod course_staff;
pub mod local_pages;
pub mod login_attempts;
pub mod lookup;
pub mod page;
pub mod plan;
pub mod purchase;
pub mod redis_client;
pub mod refresh_token;
pub mod replication;
pub mod report;
pub mod review;
pub mod session;
pub mod submission;
pub mod teacher;
pub mod user;

use lyceum_db::DbError;
pub use lyceum_db::Queries;
use tokio_postgres::error::SqlState;

/// An integrity rule the database refused a statement for, by constraint name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation<'a> {
    Unique(&'a str),
    Check(&'a str),
    ForeignKey(&'a str),
}

/// Reads the violated constraint off a database error (SQLSTATE 23505, 23514, 23503).
pub trait ViolationExt {
    fn violation(&self) -> Option<Violation<'_>>;
}

impl ViolationExt for DbError {
    fn violation(&self) -> Option<Violation<'_>> {
        let state = self.sqlstate()?;
        let name = self.constraint().unwrap_or("");
        if *state == SqlState::UNIQUE_VIOLATION {
            Some(Violation::Unique(name))
        } else if *state == SqlState::CHECK_VIOLATION {
            Some(Violation::Check(name))
        } else if *state == SqlState::FOREIGN_KEY_VIOLATION {
            Some(Violation::ForeignKey(name))
        } else {
            None
        }
    }
}

/// A pooled connection as repository functions take it, with its statement cache.
pub fn pg(c: &lyceum_db::Client) -> &lyceum_db::ClientWrapper {
    c
}
