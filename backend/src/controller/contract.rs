//! What the OpenAPI document states beyond the handlers' annotations, so that it is exact:
//! - every validation limit of a body field or a parameter ([`PROPERTIES`], [`PARAMETERS`]),
//!   built from the constants the parsing in `entity` uses, so the two cannot drift;
//! - the `Location` header of every `201 Created`;
//! - the links from each create to the operations that take the new id ([`LINKS`]), which
//!   client generators and stateful testing (schemathesis) follow.
//!
//! Two kinds of rule cannot be written in JSON Schema and stay in the descriptions only: a
//! rule relative to today (a birth date not in the future) and a rule between two fields
//! (`from` not after `to`, a run's sales ending by its start, `min_price` not above
//! `max_price`, `sort=relevance` needing `q`). `scripts/tests/fuzz_hooks.py` keeps
//! schemathesis' valid examples within them.
//!
//! Each table entry names a schema property or a parameter; a test checks that every entry
//! still finds its target, so a renamed field fails the build's tests instead of silently
//! dropping its limit.

use serde_json::{Map, Value, json};

use super::auth::REFRESH_TOKEN_MAX;
use crate::entity::{
    account, blog, career, catalog, lookup,
    page::{MAX_PAGE, MAX_PAGE_SIZE},
    purchase::IdempotencyKey,
    report,
    review::{MAX_BODY_CHARS, MAX_RATING},
    submission, teacher,
    user::{self, Email, Password},
    validation::{URL_AUTHORITY_PATTERN, URL_MAX, whitespace_class},
};

/// NUL, in a regex: PostgreSQL text cannot hold it, so no string field accepts it.
const NUL: &str = "\\u0000";

/// What a field accepts, in terms of the `entity` validators.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// `validation::text`: not blank after trimming, at most this many characters.
    Text(usize),
    /// `validation::long_text`: at most this many characters, may be empty.
    LongText(usize),
    /// `validation::in_range`.
    Range(i64, i64),
    /// At least this integer.
    AtLeast(i64),
    /// `validation::url`: an absolute http(s) URL without whitespace.
    Url,
    /// `user::Email`.
    Email,
    /// `user::Password`.
    Password,
    /// `user::phone`.
    Phone,
    /// Characters `[a-z0-9_-]` (`catalog::lookup_code`), or any case (the list filters).
    Code { any_case: bool },
    /// A lookup row's own slug or code: this pattern, at most `catalog::CODE_MAX` characters
    /// (`lookup::specialization_slug`, `lookup::level_code`).
    Identifier(&'static str),
    /// `purchase::IdempotencyKey`: visible ASCII.
    Key,
    /// `report::Month`.
    Month,
    /// A date from 1900 on (`user::birth_date`; "not after today" is in the description).
    Since1900,
    /// A date in 2000..=2099 (`career::applied_on`).
    In2000s,
    /// At most this many entries, each following the inner rule.
    Items(usize, Option<&'static Rule>),
}

const TAG: Rule = Rule::Text(blog::TAG_MAX);
const TECHNOLOGY: Rule = Rule::Text(catalog::TECHNOLOGY_MAX);

impl Rule {
    /// The JSON Schema keywords of this rule.
    fn keywords(self) -> Map<String, Value> {
        let ws = whitespace_class();
        let value = match self {
            Self::Text(max) => json!({
                "minLength": 1,
                "maxLength": max,
                "pattern": format!("^[^{NUL}]*[^{NUL}{ws}][^{NUL}]*$"),
            }),
            Self::LongText(max) => json!({"maxLength": max, "pattern": format!("^[^{NUL}]*$")}),
            Self::Range(min, max) => json!({"minimum": min, "maximum": max}),
            Self::AtLeast(min) => json!({"minimum": min}),
            Self::Url => json!({
                "maxLength": URL_MAX,
                "pattern": format!("^https?://{URL_AUTHORITY_PATTERN}([/?#][^{NUL}{ws}]*)?$"),
            }),
            Self::Email => json!({
                "maxLength": Email::MAX_LEN,
                "pattern": format!("^[^@{NUL}{ws}]+@[^@{NUL}{ws}]*\\.[^@{NUL}{ws}]*$"),
            }),
            Self::Password => json!({"minLength": Password::MIN, "maxLength": Password::MAX}),
            Self::Phone => {
                let p = regex_escape(user::PHONE_PUNCTUATION);
                json!({
                    "maxLength": user::PHONE_MAX,
                    "pattern": format!(
                        "^[{p}]*([0-9][{p}]*){{{},{}}}$",
                        user::PHONE_DIGITS_MIN,
                        user::PHONE_DIGITS_MAX
                    ),
                })
            }
            Self::Code { any_case } => json!({
                "minLength": 1,
                "maxLength": catalog::CODE_MAX,
                "pattern": if any_case { "^[A-Za-z0-9_-]+$" } else { "^[a-z0-9_-]+$" },
            }),
            Self::Identifier(pattern) => json!({
                "minLength": 1,
                "maxLength": catalog::CODE_MAX,
                "pattern": pattern,
            }),
            Self::Key => json!({
                "minLength": 1,
                "maxLength": IdempotencyKey::MAX_LEN,
                "pattern": "^[!-~]+$",
            }),
            Self::Month => json!({"pattern": report::MONTH_PATTERN}),
            Self::Since1900 => json!({"pattern": "^(19|[2-9][0-9])[0-9]{2}-"}),
            Self::In2000s => json!({"pattern": career::DATE_2000S_PATTERN}),
            Self::Items(max, _) => json!({"maxItems": max}),
        };
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    /// Adds this rule's keywords to `schema` (and to its items, for [`Rule::Items`]).
    fn apply(self, schema: &mut Value) {
        if let Value::Object(target) = schema {
            target.extend(self.keywords());
            if let (Self::Items(_, Some(each)), Some(items)) = (self, target.get_mut("items")) {
                each.apply(items);
            }
        }
    }
}

/// `s` with the characters that are special inside a regex character class escaped.
fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '-' | '\\' | ']' | '^' => format!("\\{c}"),
            c => c.to_string(),
        })
        .collect()
}

