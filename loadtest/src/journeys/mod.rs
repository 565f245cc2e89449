//! The simulated users: one goose scenario per kind of visitor, weighted, with think times.
//!
//! | scenario | who | what they do |
//! | --- | --- | --- |
//! | `browse` | anonymous visitor | catalog search (filters, full-text, sorts, pages), course pages, teachers |
//! | `student` | a seeded student, logged in once | browses, buys a run (Idempotency-Key, retried on 503), pays or cancels, reviews; submits the next project of a course they are enrolled in |
//! | `blog` | anonymous reader | post lists by tag, posts, tags |
//! | `staff` | `teacher1` / `admin1` | changes a course's price, schedules a run and deletes it again |
//! | `analyst` | `admin1` | the three reports |
//! | `account` | a newcomer | registers, edits the profile, refreshes the session, sometimes changes the password, logs out |
//! | `admin` | `admin1` | creates staff, assigns course staff, changes positions, deactivates; issues certificates |
//! | `writer` | `smm1` | writes blog posts: a draft, edited, then published or deleted |
//! | `career` | `support1` | career applications of graduates' tracks, moved through their statuses |
//! | `reviewer` | a seeded reviewer of courses | claims the oldest waiting submission, reads it, accepts or returns it (retried on 503) |
//! | `mentor` | a seeded mentor of courses | lists a course's waiting submissions, reads one, comments on it |
//! | `healthz` | (raw mode, alone) | `GET /healthz` with no think time, to measure the generator itself |
//!
//! Transactions receive the shared [`Context`] through the closure goose calls, not through
//! globals.

pub mod account;
pub mod admin;
pub mod analyst;
pub mod blog;
pub mod browse;
pub mod career;
pub mod healthz;
pub mod mentor;
pub mod retry;
pub mod reviewer;
pub mod session;
pub mod staff;
pub mod student;
pub mod writer;

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use goose::prelude::*;
use rand::Rng;
use serde_json::Value;

pub use session::{
    Account, Login, administrator, blog_writer, career_advisor, desk_token, login, staff_editors,
    staffer_login,
};

use crate::{
    arrivals::Arrivals,
    ledger::Ledger,
    recorder::Recorder,
    roster::{CourseStaffer, Roster},
};

/// How purchases are retried when the service is unavailable.
#[derive(Debug, Clone, Copy)]
pub struct RetryBudget {
    pub attempts: u32,
    pub within: Duration,
}

/// Everything the journeys share.
#[derive(Debug)]
pub struct Context {
    pub recorder: Recorder,
    pub ledger: Ledger,
    /// Accounts to log in as; each new goose user of a kind takes the next one of its kind.
    pub roster: Roster,
    next_student: AtomicUsize,
    next_reviewer: AtomicUsize,
    next_mentor: AtomicUsize,
    next_staff: AtomicUsize,
    pub purchase_retry: RetryBudget,
    /// The open-loop schedule (`--rate`); `None` in the closed loop.
    pub arrivals: Option<Arrivals>,
}

/// The next of `from`, round robin through `counter`, so concurrent users rarely share one.
fn round_robin<T: Clone>(from: &[T], counter: &AtomicUsize) -> Option<T> {
    if from.is_empty() {
        return None;
    }
    Some(from[counter.fetch_add(1, Ordering::Relaxed) % from.len()].clone())
}

impl Context {
    pub fn new(recorder: Recorder, roster: Roster, purchase_retry: RetryBudget) -> Self {
        Self {
            recorder,
            ledger: Ledger::default(),
            roster,
            // A random first student: short runs on one database (the fault tests run seven)
            // otherwise all started with student1 and student2, who after a few runs owned
            // every course on offer and bought nothing more (409, 0 purchases to check).
            next_student: AtomicUsize::new(rand::random::<u32>() as usize),
            next_reviewer: AtomicUsize::new(0),
            next_mentor: AtomicUsize::new(0),
            next_staff: AtomicUsize::new(0),
            purchase_retry,
            arrivals: None,
        }
    }

    /// Paces every journey's transactions by `arrivals` (open loop).
    pub fn with_arrivals(mut self, arrivals: Arrivals) -> Self {
        self.arrivals = Some(arrivals);
        self
    }

    pub fn next_student(&self) -> Option<Account> {
        round_robin(&self.roster.students, &self.next_student)
    }

    pub fn next_reviewer(&self) -> Option<CourseStaffer> {
        round_robin(&self.roster.reviewers, &self.next_reviewer)
    }

