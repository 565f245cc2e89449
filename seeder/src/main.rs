//! lyceum-seeder: the fake-data seeder.
//!
//! Not built yet: this crate holds its place in the workspace until its issue is done.

use std::process::ExitCode;

fn main() -> ExitCode {
    eprintln!("lyceum-seeder is not implemented yet");
    ExitCode::FAILURE
}