/// The schemas of a create and its update, which share their fields' rules.
const COMPANY: &[&str] = &["CompanyCreateRequest", "CompanyUpdateRequest"];
const COURSE: &[&str] = &["CourseCreateRequest", "CourseUpdateRequest"];
const DIFFICULTY: &[&str] = &["DifficultyCreateRequest", "DifficultyUpdateRequest"];
const SPECIALIZATION: &[&str] = &["SpecializationCreateRequest", "SpecializationUpdateRequest"];
const ME: &[&str] = &["RegisterRequest", "UpdateMeRequest"];
const POST: &[&str] = &["PostCreateRequest", "PostUpdateRequest"];
const REVIEW: &[&str] = &["ReviewCreateRequest", "ReviewUpdateRequest"];
const RUN: &[&str] = &["RunCreateRequest", "RunUpdateRequest"];
const TOPIC: &[&str] = &["TopicCreateRequest", "TopicUpdateRequest"];
const TRACK: &[&str] = &["TrackCreateRequest", "TrackUpdateRequest"];

/// (component schemas, property, rule).
#[rustfmt::skip]
const PROPERTIES: &[(&[&str], &str, Rule)] = &[
    (&["RegisterRequest"], "email", Rule::Email),
    // Any string may be tried at login, but PostgreSQL text holds no NUL (422 `invalid_value`).
    (&["LoginRequest"], "email", Rule::LongText(Email::MAX_LEN)),
    // Any string may be presented (unknown ones are 401), but text holds no NUL.
    (&["RefreshRequest"], "refresh_token", Rule::LongText(REFRESH_TOKEN_MAX)),
    (&["RegisterRequest"], "password", Rule::Password),
    (&["ChangePasswordRequest"], "new_password", Rule::Password),
    (&["ChangeEmailRequest"], "email", Rule::Email),
    (ME, "first_name", Rule::Text(user::PERSON_NAME_MAX)),
    (ME, "last_name", Rule::Text(user::PERSON_NAME_MAX)),
    (ME, "birth_date", Rule::Since1900),
    (ME, "phone", Rule::Phone),
    (ME, "photo_url", Rule::Url),
    (ME, "national_id", Rule::Text(user::NATIONAL_ID_MAX)),
    (COURSE, "title", Rule::Text(catalog::COURSE_TITLE_MAX)),
    (COURSE, "description", Rule::LongText(catalog::DESCRIPTION_MAX)),
    (COURSE, "specialization", Rule::Code { any_case: false }),
    (COURSE, "difficulty", Rule::Code { any_case: false }),
    (COURSE, "duration_weeks", Rule::Range(1, catalog::DURATION_WEEKS_MAX as i64)),
    (COURSE, "price", Rule::Range(0, catalog::MAX_PRICE)),
    (SPECIALIZATION, "slug", Rule::Identifier(lookup::SLUG_PATTERN)),
    (SPECIALIZATION, "name", Rule::Text(lookup::LOOKUP_NAME_MAX)),
    (SPECIALIZATION, "description", Rule::LongText(lookup::LOOKUP_DESCRIPTION_MAX)),
    (DIFFICULTY, "code", Rule::Identifier(lookup::LEVEL_CODE_PATTERN)),
    (DIFFICULTY, "name", Rule::Text(lookup::LOOKUP_NAME_MAX)),
    (DIFFICULTY, "sort_order", Rule::Range(1, lookup::SORT_ORDER_MAX as i64)),
    (&["TeacherProfileRequest"], "specialization", Rule::Code { any_case: false }),
    (&["TeacherProfileRequest"], "workplace", Rule::Text(teacher::WORKPLACE_MAX)),
    (&["TeacherProfileRequest"], "years_experience", Rule::Range(0, teacher::YEARS_MAX as i64)),
    (&["TeacherProfileRequest"], "years_in_specialization", Rule::Range(0, teacher::YEARS_MAX as i64)),
    (&["TeacherProfileRequest"], "photo_url", Rule::Url),
    (&["ProjectInput"], "title", Rule::Text(catalog::TOPIC_NAME_MAX)),
    (&["ProjectInput"], "description", Rule::LongText(catalog::PROJECT_DESCRIPTION_MAX)),
    (TOPIC, "name", Rule::Text(catalog::TOPIC_NAME_MAX)),
    (TOPIC, "description", Rule::LongText(catalog::DESCRIPTION_MAX)),
    (TOPIC, "technologies", Rule::Items(catalog::TECHNOLOGIES_MAX, Some(&TECHNOLOGY))),
    (TOPIC, "effort_hours", Rule::Range(1, catalog::EFFORT_HOURS_MAX as i64)),
    (TOPIC, "position", Rule::Range(1, catalog::POSITION_MAX as i64)),
    (TOPIC, "projects", Rule::Items(catalog::PROJECTS_MAX, None)),
    (RUN, "seats_total", Rule::Range(1, catalog::SEATS_TOTAL_MAX as i64)),
    (&["PurchaseRequest"], "course_run_id", Rule::AtLeast(1)),
    (REVIEW, "rating", Rule::Range(1, MAX_RATING as i64)),
    (REVIEW, "body", Rule::LongText(MAX_BODY_CHARS)),
    (COMPANY, "short_name", Rule::Text(career::SHORT_NAME_MAX)),
    (COMPANY, "legal_name", Rule::Text(career::LEGAL_NAME_MAX)),
    (COMPANY, "requirements", Rule::LongText(career::REQUIREMENTS_MAX)),
    (&["TrackCreateRequest"], "support_start", Rule::In2000s),
    (TRACK, "resume_url", Rule::Url),
    (&["ApplicationCreateRequest"], "applied_on", Rule::In2000s),
    (POST, "title", Rule::Text(blog::TITLE_MAX)),
    (POST, "topic", Rule::Text(blog::TOPIC_MAX)),
    (POST, "reading_minutes", Rule::Range(1, blog::READING_MINUTES_MAX as i64)),
    (POST, "cover_url", Rule::Url),
    (POST, "body", Rule::Text(blog::BODY_MAX)),
    (POST, "tags", Rule::Items(blog::MAX_TAGS, Some(&TAG))),
    (&["SubmissionRequest"], "project_id", Rule::AtLeast(1)),
    (&["SubmissionRequest"], "repository_url", Rule::Url),
    (&["SubmissionRequest"], "note", Rule::LongText(submission::MAX_TEXT_CHARS)),
    (&["AcceptRequest"], "feedback", Rule::LongText(submission::MAX_TEXT_CHARS)),
    (&["ReturnRequest"], "feedback", Rule::Text(submission::MAX_TEXT_CHARS)),
    (&["CommentRequest"], "body", Rule::Text(submission::MAX_TEXT_CHARS)),
];

