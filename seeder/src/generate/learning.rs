//! Learning: the project submissions of enrolled students, their reviews, mentors' comments,
//! and the review turnaround histogram the learning report reads (docs/API.md, Learning).
//!
//! The review queue shipped `LEARNING_DAYS` before the anchor: students of runs that started
//! since then submit their projects; older graduates hold the certificates staff issued by
//! hand. That keeps the history as a real platform would have it and bounds the volume
//! (scale 1: about 47 000 submissions). The rows obey every rule the API enforces:
//! - one enrollment per student and course makes submissions (a second paid run of the
//!   same course adds none), and only projects that existed when the run started count;
//! - projects are submitted in syllabus order; an attempt is accepted, or returned and
//!   followed by attempt 2, which is accepted; at most one attempt per project waits;
//! - a graduate (certificate holder) of such a run has every project accepted, before the
//!   certificate; any other student has at least one project not accepted;
//! - reviewers and mentors are the course's own, and every decision is in the past.

use std::collections::{BTreeMap, HashSet};

use fake::rand::RngExt;

use super::{
    RowSink, World,
    catalog::{Course, Project, Run, Staffing, Topic},
    commerce::{Certificate, Purchase, Status},
};
use crate::{
    accounts::Position,
    copy::{RowWriter, Stopped},
    plan::{DAY, HOUR, Timeline},
    rng::SeedRng,
};

/// How long before the anchor the review queue shipped.
pub const LEARNING_DAYS: i64 = 90;
/// Share of first attempts returned with feedback (attempt 2 is then accepted).
pub const RETURN_SHARE: f64 = 0.25;
/// Share of submissions a mentor of the course comments on.
pub const COMMENT_SHARE: f64 = 0.15;
/// Buckets per doubling of the turnaround histogram (`review_turnaround_bucket`, V9).
const BUCKETS_PER_DOUBLING: f64 = 8.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionStatus {
    Submitted,
    Accepted,
    Returned,
}

