//! The learning changes of the ledger: what an acknowledged submission, claim, decision or
//! comment must still be after the run (and across the drill's failover).
//!
//! | acknowledged | still holds when |
//! | --- | --- |
//! | a submission | it exists, by that student for that project |
//! | a claim | the caller still holds it (`in_review`, `claimed_by`) or decided it (`reviewed_by`): never another reviewer (claims hold 30 minutes, far beyond a run) |
//! | a decision | the submission has that status, by that reviewer; an accepted project is accepted exactly once |
//! | a comment | it exists, by that author on that submission, stored once (a retry answered with the same comment) |
//!
//! A certificate the last acceptance issued is a [`Change::CertificateIssued`] (exactly one
//! per student and course).

use super::state::{Change, StateRows};

pub(super) fn problem(change: &Change, rows: &StateRows) -> Option<String> {
    match change {
        Change::Submitted {
            submission_id,
            user_id,
            project_id,
        } => match rows.submissions.get(submission_id) {
            None => Some("no submission with this id".into()),
            Some(s) if (s.user_id, s.project_id) != (*user_id, *project_id) => Some(format!(
                "the submission is user {}'s of project {}",
                s.user_id, s.project_id
            )),
            Some(_) => None,
        },
        Change::Claimed {
            submission_id,
            reviewer_id,
        } => match rows.submissions.get(submission_id) {
            None => Some("no submission with this id".into()),
            Some(s)
                if s.claimed_by == Some(*reviewer_id) || s.reviewed_by == Some(*reviewer_id) =>
            {
                None
            }
            Some(s) => Some(format!(
                "the submission is {}, held by {:?}, reviewed by {:?}",
                s.status, s.claimed_by, s.reviewed_by
            )),
        },
        Change::Decided {
            submission_id,
            reviewer_id,
            status,
        } => match rows.submissions.get(submission_id) {
            None => Some("no submission with this id".into()),
            Some(s) if s.status != *status || s.reviewed_by != Some(*reviewer_id) => Some(format!(
                "the submission is {}, reviewed by {:?}",
                s.status, s.reviewed_by
            )),
            Some(s) if status == "accepted" && s.accepted_of_project != 1 => Some(format!(
                "{} accepted attempts at the project",
                s.accepted_of_project
            )),
            Some(_) => None,
        },
        Change::Commented {
            comment_id,
            submission_id,
            author_id,
        } => match rows.comments.get(comment_id) {
            None => Some("no comment with this id".into()),
            Some(m) if (m.submission_id, m.author_id) != (*submission_id, *author_id) => {
                Some(format!(
                    "the comment is user {}'s on submission {}",
                    m.author_id, m.submission_id
                ))
            }
            Some(m) if m.copies != 1 => Some(format!("stored {} times", m.copies)),
            Some(_) => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::state::{CommentRow, SubmissionRow, check};
    use super::*;

    fn rows() -> StateRows {
        let mut r = StateRows::default();
        let s =
            |status: &str, claimed: Option<i64>, reviewed: Option<i64>, accepted| SubmissionRow {
                user_id: 7,
                project_id: 70,
                status: status.into(),
                claimed_by: claimed,
                reviewed_by: reviewed,
                accepted_of_project: accepted,
            };
        r.submissions.insert(1, s("submitted", None, None, 0));
        r.submissions.insert(2, s("in_review", Some(3), None, 0));
        r.submissions.insert(4, s("accepted", None, Some(3), 1));
        r.submissions.insert(5, s("accepted", None, Some(3), 2));
        r.comments.insert(
            9,
            CommentRow {
                submission_id: 1,
                author_id: 8,
                copies: 1,
            },
        );
        r.comments.insert(
            10,
            CommentRow {
                submission_id: 1,
                author_id: 8,
                copies: 2,
            },
        );
        r
    }

    fn claimed(submission_id: i64, reviewer_id: i64) -> Change {
        Change::Claimed {
            submission_id,
            reviewer_id,
        }
    }

    fn decided(submission_id: i64, reviewer_id: i64, status: &str) -> Change {
        Change::Decided {
            submission_id,
            reviewer_id,
            status: status.into(),
        }
    }

    fn commented(comment_id: i64, submission_id: i64) -> Change {
        Change::Commented {
            comment_id,
            submission_id,
            author_id: 8,
        }
    }

    #[test]
    fn learning_changes_that_hold_pass() {
        let changes = [
            Change::Submitted {
                submission_id: 1,
                user_id: 7,
                project_id: 70,
            },
            claimed(2, 3),
            claimed(4, 3),
            decided(4, 3, "accepted"),
            commented(9, 1),
        ];
        let v = check(&changes, &rows());
        assert!(v.undone.is_empty(), "{v:?}");
        assert_eq!(v.checked["claim"], 2);
        assert_eq!(v.checked["decision"], 1);
    }

    #[test]
    fn lost_and_doubled_learning_changes_are_reported() {
        let changes = [
            Change::Submitted {
                submission_id: 3,
                user_id: 7,
                project_id: 70,
            },
            Change::Submitted {
                submission_id: 1,
                user_id: 7,
                project_id: 71,
            },
            // A claim the failover lost: the submission waits again, or another holds it.
            claimed(1, 3),
            claimed(2, 6),
            // A decision lost, one by someone else, a project accepted twice.
            decided(2, 3, "accepted"),
            decided(4, 6, "accepted"),
            decided(5, 3, "accepted"),
            commented(11, 1),
            commented(9, 2),
            commented(10, 1),
        ];
        let v = check(&changes, &rows());
        let problems: Vec<&str> = v.undone.iter().map(|u| u.problem.as_str()).collect();
        assert_eq!(problems.len(), changes.len(), "{problems:#?}");
        assert!(problems[2].contains("submitted, held by None"));
        assert!(problems[3].contains("held by Some(3)"));
        assert!(problems[4].contains("in_review"));
        assert!(problems[6].contains("2 accepted attempts"));
        assert!(problems[9].contains("stored 2 times"));
    }
}
