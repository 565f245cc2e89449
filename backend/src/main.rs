//! lyceum-backend: the REST API for learners, teachers and staff.
//!
//! Not built yet: this crate holds its place in the workspace until its issue is done.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("lyceum-backend is not implemented yet");
    ExitCode::FAILURE
}
