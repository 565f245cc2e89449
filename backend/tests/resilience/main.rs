//! The backend while the cluster changes under it: switchovers, a leader node dying, replicas
//! applying late, Redis stopped or hung, and two instances sharing one Redis.
//!
//! Kept apart from the `api` binary so that no API test runs while a leader moves (cargo runs
//! test binaries one after another). Within this binary every test holds
//! `lyceum_db::testing::CLUSTER` for its whole run: those that change the cluster so they never
//! overlap, and those that time requests so no switchover lands inside their measurement.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod cache_outage;
mod cache_two_instances;
mod domain_switchover;
mod learning_switchover;
mod purchase_failover;
mod switchover;
