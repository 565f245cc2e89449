//! Database errors and their classification for failover handling.
//!
//! During a Patroni role change the write path briefly sees closed connections,
//! admin shutdowns (57P01–57P03), read-only transactions (25006) on a demoted
//! leader, and pool timeouts while HAProxy has no server. Those are [`Transient`]:
//! worth retrying within a budget, and worth a 503 rather than a 500 if the budget runs out.

use std::{error::Error as _, fmt, io};

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

/// Anything that can go wrong talking to PostgreSQL through the pools.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {}", crate::tls::describe(.0))]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database pool: {}", describe_pool(.0))]
    Pool(#[from] PoolError),
    /// The write port led to a server that is not (or no longer) the primary.
    #[error("the write port reached a server that is not the primary")]
    NotPrimary,
    #[error("timed out after {0:?} waiting for the database")]
    Timeout(std::time::Duration),
    /// A row held a value the schema should have ruled out (e.g. an unknown status code).
    #[error("unexpected data in the database: {0}")]
    Decode(String),
}

/// Why an error is worth retrying; also the `reason` label on retry metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transient {
    /// The socket broke or could not be opened (server died, HAProxy cut the session).
    ConnectionLost,
    /// The server is shutting down or starting up (57P01, 57P02, 57P03).
    ServerUnavailable,
    /// A write reached a read-only server: a leader that was just demoted (25006).
    ReadOnly,
    /// The pool gave us no connection within its checkout timeout.
    PoolTimeout,
    /// A new write-pool connection turned out to be on a replica.
    NotPrimary,
    /// Serialization failure (40001); the transaction can simply run again.
    Serialization,
    /// Deadlock victim (40P01); the transaction can simply run again.
    Deadlock,
}

impl Transient {
    pub fn label(self) -> &'static str {
        match self {
            Self::ConnectionLost => "connection_lost",
            Self::ServerUnavailable => "server_unavailable",
            Self::ReadOnly => "read_only",
            Self::PoolTimeout => "pool_timeout",
            Self::NotPrimary => "not_primary",
            Self::Serialization => "serialization",
            Self::Deadlock => "deadlock",
        }
    }

    /// Whether the connection that produced this error must be thrown away
    /// instead of going back to the pool (it may point at a demoted leader).
    pub fn poisons_connection(self) -> bool {
        matches!(
            self,
            Self::ConnectionLost | Self::ServerUnavailable | Self::ReadOnly | Self::NotPrimary
        )
    }
}

impl fmt::Display for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Classifies a driver error; `None` means permanent (a bug, a constraint, bad input).
pub fn classify_pg(err: &tokio_postgres::Error) -> Option<Transient> {
    if let Some(code) = err.code() {
        return classify_sqlstate(code);
    }
    // A certificate that does not verify will not verify on the next attempt either.
    if crate::tls::tls_refusal(err).is_some() {
        return None;
    }
    if err.is_closed() || has_io_source(err) {
        return Some(Transient::ConnectionLost);
    }
    // Connect and handshake time-outs carry no source; the driver's message is the only marker.
    let text = err.to_string();
    if text.starts_with("timeout") || text.starts_with("error connecting") {
        return Some(Transient::ConnectionLost);
    }
    None
}

/// Classifies a SQLSTATE; codes outside the failover set are permanent.
pub fn classify_sqlstate(code: &SqlState) -> Option<Transient> {
    let c = code.code();
    match c {
        // 53300: too many connections, e.g. while clients reconnect after a failover.
        "57P01" | "57P02" | "57P03" | "53300" => Some(Transient::ServerUnavailable),
        "25006" => Some(Transient::ReadOnly),
        "40001" => Some(Transient::Serialization),
        "40P01" => Some(Transient::Deadlock),
        // Class 08: connection exceptions reported by the server itself.
        _ if c.starts_with("08") => Some(Transient::ConnectionLost),
        _ => None,
    }
}

/// The pool's text, with a TLS refusal spelled out (deadpool shows only the driver's text).
fn describe_pool(err: &PoolError) -> String {
    match err {
        PoolError::Backend(e) => crate::tls::describe(e),
        other => other.to_string(),
    }
}