/// (path, or `*` for every operation; parameter name; rule).
#[rustfmt::skip]
const PARAMETERS: &[(&str, &str, Rule)] = &[
    ("*", "page", Rule::Range(1, MAX_PAGE as i64)),
    ("*", "page_size", Rule::Range(1, MAX_PAGE_SIZE as i64)),
    ("*", "Idempotency-Key", Rule::Key),
    ("/api/v1/courses", "specialization", Rule::Code { any_case: true }),
    ("/api/v1/courses", "difficulty", Rule::Code { any_case: true }),
    ("/api/v1/courses", "min_price", Rule::Range(0, catalog::MAX_PRICE)),
    ("/api/v1/courses", "max_price", Rule::Range(0, catalog::MAX_PRICE)),
    ("/api/v1/courses", "q", Rule::LongText(catalog::SEARCH_MAX)),
    ("/api/v1/users", "email", Rule::Text(account::EMAIL_SEARCH_MAX)),
    ("/api/v1/blog/posts", "tag", Rule::LongText(blog::TAG_MAX)),
    ("/api/v1/reports/top-courses", "limit", Rule::Range(1, report::TOP_COURSES_MAX as i64)),
    ("/api/v1/reports/employment", "limit", Rule::Range(1, report::EMPLOYMENT_ROWS_MAX as i64)),
    ("/api/v1/reports/learning", "limit", Rule::Range(1, report::LEARNING_COURSES_MAX as i64)),
    ("/api/v1/reports/revenue", "from", Rule::Month),
    ("/api/v1/reports/revenue", "to", Rule::Month),
];

