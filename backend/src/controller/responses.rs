//! The error answers that many operations share, each written once: those that follow from an
//! operation's shape ([`CommonErrors`], added to the whole document), and those that follow
//! from a rule several handlers share (the types below, named in a handler's `responses(...)`).
//! Every one is a problem document (`application/problem+json`, schema `Problem`).

use std::collections::BTreeMap;

use utoipa::{
    IntoResponses, Modify,
    openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder},
};

/// A problem-document answer with this description.
fn problem(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// A unit type whose `IntoResponses` is one problem answer: `shared!(Name, "403", "why")`.
macro_rules! shared {
    ($(#[$doc:meta])* $name:ident, $status:literal, $description:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([($status.to_owned(), problem($description).into())])
            }
        }
    };
}

shared!(
    /// Admin-only operations: account administration and lookup edits.
    AdminOnly, "403", "Not an admin (`forbidden`)"
);
shared!(
    /// Catalog edits: admins, and teachers of the course.
    CatalogEditorsOnly, "403", "Not staff who edit the catalog (`forbidden`)"
);
shared!(
    /// Staff reports.
    StaffOnly, "403", "Not staff (`forbidden`)"
);
shared!(
    /// Career-center edits: partner companies, tracks, application statuses.
    AdminOrSupportOnly, "403", "Not admin or support (`forbidden`)"
);
shared!(
    /// Blog edits.
    SmmOrAdminOnly, "403", "Not smm or admin (`forbidden`)"
);
shared!(
    /// Operations on one course by its id (course edits, submissions, progress).
    NoSuchCourse, "404", "No such course (`not_found`)"
);
shared!(
    /// Operations on one user by id.
    NoSuchUser, "404", "No such user (`not_found`)"
);
shared!(
    /// The buyer's operations on one of their purchases (another's is not found either).
    NoSuchOwnPurchase, "404", "No such purchase of the caller's (`not_found`)"
);
shared!(
    /// Paged lists: `page` or `per_page` outside their ranges (`entity::page`).
    PageOutOfRange, "422", "Out-of-range page values (`validation_failed`)"
);

/// Answers that follow from an operation's shape rather than from its handler, added to every
/// operation that can give them (a handler's own, more specific description wins):
/// - 500 `internal` and 503 `request_timeout` (the per-route timeout): any operation;
/// - 400 `invalid_path` / `invalid_query`: a path or query parameter of the wrong type
///   (`/courses/abc`, `page=x`, an id past `i64`), rejected by the extractor before the handler;
/// - 400 `malformed_json`, 413, 415 and 422 `invalid_body`: any operation with a JSON body;
/// - 401 `missing_token` / `invalid_token` / `token_expired`: any operation with a security
///   requirement.
///
/// Schema-based fuzzing (`scripts/tests/fuzz_test.sh`) found these answers undocumented on a
/// dozen operations; deriving them here keeps new operations truthful too.
#[derive(Debug)]
pub struct CommonErrors;

impl CommonErrors {
    /// (status, description) pairs this operation can answer whatever its handler does.
    fn answers(op: &utoipa::openapi::path::Operation) -> Vec<(&'static str, &'static str)> {
        use utoipa::openapi::path::ParameterIn;
        let mut answers = vec![
            (
                "500",
                "Unexpected failure (`internal`); details only in the server log",
            ),
            (
                "503",
                "The database is failing over (`service_unavailable`) or the request took too \
                 long (`request_timeout`); retry after `Retry-After`",
            ),
        ];
        let typed = op
            .parameters
            .iter()
            .flatten()
            .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query));
        if op.request_body.is_some() {
            answers.extend([
                (
                    "400",
                    "Malformed JSON (`malformed_json`), or a path or query value of the wrong type",
                ),
                ("413", "Body too large (`payload_too_large`)"),
                ("415", "Body not sent as `application/json`"),
                (
                    "422",
                    "The body does not match the schema (`invalid_body`) or fails validation",
                ),
            ]);
        } else if typed {
            answers.push((
                "400",
                "A path or query value of the wrong type (`invalid_path`, `invalid_query`)",
            ));
        }
        if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
            answers.push(("401", "Missing, invalid or expired token"));
        }
        answers
    }
}

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for (status, description) in Self::answers(op) {
                    op.responses
                        .responses
                        .entry(status.into())
                        .or_insert_with(|| problem(description).into());
                }
            }
        }
    }
}
