//! The learning tables obey every rule the API enforces on submissions, reviews and
//! comments, and the histogram counts exactly the decisions.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::*;
use crate::{
    accounts::Position,
    plan::{DAY, Params},
};

fn world(scale: f64) -> World {
    let params = Params {
        seed: 42,
        scale,
        anchor: NaiveDate::from_ymd_opt(2026, 11, 1).expect("date"),
    };
    World::build(params, Lookups::as_migrated())
}

#[test]
fn turnaround_buckets_match_the_sql_function() {
    // review_turnaround_bucket(interval) of migration V9, evaluated in PostgreSQL.
    for (seconds, bucket) in [(0, 0), (1, 0), (2, 8), (3, 13), (100, 54), (86_400, 132)] {
        assert_eq!(turnaround_bucket(seconds), bucket, "{seconds} s");
    }
}

#[test]
fn submissions_follow_the_api_rules() {
    let w = world(0.3);
    let l = &w.learning;
    assert!(l.submissions.len() > 1_000, "{}", l.submissions.len());
    let course_of_project = |p: u32| w.topics[w.projects[p as usize - 1].topic as usize - 1].course;
    let staff: HashSet<(u32, u32, Position)> = w
        .staffing
        .iter()
        .map(|s| (s.course, s.user, s.role))
        .collect();
    let launch = w.time.now - LEARNING_DAYS * DAY;
    let enrolled: HashSet<(u32, u32)> = w
        .purchases
        .iter()
        .filter(|p| p.status == Status::Paid && w.runs[p.run as usize - 1].start() >= launch)
        .map(|p| (p.user, p.course))
        .collect();
    let mut attempts: HashMap<(u32, u32, i32), &Submission> = HashMap::new();
    let mut open: HashSet<(u32, u32)> = HashSet::new();
    let mut accepted: HashMap<(u32, u32), i64> = HashMap::new();
    for s in &l.submissions {
        assert_eq!(course_of_project(s.project), s.course, "{s:?}");
        assert!(
            enrolled.contains(&(s.user, s.course)),
            "not enrolled: {s:?}"
        );
        assert!(s.created <= w.time.now, "{s:?}");
        assert!(
            attempts.insert((s.user, s.project, s.attempt), s).is_none(),
            "{s:?}"
        );
        match (s.status, s.review) {
            (SubmissionStatus::Submitted, None) => {
                assert!(open.insert((s.user, s.project)), "two open: {s:?}");
            }
            (SubmissionStatus::Accepted | SubmissionStatus::Returned, Some((by, at))) => {
                assert!(staff.contains(&(s.course, by, Position::Reviewer)), "{s:?}");
                assert!(s.created <= at && at <= w.time.now, "{s:?}");
                if s.status == SubmissionStatus::Accepted {
                    assert!(accepted.insert((s.user, s.project), at).is_none(), "{s:?}");
                }
            }
            _ => panic!("status and review disagree: {s:?}"),
        }
    }
    // Attempt 2 answers a returned attempt 1, after its return.
    for ((user, project, attempt), s) in &attempts {
        if *attempt > 1 {
            let before = attempts[&(*user, *project, attempt - 1)];
            assert_eq!(before.status, SubmissionStatus::Returned, "{s:?}");
            assert!(before.review.map(|(_, at)| at) <= Some(s.created), "{s:?}");
        }
    }
    // Graduates of the learning era completed every project before the certificate; nobody
    // else completed a course.
    let mut accepted_per_course: HashMap<(u32, u32), (usize, i64)> = HashMap::new();
    for ((user, project), at) in &accepted {
        let e = accepted_per_course
            .entry((*user, course_of_project(*project)))
            .or_default();
        e.0 += 1;
        e.1 = e.1.max(*at);
    }
    let certificates: HashMap<(u32, u32), i64> = w
        .certificates
        .iter()
        .map(|c| ((c.user, c.course), c.issued))
        .collect();
    let mut graduates = 0;
    for ((user, course), (n, last)) in &accepted_per_course {
        let projects = l
            .submissions
            .iter()
            .filter(|s| s.user == *user && s.course == *course)
            .map(|s| s.project)
            .collect::<HashSet<_>>();
        let total = w
            .projects
            .iter()
            .enumerate()
            .filter(|(i, _)| course_of_project(*i as u32 + 1) == *course)
            .count();
        if let Some(issued) = certificates.get(&(*user, *course)) {
            graduates += 1;
            assert_eq!(*n, projects.len(), "a graduate with a project not accepted");
            assert!(last <= issued, "accepted after the certificate");
        } else {
            assert!(
                *n < total,
                "completed without a certificate: {user} {course}"
            );
        }
    }
    assert!(graduates > 10, "{graduates}");
    // Comments: by a mentor of the course, while the submission was open.
    assert!(!l.comments.is_empty());
    for c in &l.comments {
        let s = &l.submissions[c.submission as usize - 1];
        assert!(
            staff.contains(&(s.course, c.author, Position::Mentor)),
            "{c:?}"
        );
        let until = s.review.map_or(w.time.now, |(_, at)| at);
        assert!(s.created <= c.created && c.created <= until, "{c:?}");
    }
}

#[test]
fn the_histogram_counts_every_decision_once() {
    let w = world(0.1);
    let l = &w.learning;
    let decided = l.submissions.iter().filter(|s| s.review.is_some()).count() as i64;
    assert_eq!(
        l.turnaround.iter().map(|t| t.decisions).sum::<i64>(),
        decided
    );
    let mut expected: HashMap<(u32, i16), i64> = HashMap::new();
    for s in &l.submissions {
        if let Some((_, at)) = s.review {
            *expected
                .entry((s.course, turnaround_bucket(at - s.created)))
                .or_default() += 1;
        }
    }
    for t in &l.turnaround {
        assert_eq!(
            expected.get(&(t.course, t.bucket)),
            Some(&t.decisions),
            "{t:?}"
        );
    }
    assert_eq!(expected.len(), l.turnaround.len());
}