/// A link from a create's 201: (create operation, link name, target operation, the target's
/// parameters as (name, runtime expression)).
type Link = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const NEW_ID: &[(&str, &str)] = &[("id", "$response.body#/id")];
const NEW_TOPIC: &[(&str, &str)] = &[
    ("id", "$request.path.id"),
    ("topic_id", "$response.body#/id"),
];
const NEW_RUN: &[(&str, &str)] = &[("id", "$request.path.id"), ("run_id", "$response.body#/id")];

#[rustfmt::skip]
const LINKS: &[Link] = &[
    ("create_course", "GetCourse", "course", NEW_ID),
    ("create_course", "UpdateCourse", "update_course", NEW_ID),
    ("create_course", "DeleteCourse", "delete_course", NEW_ID),
    ("create_course", "AddTopic", "add_topic", NEW_ID),
    ("create_course", "AddRun", "add_run", NEW_ID),
    ("create_course", "ReviewCourse", "create_review", NEW_ID),
    ("add_topic", "UpdateTopic", "update_topic", NEW_TOPIC),
    ("add_topic", "DeleteTopic", "delete_topic", NEW_TOPIC),
    ("add_run", "UpdateRun", "update_run", NEW_RUN),
    ("add_run", "DeleteRun", "delete_run", NEW_RUN),
    ("create_staff", "GetAccount", "get_account", NEW_ID),
    ("create_staff", "SetRole", "set_role", NEW_ID),
    ("create_staff", "Deactivate", "deactivate", NEW_ID),
    ("create_specialization", "UpdateSpecialization", "update_specialization", NEW_ID),
    ("create_specialization", "DeleteSpecialization", "delete_specialization", NEW_ID),
    ("create_difficulty_level", "UpdateDifficultyLevel", "update_difficulty_level", NEW_ID),
    ("create_difficulty_level", "DeleteDifficultyLevel", "delete_difficulty_level", NEW_ID),
    ("create", "GetPurchase", "get_one", NEW_ID),
    ("create", "PayPurchase", "pay", NEW_ID),
    ("create", "CancelPurchase", "cancel", NEW_ID),
    ("create", "RefundPurchase", "refund", NEW_ID),
    ("create_review", "UpdateReview", "update_review", NEW_ID),
    ("create_review", "DeleteReview", "delete_review", NEW_ID),
    ("issue", "VerifyCertificate", "verify", &[("serial_number", "$response.body#/serial_number")]),
    ("create_company", "UpdateCompany", "update_company", NEW_ID),
    ("create_track", "UpdateTrack", "update_track", NEW_ID),
    ("create_track", "ListApplications", "applications", NEW_ID),
    ("create_track", "Apply", "apply", NEW_ID),
    ("apply", "SetApplicationStatus", "set_status", NEW_ID),
    ("create_post", "GetPost", "post", NEW_ID),
    ("create_post", "UpdatePost", "update_post", NEW_ID),
    ("create_post", "DeletePost", "delete_post", NEW_ID),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every operation of the document with its path.
fn operations(doc: &mut Value) -> impl Iterator<Item = (String, &mut Map<String, Value>)> {
    doc.get_mut("paths")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .flat_map(|(path, item)| {
            item.as_object_mut()
                .into_iter()
                .flat_map(|item| item.iter_mut())
                .filter(|(method, _)| METHODS.contains(&method.as_str()))
                .filter_map(move |(_, op)| op.as_object_mut().map(|op| (path.clone(), op)))
        })
}

/// Applies every table to `doc`; returns the entries that found no target (empty when the
/// tables and the handlers agree).
pub fn apply(doc: &mut Value) -> Vec<String> {
    let mut missing = Vec::new();
    for &(schemas, property, rule) in PROPERTIES {
        for schema in schemas {
            let pointer = format!("/components/schemas/{schema}/properties/{property}");
            match doc.pointer_mut(&pointer) {
                Some(target) => rule.apply(target),
                None => missing.push(format!("property {schema}.{property}")),
            }
        }
    }
    for &(path, name, rule) in PARAMETERS {
        let mut found = false;
        for (op_path, op) in operations(doc) {
            if path != "*" && path != op_path {
                continue;
            }
            let params = op.get_mut("parameters").and_then(Value::as_array_mut);
            for param in params.into_iter().flatten() {
                if param["name"] == name
                    && let Some(schema) = param.get_mut("schema")
                {
                    rule.apply(schema);
                    found = true;
                }
            }
        }
        if !found {
            missing.push(format!("parameter {name} of {path}"));
        }
    }
    missing.extend(add_locations_and_links(doc));
    missing
}

fn add_locations_and_links(doc: &mut Value) -> Vec<String> {
    let mut missing = Vec::new();
    let ids: Vec<String> = operations(doc)
        .filter_map(|(_, op)| {
            op.get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect();
    for &(_, _, target, _) in LINKS {
        if !ids.iter().any(|id| id == target) {
            missing.push(format!("link target {target}"));
        }
    }
    for (_, op) in operations(doc) {
        let id = op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let created = op.get_mut("responses").and_then(|r| r.get_mut("201"));
        let Some(created) = created.and_then(Value::as_object_mut) else {
            continue;
        };
        let headers = created.entry("headers").or_insert_with(|| json!({}));
        headers["Location"] = json!({
            "description": "The path of the created resource",
            "required": true,
            "schema": {"type": "string"},
        });
        let links =
            LINKS
                .iter()
                .filter(|(from, ..)| *from == id)
                .map(|(_, name, target, params)| {
                    let parameters: Map<String, Value> = params
                        .iter()
                        .map(|(p, e)| ((*p).to_owned(), json!(e)))
                        .collect();
                    (
                        (*name).to_owned(),
                        json!({"operationId": target, "parameters": parameters}),
                    )
                });
        let links: Map<String, Value> = links.collect();
        if !links.is_empty() {
            created.insert("links".into(), Value::Object(links));
        }
    }
    for &(from, ..) in LINKS {
        if !ids.iter().any(|id| id == from) {
            missing.push(format!("link source {from}"));
        }
    }
    missing
}
