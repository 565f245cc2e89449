//! lyceum-loadtest: the goose load generator and failover drill.
//!
//! Not built yet: this crate holds its place in the workspace until its issue is done.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("lyceum-loadtest is not implemented yet");
    ExitCode::FAILURE
}
