//! Domain types and rules: plain data, parsing of untrusted input into valid values
//! ("parse, don't validate"), and the decisions that need no I/O (who may edit the catalog,
//! how a page is bounded).
//!
//! Depends on nothing else in this crate and on no I/O library (no database, HTTP or Redis
//! types). Types derive `serde` (responses and cache values) and `utoipa::ToSchema` (the
//! OpenAPI document describes them as they are).

pub mod account;
pub mod blog;
pub mod career;
pub mod catalog;
pub mod certificate;
pub mod course_staff;
pub mod lookup;
pub mod page;
pub mod plan;
pub mod purchase;
pub mod report;
pub mod review;
pub mod submission;
pub mod teacher;
pub mod user;
pub mod validation;

pub use validation::{FieldError, ValidationErrors};