    pub fn next_mentor(&self) -> Option<CourseStaffer> {
        round_robin(&self.roster.mentors, &self.next_mentor)
    }

    pub fn next_staff_editor(&self) -> Account {
        let editors = staff_editors();
        editors[self.next_staff.fetch_add(1, Ordering::Relaxed) % editors.len()].clone()
    }
}

/// Scenario weights of the mixed load (goose shares users out in these proportions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    pub browse: usize,
    pub student: usize,
    pub blog: usize,
    pub staff: usize,
    pub analyst: usize,
    pub account: usize,
    pub admin: usize,
    pub writer: usize,
    pub career: usize,
    pub reviewer: usize,
    pub mentor: usize,
}

/// Readers far outnumber writers, as on a real platform: a few newcomers register for every
/// hundred visitors, and an administrator, a writer, career advisors, reviewers and a mentor
/// work beside them.
impl Default for Weights {
    fn default() -> Self {
        Self {
            browse: 35,
            student: 28,
            blog: 14,
            staff: 4,
            analyst: 8,
            account: 4,
            admin: 1,
            writer: 1,
            career: 2,
            reviewer: 2,
            mentor: 1,
        }
    }
}

const SCENARIOS: &str =
    "browse, student, blog, staff, analyst, account, admin, writer, career, reviewer, mentor";

impl Weights {
    fn all(&self) -> [usize; 11] {
        [
            self.browse,
            self.student,
            self.blog,
            self.staff,
            self.analyst,
            self.account,
            self.admin,
            self.writer,
            self.career,
            self.reviewer,
            self.mentor,
        ]
    }

    /// Whether a scenario that writes into the ledger runs (the check then needs the database).
    pub fn acknowledges_writes(&self) -> bool {
        self.student + self.account + self.admin + self.reviewer + self.mentor > 0
    }
}

impl std::str::FromStr for Weights {
    type Err = String;

    /// `browse=38,student=28,account=4`; names left out keep their default,
    /// 0 switches a scenario off.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut w = Self::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected NAME=WEIGHT"))?;
            let value: usize = value
                .trim()
                .parse()
                .map_err(|_| format!("`{part}`: the weight must be a whole number"))?;
            if value > 1000 {
                return Err(format!("`{part}`: weights go up to 1000"));
            }
            match name.trim() {
                "browse" => w.browse = value,
                "student" => w.student = value,
                "blog" => w.blog = value,
                "staff" => w.staff = value,
                "analyst" => w.analyst = value,
                "account" => w.account = value,
                "admin" => w.admin = value,
                "writer" => w.writer = value,
                "career" => w.career = value,
                "reviewer" => w.reviewer = value,
                "mentor" => w.mentor = value,
                other => return Err(format!("unknown scenario `{other}` ({SCENARIOS})")),
            }
        }
        if w.all().iter().sum::<usize>() == 0 {
            return Err("at least one scenario needs a weight above 0".into());
        }
        Ok(w)
    }
}

/// The future a transaction step returns.
pub type StepFuture<'u> = Pin<Box<dyn Future<Output = TransactionResult> + Send + 'u>>;

/// A transaction step: a plain function of the user and the shared context.
pub type Step = for<'u> fn(&'u mut GooseUser, Arc<Context>) -> StepFuture<'u>;

/// Wraps `step` as a goose transaction named `name`; in the open loop it starts on the
/// schedule's next due start.
pub fn transaction(ctx: &Arc<Context>, name: &str, step: Step) -> Transaction {
    let ctx = Arc::clone(ctx);
    Transaction::new(Arc::new(move |user| {
        let ctx = Arc::clone(&ctx);
        Box::pin(async move {
            if let Some(arrivals) = &ctx.arrivals {
                arrivals.next().await;
            }
            step(user, ctx).await
        })
    }))
    .set_name(name)
}

/// A transaction that sends no request (bookkeeping): never paced.
fn unpaced(ctx: &Arc<Context>, name: &str, step: Step) -> Transaction {
    let ctx = Arc::clone(ctx);
    Transaction::new(Arc::new(move |user| step(user, Arc::clone(&ctx)))).set_name(name)
}

fn user_started<'u>(_user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        ctx.recorder.metrics().users_active.inc();
        Ok(())
    })
}

fn user_stopped<'u>(_user: &'u mut GooseUser, ctx: Arc<Context>) -> StepFuture<'u> {
    Box::pin(async move {
        ctx.recorder.metrics().users_active.dec();
        Ok(())
    })
}