impl SubmissionStatus {
    pub fn code(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::Returned => "returned",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submission {
    pub user: u32,
    pub course: u32,
    pub project: u32,
    pub attempt: i32,
    pub status: SubmissionStatus,
    pub created: i64,
    /// Reviewer and decision time; `None` while the submission waits.
    pub review: Option<(u32, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comment {
    /// Id of the submission.
    pub submission: u32,
    pub author: u32,
    pub created: i64,
}

/// One row of `review_turnaround`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turnaround {
    pub course: u32,
    pub bucket: i16,
    pub decisions: i64,
}

/// The bucket of a turnaround of `seconds`: `ceil(8 × log2(max(s, 1)))`, as the SQL function
/// `review_turnaround_bucket` computes it.
pub fn turnaround_bucket(seconds: i64) -> i16 {
    let s = seconds.max(1) as f64;
    (BUCKETS_PER_DOUBLING * s.log2()).ceil() as i16
}

/// Everything the learning tables hold.
#[derive(Debug, Default)]
pub struct Learning {
    /// Ordered by `created` (ids grow with time).
    pub submissions: Vec<Submission>,
    pub comments: Vec<Comment>,
    pub turnaround: Vec<Turnaround>,
}

/// What the generation reads from the rest of the world.
pub(super) struct Inputs<'a> {
    pub purchases: &'a [Purchase],
    pub courses: &'a [Course],
    pub runs: &'a [Run],
    pub topics: &'a [Topic],
    pub projects: &'a [Project],
    pub staffing: &'a [Staffing],
    pub certificates: &'a [Certificate],
}

/// Each course's projects in syllabus order (topic position, then id), with their creation.
fn syllabus(inputs: &Inputs<'_>) -> Vec<Vec<(u32, i64)>> {
    let mut per_course: Vec<Vec<(i32, u32, i64)>> = vec![Vec::new(); inputs.courses.len()];
    for (i, p) in inputs.projects.iter().enumerate() {
        let topic = &inputs.topics[p.topic as usize - 1];
        per_course[topic.course as usize - 1].push((topic.position, i as u32 + 1, p.created));
    }
    per_course
        .into_iter()
        .map(|mut ps| {
            ps.sort_unstable();
            ps.into_iter()
                .map(|(_, id, created)| (id, created))
                .collect()
        })
        .collect()
}

/// The course's staff in `role`, per course (index `course - 1`).
fn staff_of(inputs: &Inputs<'_>, role: Position) -> Vec<Vec<u32>> {
    let mut per_course = vec![Vec::new(); inputs.courses.len()];
    for s in inputs.staffing.iter().filter(|s| s.role == role) {
        per_course[s.course as usize - 1].push(s.user);
    }
    per_course
}

/// Minutes to days from submission to decision: most within a day.
fn turnaround(rng: &mut SeedRng) -> i64 {
    match rng.random_range(0..10) {
        0 => rng.random_range(10 * 60..HOUR),
        1..=6 => rng.random_range(HOUR..DAY),
        _ => rng.random_range(DAY..3 * DAY),
    }
}

pub(super) fn build_learning(inputs: &Inputs<'_>, time: &Timeline, rng: &mut SeedRng) -> Learning {
    let syllabus = syllabus(inputs);
    let reviewers = staff_of(inputs, Position::Reviewer);
    let mentors = staff_of(inputs, Position::Mentor);
    let graduates: HashSet<(u32, u32)> = inputs
        .certificates
        .iter()
        .map(|c| (c.user, c.course))
        .collect();
    let launch = time.now - LEARNING_DAYS * DAY;
    let mut enrolled: HashSet<(u32, u32)> = HashSet::new();
    let mut submissions = Vec::new();
    for p in inputs.purchases {
        let run = &inputs.runs[p.run as usize - 1];
        let course = &inputs.courses[p.course as usize - 1];
        let (start, end) = (run.start(), run.end(course));
        if p.status != Status::Paid || start < launch || start >= time.now {
            continue;
        }
        let course_reviewers = &reviewers[p.course as usize - 1];
        if course_reviewers.is_empty() || !enrolled.insert((p.user, p.course)) {
            continue;
        }
        let projects: Vec<u32> = syllabus[p.course as usize - 1]
            .iter()
            .filter(|(_, created)| *created <= start)
            .map(|(id, _)| *id)
            .collect();
        if projects.is_empty() {
            continue;
        }
        let graduate = graduates.contains(&(p.user, p.course));
        let n = projects.len();
        let finished = end <= time.now;
        // Accepted projects: all for a graduate, never all for anyone else.
        let accepted = if graduate {
            n
        } else if finished {
            rng.random_range(0..n)
        } else {
            let done = (time.now - start) as f64 / (end - start) as f64;
            ((done * n as f64 * rng.random_range(0.5..1.1)) as usize).min(n - 1)
        };
        // The student works through the projects one slot each, up to the end or today.
        let span = end.min(time.now) - start;
        let slot = span / (accepted as i64 + 1);
        let mut student = Student {
            user: p.user,
            course: p.course,
            reviewers: course_reviewers,
            out: &mut submissions,
        };
        for (j, &project) in projects.iter().take(accepted).enumerate() {
            let opened = start + slot * j as i64;
            student.work_through(project, opened, slot, rng);
        }
        // The project after the last accepted one: waiting for review, or returned.
        if let Some(&next) = projects.get(accepted) {
            let opened = start + slot * accepted as i64;
            let room = (time.now.min(end) - opened).max(1);
            let roll: f64 = rng.random();
            if !finished && roll < 0.6 {
                student.push(next, 1, opened + rng.random_range(0..room), None);
            } else if roll < 0.8 {
                let created = opened + rng.random_range(0..room / 2 + 1);
                let decided = (created + turnaround(rng)).min(time.now);
                student.push(
                    next,
                    1,
                    created,
                    Some((SubmissionStatus::Returned, decided)),
                );
            }
        }
    }
    submissions.sort_by_key(|s| (s.created, s.user, s.project, s.attempt));
    let comments = build_comments(&submissions, &mentors, time, rng);
    let turnaround = histogram(&submissions);
    Learning {
        submissions,
        comments,
        turnaround,
    }
}

/// One student's enrollment while its submissions are generated.
struct Student<'a> {
    user: u32,
    course: u32,
    reviewers: &'a [u32],
    out: &'a mut Vec<Submission>,
}

impl Student<'_> {
    /// A project accepted within its slot, after a return now and then.
    fn work_through(&mut self, project: u32, opened: i64, slot: i64, rng: &mut SeedRng) {
        // Within the slot: submit, a return, a fix and its acceptance take a quarter each at
        // most, so a project is decided before the student's next one opens.
        let mut created = opened + rng.random_range(0..slot / 4 + 1);
        let mut attempt = 1;
        if rng.random_bool(RETURN_SHARE) {
            let returned = created + turnaround(rng).min(slot / 4);
            self.push(
                project,
                1,
                created,
                Some((SubmissionStatus::Returned, returned)),
            );
            created = returned + rng.random_range(HOUR..=slot / 4 + HOUR).min(slot / 4);
            attempt = 2;
        }
        let decided = created + turnaround(rng).min(slot / 4);
        self.push(
            project,
            attempt,
            created,
            Some((SubmissionStatus::Accepted, decided)),
        );
    }

    fn push(
        &mut self,
        project: u32,
        attempt: i32,
        created: i64,
        decision: Option<(SubmissionStatus, i64)>,
    ) {
        // The same reviewer for a student's project: who returned it checks the fix.
        let reviewer =
            self.reviewers[(self.user as usize + project as usize) % self.reviewers.len()];
        self.out.push(Submission {
            user: self.user,
            course: self.course,
            project,
            attempt,
            status: decision.map_or(SubmissionStatus::Submitted, |(s, _)| s),
            created,
            review: decision.map(|(_, at)| (reviewer, at.max(created))),
        });
    }
}

