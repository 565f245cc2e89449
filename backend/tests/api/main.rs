//! The API's behaviour over HTTP, one app per test on its own fresh database: every feature's
//! routes, and the security tests (tokens, login throttling, authorization matrix, hostile
//! input). One binary, so the backend is linked once for all of them.
//!
//! Nothing here changes the cluster; tests that do live in the `resilience` binary, which
//! cargo never runs at the same time as this one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod accounts;
mod auth;
mod blog;
mod career;
mod catalog;
mod certificates;
mod course_lists;
mod course_staff;
mod course_submissions;
mod docs;
mod learning_report;
mod lookups;
mod prices;
mod purchases;
mod reports;
mod reviews;
mod rollups;
mod security_auth;
mod security_authz;
mod security_input;
mod sessions;
mod skeleton;
mod staff;
mod submissions;
mod teachers;
