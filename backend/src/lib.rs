//! lyceum-backend: the REST API for learners, teachers and staff.
//!
//! Layers, inner to outer (an inner layer never imports an outer one):
//! - [`entity`]: domain types and rules, no I/O;
//! - [`repository`]: SQL through `lyceum_db`, and the Redis cache;
//! - [`usecase`]: operations, transactions, retry and cache policy;
//! - [`controller`]: axum routing, extraction, validation, error mapping.
//!
//! [`app`] wires them together; [`config`] and [`telemetry`] set the process up.

pub mod app;
pub mod config;
pub mod controller;
pub mod entity;
pub mod repository;
pub mod telemetry;
pub mod usecase;
