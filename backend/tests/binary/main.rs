//! The built `lyceum-backend` binary as a child process: its command line, its JSON logs and
//! SIGTERM, and that no secret reaches its logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod command_line;
mod json_logs;
mod security_binary;
