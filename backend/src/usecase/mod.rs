//! Business operations: which pool and transaction each one uses, whether it may be retried,
//! the cache policy around it, and the domain errors it can end in.
//!
//! - Plain reads go through `Db::read` (read pool, retried within the budget).
//! - Reads that must see the caller's own writes (login, the profile, staff views) go through
//!   `Db::write` on the primary: a select is idempotent, so it is retried too.
//! - Writes that are idempotent by construction (set fields to given values, move a topic to
//!   a position) use `Db::write`; inserts and deletes use `Db::write_once`: a failed checkout
//!   is retried (nothing was sent yet), but a transient failure after the statement was sent
//!   reaches the client as 503, since its commit may have happened.
//!
//! May depend on `entity` and `repository`; never on `controller`.

pub mod access;
pub mod access_token;
pub mod account_admin;
pub mod auth;
pub mod blog;
pub mod career;
pub mod catalog;
pub mod certificate;
pub mod consistency;
pub mod course_admin;
pub mod course_page;
pub mod course_staff;
pub mod login_limit;
pub mod lookup_admin;
pub mod password_hasher;
pub mod purchase;
pub mod refresh_token;
pub mod report;
pub mod review;
pub mod submission;
pub mod teacher_profile;

use lyceum_db::{DbError, Retryable, Transient};

use crate::{
    entity::{ValidationErrors, purchase::PurchaseStatus},
    repository::{Violation, ViolationExt},
};

/// What a lookup did not find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Course,
    Topic,
    Run,
    Teacher,
    Purchase,
    Review,
    Certificate,
    Company,
    CareerTrack,
    JobApplication,
    BlogPost,
    Specialization,
    DifficultyLevel,
    /// A person's role on a course.
    CourseStaff,
    Submission,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Course => "course",
            Self::Topic => "topic",
            Self::Run => "course run",
            Self::Teacher => "teacher",
            Self::Purchase => "purchase",
            Self::Review => "review",
            Self::Certificate => "certificate",
            Self::Company => "partner company",
            Self::CareerTrack => "career track",
            Self::JobApplication => "job application",
            Self::BlogPost => "blog post",
            Self::Specialization => "specialization",
            Self::DifficultyLevel => "difficulty level",
            Self::CourseStaff => "course staff member",
            Self::Submission => "submission",
        }
    }
}

/// Every way a use case can fail. The controller maps each to one HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{resource} {1} not found", resource = .0.as_str())]
    NotFound(Resource, i64),
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// Well-formed input that names something that does not exist (`course_id: 999`): 404, since
    /// no schema can know which ids exist.
    #[error("{0}")]
    UnknownReference(ValidationErrors),
    /// Well-formed input that conflicts with the stored resource (a run's new start before
    /// its stored end of sales): 409.
    #[error("{0}")]
    Conflict(ValidationErrors),
    #[error("this email is already registered")]
    EmailTaken,
    #[error("this national id is already registered")]
    NationalIdTaken,
    #[error("wrong email or password")]
    InvalidCredentials,
    /// A password change with the wrong current password (counted like a failed login).
    #[error("the current password is wrong")]
    WrongPassword,
    /// A bearer token that is not (or no longer) good.
    #[error(transparent)]
    Token(#[from] access_token::TokenError),
    #[error("too many failed logins or registrations from here; retry in {} s", .retry_after.as_secs())]
    TooManyAttempts { retry_after: std::time::Duration },
    #[error("the account behind this token no longer exists")]
    AccountGone,
    /// A refresh token that is unknown, expired, of an ended session, or of an account whose
    /// password, role or activation changed since the login: 401.
    #[error(
        "the refresh token is not valid (unknown, expired, or its session ended); log in again"
    )]
    RefreshInvalid,
    /// A refresh token presented a second time: its whole family was just ended. 401.
    #[error("this refresh token was already used, so its session has been ended; log in again")]
    RefreshReused,
    /// Login to an account an admin deactivated (after a correct password).
    #[error("this account is deactivated; ask an admin to reactivate it")]
    AccountDeactivated,
    /// A staff role without a position, or a student with one: 422.
    #[error("a position is required exactly when the role is staff")]
    PositionMismatch,
    /// The change would leave no active admin: 409.
    #[error("this is the last active admin; make another admin first")]
    LastAdmin,
    #[error("only staff who edit the catalog (admin, teacher) may do this")]
    Forbidden,
    #[error("it has sales, certificates, career tracks or submissions and cannot be deleted")]
    InUse,
    /// 409 `in_use` with what still uses the row (a lookup row courses refer to).
    #[error("{0}")]
    LookupInUse(&'static str),
    #[error("more seats are already sold than the new total allows")]
    SeatsTaken,
    #[error("this course run is sold out")]
    SoldOut,
    #[error("sales for this course run have ended")]
    SalesClosed,
    #[error("you already hold a seat in this course run (cancel that purchase to buy again)")]
    AlreadyEnrolled,
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    #[error("a {} purchase cannot become {}", from.as_str(), to.as_str())]
    InvalidTransition {
        from: PurchaseStatus,
        to: PurchaseStatus,
    },
    /// 403 with the rule that refused the caller (the catalog's own refusal is `Forbidden`).
    #[error("{0}")]
    Denied(&'static str),
    #[error("only buyers of this course (a paid purchase of one of its runs) may review it")]
    NotABuyer,
    #[error("you have already reviewed this course; edit that review instead")]
    AlreadyReviewed,
    #[error("a certificate for this user and course was already issued")]
    AlreadyIssued,
    #[error("this user already has a career track for this course")]
    TrackExists,
    /// A submission to a course without a paid purchase of one of its runs: 403.
    #[error(
        "only students enrolled in this course (a paid purchase of one of its runs) may submit its projects"
    )]
    NotEnrolled,
    #[error("an attempt at this project is already waiting for review; wait for its review")]
    SubmissionOpen,
    #[error("this project is already accepted")]
    ProjectAccepted,
    #[error("claim this submission from the review queue before deciding on it")]
    NotClaimed,
    #[error("another reviewer holds the claim on this submission")]
    ClaimedByAnother,
    #[error("this submission has already been reviewed")]
    AlreadyDecided,
    #[error("{0}")]
    NameTaken(&'static str),
    #[error("no certificate has this serial number")]
    UnknownSerial,
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Db(DbError),
}

