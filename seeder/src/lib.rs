//! lyceum-seeder: realistic, reproducible fake data for every Lyceum table, loaded fast
//! and safely (see docs/SEEDER.md).
//!
//! - [`plan`]: parameters of a data set and row counts per scale.
//! - [`generate`]: pure, deterministic row generation (no I/O).
//! - [`copy`]: binary COPY encoding.
//! - [`dump`]: the same rows written to files (`--dump-dir`) for the `psql \copy` baseline.
//! - [`bulk`]: dropping and rebuilding indexes and foreign keys around a load.
//! - [`foreign_keys`]: all foreign keys suspended for a load, restored and validated after.
//! - [`load`]: one transaction per table, dependency order, parallelism, retries.
//! - [`state`]: the `seeder_state` bookkeeping that makes re-runs no-ops and resumes work.
//! - [`accounts`]: the documented logins and their argon2id hashes.
//! - [`progress`]: progress bars, per-table lines and the summary.
//! - [`cli`]: the command line.
//!
//! Depends on `lyceum-db` for configuration, pools and error classification.

/// `println!` that does not panic when stdout is closed (`lyceum-seeder | head`): the
/// output is a report on work that goes on regardless, so a reader that went away must not
/// stop a load half-way.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use ::std::io::Write as _;
        let _ = ::std::writeln!(::std::io::stdout(), $($arg)*);
    }};
}

pub mod accounts;
pub mod bulk;
pub mod cli;
pub mod copy;
pub mod dump;
pub mod error;
pub mod foreign_keys;
pub mod generate;
pub mod load;
pub mod plan;
pub mod progress;
pub mod rng;
pub mod state;

pub use error::SeedError;
pub use generate::{Lookups, Table, World};
pub use plan::Params;