fn has_io_source(err: &tokio_postgres::Error) -> bool {
    let mut source = err.source();
    while let Some(s) = source {
        if s.is::<io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

impl DbError {
    /// The failover class of this error, or `None` when retrying cannot help.
    pub fn transient(&self) -> Option<Transient> {
        match self {
            Self::Postgres(e) => classify_pg(e),
            Self::Pool(PoolError::Timeout(_)) => Some(Transient::PoolTimeout),
            // A server that answered with a SQLSTATE said exactly what is wrong (no such
            // database, bad password): only the failover codes are worth a retry. Without one,
            // opening the connection failed on the way, which a failover explains.
            Self::Pool(PoolError::Backend(e))
                if e.code().is_some() || crate::tls::tls_refusal(e).is_some() =>
            {
                classify_pg(e)
            }
            Self::Pool(PoolError::Backend(e)) => classify_pg(e).or(Some(Transient::ConnectionLost)),
            Self::Pool(PoolError::PostCreateHook(_)) | Self::NotPrimary => {
                Some(Transient::NotPrimary)
            }
            Self::Pool(PoolError::Closed | PoolError::NoRuntimeSpecified) => None,
            Self::Timeout(_) => Some(Transient::ConnectionLost),
            Self::Decode(_) => None,
        }
    }

    /// The SQLSTATE if the server reported one (e.g. 23505 for a unique violation).
    pub fn sqlstate(&self) -> Option<&SqlState> {
        match self {
            Self::Postgres(e) => e.code(),
            Self::Pool(PoolError::Backend(e)) => e.code(),
            _ => None,
        }
    }

    /// Whether the server refused a value the client sent: SQLSTATE class 22 (data exception:
    /// a NUL or an invalid byte in text, a number out of range, a string too long) or 54000
    /// (program limit, e.g. an index row too large). Retrying cannot help; the request is at
    /// fault, so the API answers 422 instead of 500.
    pub fn is_rejected_value(&self) -> bool {
        self.sqlstate()
            .is_some_and(|c| c.code().starts_with("22") || c.code() == "54000")
    }

    /// The constraint a violated integrity rule names, for mapping to domain errors.
    pub fn constraint(&self) -> Option<&str> {
        match self {
            Self::Postgres(e) => e.as_db_error().and_then(|d| d.constraint()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_sqlstates_are_transient() {
        assert_eq!(
            classify_sqlstate(&SqlState::ADMIN_SHUTDOWN),
            Some(Transient::ServerUnavailable)
        );
        assert_eq!(
            classify_sqlstate(&SqlState::CRASH_SHUTDOWN),
            Some(Transient::ServerUnavailable)
        );
        assert_eq!(
            classify_sqlstate(&SqlState::CANNOT_CONNECT_NOW),
            Some(Transient::ServerUnavailable)
        );
        assert_eq!(
            classify_sqlstate(&SqlState::READ_ONLY_SQL_TRANSACTION),
            Some(Transient::ReadOnly)
        );
        assert_eq!(
            classify_sqlstate(&SqlState::T_R_SERIALIZATION_FAILURE),
            Some(Transient::Serialization)
        );
        assert_eq!(
            classify_sqlstate(&SqlState::T_R_DEADLOCK_DETECTED),
            Some(Transient::Deadlock)
        );
        assert_eq!(
            classify_sqlstate(&SqlState::CONNECTION_FAILURE),
            Some(Transient::ConnectionLost)
        );
    }

    #[test]
    fn data_errors_are_permanent() {
        for code in [
            SqlState::UNIQUE_VIOLATION,
            SqlState::CHECK_VIOLATION,
            SqlState::FOREIGN_KEY_VIOLATION,
            SqlState::SYNTAX_ERROR,
            SqlState::QUERY_CANCELED,
            SqlState::OBJECT_NOT_IN_PREREQUISITE_STATE,
        ] {
            assert_eq!(classify_sqlstate(&code), None, "{code:?}");
        }
    }

    #[test]
    fn only_connection_level_failures_poison_the_connection() {
        assert!(Transient::ReadOnly.poisons_connection());
        assert!(Transient::ConnectionLost.poisons_connection());
        assert!(!Transient::Serialization.poisons_connection());
        assert!(!Transient::PoolTimeout.poisons_connection());
    }

    #[test]
    fn pool_timeout_is_transient() {
        let err = DbError::Pool(PoolError::Timeout(deadpool_postgres::TimeoutType::Wait));
        assert_eq!(err.transient(), Some(Transient::PoolTimeout));
        assert_eq!(DbError::Pool(PoolError::Closed).transient(), None);
    }
}