/// Mentors' comments on some submissions, between the submission and its decision (or now).
fn build_comments(
    submissions: &[Submission],
    mentors: &[Vec<u32>],
    time: &Timeline,
    rng: &mut SeedRng,
) -> Vec<Comment> {
    let mut comments = Vec::new();
    for (i, s) in submissions.iter().enumerate() {
        let course_mentors = &mentors[s.course as usize - 1];
        if course_mentors.is_empty() || !rng.random_bool(COMMENT_SHARE) {
            continue;
        }
        let until = s.review.map_or(time.now, |(_, at)| at);
        for _ in 0..rng.random_range(1..=2) {
            comments.push(Comment {
                submission: i as u32 + 1,
                author: course_mentors[rng.random_range(0..course_mentors.len())],
                created: s.created + rng.random_range(0..=(until - s.created).max(0)),
            });
        }
    }
    comments.sort_by_key(|c| (c.created, c.submission));
    comments
}

/// Decisions per course and turnaround bucket.
fn histogram(submissions: &[Submission]) -> Vec<Turnaround> {
    let mut counts: BTreeMap<(u32, i16), i64> = BTreeMap::new();
    for s in submissions {
        if let Some((_, at)) = s.review {
            *counts
                .entry((s.course, turnaround_bucket(at - s.created)))
                .or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|((course, bucket), decisions)| Turnaround {
            course,
            bucket,
            decisions,
        })
        .collect()
}

const NOTES: &[&str] = &[
    "",
    "Ready for review.",
    "All tests pass locally.",
    "I was not sure about the error handling; please look at it.",
    "Second try after the feedback.",
    "The README explains how to run it.",
];
const RETURN_FEEDBACK: &[&str] = &[
    "The tests do not cover the failure cases; add them and resubmit.",
    "The solution works, but the structure is hard to follow: split the main function.",
    "Two requirements of the brief are missing; see the checklist.",
    "It does not build from a clean checkout; check the instructions.",
];
const ACCEPT_FEEDBACK: &[&str] = &["", "Good work.", "Clean and well tested.", "Accepted."];
const COMMENTS: &[&str] = &[
    "Nice approach. Have you thought about what happens with empty input?",
    "Consider extracting this into a helper; it will make the tests simpler.",
    "Good progress! The naming could be more consistent.",
    "This is close. Look at how the standard library does it for inspiration.",
];

fn pick<'a>(rng: &mut SeedRng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

pub(super) const SUBMISSION_COLUMNS: &[&str] = &[
    "id",
    "user_id",
    "project_id",
    "course_id",
    "attempt",
    "repository_url",
    "note",
    "status",
    "reviewed_by",
    "reviewed_at",
    "feedback",
    "created_at",
    "updated_at",
];

pub(super) fn write_submissions<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, s) in world.learning.submissions.iter().enumerate() {
        let url = format!(
            "https://git.lyceum.test/u{}/project-{}-{}",
            s.user, s.project, s.attempt
        );
        let feedback = match s.status {
            SubmissionStatus::Returned => pick(rng, RETURN_FEEDBACK),
            SubmissionStatus::Accepted => pick(rng, ACCEPT_FEEDBACK),
            SubmissionStatus::Submitted => "",
        };
        out.begin()
            .i64(i as i64 + 1)
            .i64(i64::from(s.user))
            .i64(i64::from(s.project))
            .i64(i64::from(s.course))
            .i32(s.attempt)
            .text(&url)
            .text(pick(rng, NOTES))
            .text(s.status.code());
        match s.review {
            Some((reviewer, at)) => out.i64(i64::from(reviewer)).ts(at),
            None => out.null().null(),
        };
        out.text(feedback)
            .ts(s.created)
            .ts(s.review.map_or(s.created, |(_, at)| at));
        out.end()?;
    }
    Ok(())
}

pub(super) const COMMENT_COLUMNS: &[&str] =
    &["id", "submission_id", "author_id", "body", "created_at"];

pub(super) fn write_comments<S: RowSink>(
    world: &World,
    rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for (i, c) in world.learning.comments.iter().enumerate() {
        out.begin()
            .i64(i as i64 + 1)
            .i64(i64::from(c.submission))
            .i64(i64::from(c.author))
            .text(pick(rng, COMMENTS))
            .ts(c.created);
        out.end()?;
    }
    Ok(())
}

pub(super) const TURNAROUND_COLUMNS: &[&str] = &["course_id", "bucket", "decisions"];

pub(super) fn write_turnaround<S: RowSink>(
    world: &World,
    _rng: &mut SeedRng,
    out: &mut RowWriter<S>,
) -> Result<(), Stopped> {
    for t in &world.learning.turnaround {
        out.begin()
            .i64(i64::from(t.course))
            .i16(t.bucket)
            .i64(t.decisions);
        out.end()?;
    }
    Ok(())
}