impl Retryable for ServiceError {
    fn transient(&self) -> Option<Transient> {
        match self {
            Self::Db(e) => e.transient(),
            _ => None,
        }
    }
}

/// Integrity violations become domain errors here, by constraint name; everything else
/// stays a database error (transient → 503, permanent → 500).
impl From<DbError> for ServiceError {
    fn from(err: DbError) -> Self {
        let mapped = match err.violation() {
            Some(Violation::Unique("users_email_lower_key")) => Some(Self::EmailTaken),
            Some(Violation::Unique("users_national_id_key")) => Some(Self::NationalIdTaken),
            Some(Violation::Unique("purchases_user_run_active_key")) => Some(Self::AlreadyEnrolled),
            Some(Violation::ForeignKey("purchases_user_id_fkey")) => Some(Self::AccountGone),
            Some(Violation::Unique("reviews_user_course_key")) => Some(Self::AlreadyReviewed),
            Some(Violation::Unique("certificates_user_course_key")) => Some(Self::AlreadyIssued),
            Some(Violation::Unique("career_tracks_user_course_key")) => Some(Self::TrackExists),
            // Two attempts at one project at the same moment: the second finds the first open.
            Some(Violation::Unique(
                "submissions_one_open_key" | "submissions_user_project_attempt_key",
            )) => Some(Self::SubmissionOpen),
            Some(Violation::Unique("partner_companies_legal_name_key")) => Some(Self::NameTaken(
                "a partner company with this legal name already exists",
            )),
            Some(Violation::Unique("specializations_slug_key")) => Some(Self::NameTaken(
                "a specialization with this slug already exists",
            )),
            Some(Violation::Unique("specializations_name_key")) => Some(Self::NameTaken(
                "a specialization with this name already exists",
            )),
            Some(Violation::Unique("difficulty_levels_code_key")) => Some(Self::NameTaken(
                "a difficulty level with this code already exists",
            )),
            Some(Violation::Unique("difficulty_levels_sort_order_key")) => Some(Self::NameTaken(
                "another difficulty level already has this sort_order",
            )),
            Some(Violation::ForeignKey(
                "courses_specialization_id_fkey" | "teacher_profiles_specialization_id_fkey",
            )) => Some(Self::LookupInUse(
                "courses or teacher profiles use this specialization; move them to another one \
                 before deleting it",
            )),
            Some(Violation::ForeignKey("courses_difficulty_level_id_fkey")) => {
                Some(Self::LookupInUse(
                    "courses use this difficulty level; move them to another one before \
                     deleting it",
                ))
            }
            Some(Violation::ForeignKey(
                "purchases_course_run_id_fkey"
                | "certificates_course_id_fkey"
                | "career_tracks_course_id_fkey"
                | "submissions_project_id_fkey"
                | "submissions_course_id_fkey",
            )) => Some(Self::InUse),
            Some(Violation::Check(
                "course_runs_seats_left_nonnegative" | "course_runs_seats_left_within_total",
            )) => Some(Self::SeatsTaken),
            // The request's own dates are checked before the query; what still fires here is a
            // new date against the one stored.
            Some(Violation::Check("course_runs_sales_end_before_start")) => Some(Self::Conflict(
                ValidationErrors::single("sales_end_date", "must not be after start_date"),
            )),
            // Input is validated before the query; a check that still fires names its rule.
            Some(Violation::Check(name)) => Some(Self::Invalid(ValidationErrors::single(
                "body",
                format!("violates the rule {name}"),
            ))),
            _ => None,
        };
        mapped.unwrap_or(Self::Db(err))
    }
}

impl From<tokio_postgres::Error> for ServiceError {
    fn from(err: tokio_postgres::Error) -> Self {
        Self::from(DbError::from(err))
    }
}