/// A scenario with the users-active bookkeeping and a think time between transactions.
pub fn scenario(
    ctx: &Arc<Context>,
    name: &str,
    weight: usize,
    think: (Duration, Duration),
) -> Result<Scenario, GooseError> {
    let mut s = Scenario::new(name)
        .set_weight(weight)?
        .register_transaction(unpaced(ctx, "user start", user_started).set_on_start())
        .register_transaction(unpaced(ctx, "user stop", user_stopped).set_on_stop());
    if !think.1.is_zero() {
        s = s.set_wait_time(think.0, think.1)?;
    }
    Ok(s)
}

/// Base think time of a journey, scaled by `--think-scale`.
pub fn think(min_ms: u64, max_ms: u64, scale: f64) -> (Duration, Duration) {
    let scaled = |ms: u64| Duration::from_millis((ms as f64 * scale).round() as u64);
    (scaled(min_ms), scaled(max_ms))
}

/// Every scenario of the mixed load with a weight above 0.
pub fn mixed(
    ctx: &Arc<Context>,
    weights: Weights,
    think_scale: f64,
) -> Result<Vec<Scenario>, GooseError> {
    type Build = fn(&Arc<Context>, usize, f64) -> Result<Scenario, GooseError>;
    let all: [(usize, Build); 11] = [
        (weights.browse, browse::scenario),
        (weights.student, student::scenario),
        (weights.blog, blog::scenario),
        (weights.staff, staff::scenario),
        (weights.analyst, analyst::scenario),
        (weights.account, account::scenario),
        (weights.admin, admin::scenario),
        (weights.writer, writer::scenario),
        (weights.career, career::scenario),
        (weights.reviewer, reviewer::scenario),
        (weights.mentor, mentor::scenario),
    ];
    let mut out = Vec::new();
    for (weight, build) in all {
        if weight > 0 {
            out.push(build(ctx, weight, think_scale)?);
        }
    }
    Ok(out)
}

/// The `items` of a page (or the array itself, for endpoints that answer a bare list).
pub fn items(body: &Value) -> &[Value] {
    body.get("items")
        .and_then(Value::as_array)
        .or_else(|| body.as_array())
        .map_or(&[], Vec::as_slice)
}

/// The `id`s of a page's items.
pub fn ids(body: &Value, field: &str) -> Vec<i64> {
    items(body)
        .iter()
        .filter_map(|item| item.get(field).and_then(Value::as_i64))
        .collect()
}

/// A uniformly chosen element.
pub fn pick<T: Clone>(rng: &mut impl Rng, from: &[T]) -> Option<T> {
    if from.is_empty() {
        None
    } else {
        Some(from[rng.random_range(0..from.len())].clone())
    }
}

/// Words that occur in seeded course titles and descriptions, for full-text search.
pub const SEARCH_WORDS: &[&str] = &[
    "python",
    "data",
    "design",
    "web",
    "java",
    "cloud",
    "security",
    "analytics",
    "mobile",
    "machine learning",
    "product",
    "marketing",
    "sql",
    "devops",
    "frontend",
    "backend",
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn weights_parse_partially_and_reject_nonsense() {
        let w: Weights = "student=50, staff=0".parse().unwrap_or_default();
        assert_eq!(w.student, 50);
        assert_eq!(w.staff, 0);
        assert_eq!(w.browse, Weights::default().browse);
        assert!("browse".parse::<Weights>().is_err());
        assert!("browse=x".parse::<Weights>().is_err());
        assert!("shopper=3".parse::<Weights>().is_err());
        assert!(
            "browse=0,student=0,blog=0,staff=0,analyst=0,account=0,admin=0,writer=0,career=0,\
             reviewer=0,mentor=0"
                .parse::<Weights>()
                .is_err()
        );
    }

    #[test]
    fn think_time_scales_and_zero_disables() {
        assert_eq!(
            think(500, 2000, 0.5),
            (Duration::from_millis(250), Duration::from_millis(1000))
        );
        assert!(think(500, 2000, 0.0).1.is_zero());
    }

    #[test]
    fn items_and_ids_read_pages_and_bare_lists() {
        let page = json!({"items": [{"id": 1}, {"id": 2}, {"x": 3}], "page": 1});
        assert_eq!(ids(&page, "id"), vec![1, 2]);
        assert_eq!(items(&json!([{"id": 5}])).len(), 1);
        assert!(items(&Value::Null).is_empty());
    }
}
