//! The ledger of state changes other than a purchase's creation: each change the API
//! acknowledged to a client must still hold after the run (and across the drill's failover).
//!
//! | acknowledged | still holds when |
//! | --- | --- |
//! | a payment | the purchase is `paid` (the load never refunds) |
//! | a log out | the access token's signature is in `revoked_tokens` and every refresh token of its family is revoked |
//! | a password change | `users.tokens_valid_from` is set, no earlier than the request (the old tokens are refused) |
//! | a deactivation | `users.deactivated_at` is set (the load never reactivates after its last deactivation) |
//! | a certificate | its serial exists for that user and course, the only one for the pair |
//! | a profile edit | the user's `photo_url` is the one sent |
//! | a review | it exists, by that user for that course |
//! | a run deleted | no run with that id |
//! | a post published / deleted | the post is published / there is no such post |
//! | an application's moves | it has the last status the advisor set |
//! | a submission, a claim, a decision, a comment | see [`super::learning`] |
//!
//! A change whose answer was lost (a failover, a timeout) is not acknowledged and not checked;
//! neither is one a later unacknowledged request of the same journey may have changed again.
//! Course prices are not: two editors change one course concurrently, and which commit came
//! last is not what the clients saw last.

use std::collections::BTreeMap;

use serde::Serialize;

pub use super::state_rows::{CommentRow, StateRows, SubmissionRow, UserRow, read_rows};

/// One state change acknowledged to a client.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Paid {
        purchase_id: i64,
        user_id: i64,
        course_id: i64,
    },
    LoggedOut {
        user_id: i64,
        /// The access token's signature part: its name in `revoked_tokens`.
        signature: String,
        /// The session's last refresh token: finds its family. Never written to a report.
        #[serde(skip)]
        refresh_token: String,
    },
    PasswordChanged {
        user_id: i64,
        /// When the request was sent (Unix seconds): the old tokens are older.
        sent_at: f64,
    },
    Deactivated {
        user_id: i64,
    },
    CertificateIssued {
        serial_number: String,
        user_id: i64,
        course_id: i64,
    },
    ProfileEdited {
        user_id: i64,
        photo_url: String,
    },
    Reviewed {
        review_id: i64,
        user_id: i64,
        course_id: i64,
    },
    RunDeleted {
        run_id: i64,
    },
    PostPublished {
        post_id: i64,
    },
    PostDeleted {
        post_id: i64,
    },
    /// Every move of the application was acknowledged; `status` is the last.
    ApplicationMoved {
        application_id: i64,
        status: String,
    },
    Submitted {
        submission_id: i64,
        user_id: i64,
        project_id: i64,
    },
    Claimed {
        submission_id: i64,
        reviewer_id: i64,
    },
    /// An acceptance or a return; `status` is `accepted` or `returned`.
    Decided {
        submission_id: i64,
        reviewer_id: i64,
        status: String,
    },
    Commented {
        comment_id: i64,
        submission_id: i64,
        author_id: i64,
    },
}

impl Change {
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Paid { .. } => "payment",
            Change::LoggedOut { .. } => "log out",
            Change::PasswordChanged { .. } => "password change",
            Change::Deactivated { .. } => "deactivation",
            Change::CertificateIssued { .. } => "certificate",
            Change::ProfileEdited { .. } => "profile edit",
            Change::Reviewed { .. } => "review",
            Change::RunDeleted { .. } => "run deleted",
            Change::PostPublished { .. } => "post published",
            Change::PostDeleted { .. } => "post deleted",
            Change::ApplicationMoved { .. } => "application",
            Change::Submitted { .. } => "submission",
            Change::Claimed { .. } => "claim",
            Change::Decided { .. } => "decision",
            Change::Commented { .. } => "comment",
        }
    }
}

/// One acknowledged change that no longer holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Undone {
    pub change: Change,
    pub problem: String,
}

/// The state check's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StateVerdict {
    /// Acknowledged changes checked, by kind.
    pub checked: BTreeMap<&'static str, usize>,
    pub undone: Vec<Undone>,
}

impl StateVerdict {
    pub fn total(&self) -> usize {
        self.checked.values().sum()
    }
}

/// Clock skew allowed between the load generator and the database when comparing times.
const SKEW_S: f64 = 2.0;

/// The pure comparison of the acknowledged changes with the rows.
pub fn check(changes: &[Change], rows: &StateRows) -> StateVerdict {
    let mut verdict = StateVerdict::default();
    for change in changes {
        *verdict.checked.entry(change.kind()).or_default() += 1;
        if let Some(problem) = problem(change, rows) {
            verdict.undone.push(Undone {
                change: change.clone(),
                problem,
            });
        }
    }
    verdict
}

fn problem(change: &Change, rows: &StateRows) -> Option<String> {
    match change {
        Change::Paid { purchase_id, .. } => match rows.purchase_status.get(purchase_id) {
            Some(s) if s == "paid" => None,
            Some(s) => Some(format!("the purchase is {s}, not paid")),
            None => Some("no purchase with this id".into()),
        },
        Change::LoggedOut {
            user_id,
            signature,
            refresh_token,
        } => {
            if rows.revoked_signatures.get(signature) != Some(user_id) {
                return Some("the access token is not in revoked_tokens".into());
            }
            match rows.families.get(refresh_token) {
                Some((n, revoked)) if n == revoked => None,
                Some((n, revoked)) => Some(format!(
                    "{} of the {n} refresh tokens of its family are not revoked",
                    n - revoked
                )),
                None => Some("its refresh token is not in refresh_tokens".into()),
            }
        }
        Change::PasswordChanged { user_id, sent_at } => {
            match rows.users.get(user_id).map(|u| u.tokens_valid_from) {
                Some(Some(from)) if from + SKEW_S >= *sent_at => None,
                Some(Some(from)) => Some(format!(
                    "tokens_valid_from ({from:.0}) is older than the change ({sent_at:.0})"
                )),
                Some(None) => Some("tokens_valid_from is not set".into()),
                None => Some("no such user".into()),
            }
        }
        Change::Deactivated { user_id } => match rows.users.get(user_id) {
            Some(u) if u.deactivated => None,
            Some(_) => Some("the account is active".into()),
            None => Some("no such user".into()),
        },
        Change::ProfileEdited { user_id, photo_url } => match rows.users.get(user_id) {
            Some(u) if u.photo_url.as_deref() == Some(photo_url.as_str()) => None,
            Some(u) => Some(format!("photo_url is {:?}", u.photo_url)),
            None => Some("no such user".into()),
        },
        Change::Reviewed {
            review_id,
            user_id,
            course_id,
        } => match rows.reviews.get(review_id) {
            Some(pair) if *pair == (*user_id, *course_id) => None,
            Some(pair) => Some(format!(
                "the review belongs to user {} and course {}",
                pair.0, pair.1
            )),
            None => Some("no review with this id".into()),
        },
        Change::RunDeleted { run_id } => rows
            .runs_present
            .contains(run_id)
            .then(|| "the run still exists".into()),
        Change::PostPublished { post_id } => match rows.posts.get(post_id) {
            Some(true) => None,
            Some(false) => Some("the post is a draft".into()),
            None => Some("no post with this id".into()),
        },
        Change::PostDeleted { post_id } => rows
            .posts
            .contains_key(post_id)
            .then(|| "the post still exists".into()),
        Change::ApplicationMoved {
            application_id,
            status,
        } => match rows.applications.get(application_id) {
            Some(s) if s == status => None,
            Some(s) => Some(format!("the application is {s}, not {status}")),
            None => Some("no application with this id".into()),
        },
        Change::Submitted { .. }
        | Change::Claimed { .. }
        | Change::Decided { .. }
        | Change::Commented { .. } => super::learning::problem(change, rows),
        Change::CertificateIssued {
            serial_number,
            user_id,
            course_id,
        } => match rows.certificates.get(serial_number) {
            None => Some("no certificate with this serial number".into()),
            Some(pair) if *pair != (*user_id, *course_id) => Some(format!(
                "the serial belongs to user {} and course {}",
                pair.0, pair.1
            )),
            Some(_) => match rows.certificates_per_pair.get(&(*user_id, *course_id)) {
                Some(1) => None,
                n => Some(format!(
                    "{} certificates for this user and course",
                    n.unwrap_or(&0)
                )),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged_out(sig: &str, refresh: &str) -> Change {
        Change::LoggedOut {
            user_id: 7,
            signature: sig.into(),
            refresh_token: refresh.into(),
        }
    }

    fn cert(serial: &str, user: i64, course: i64) -> Change {
        Change::CertificateIssued {
            serial_number: serial.into(),
            user_id: user,
            course_id: course,
        }
    }

    fn rows() -> StateRows {
        let mut r = StateRows::default();
        r.purchase_status.insert(1, "paid".into());
        r.purchase_status.insert(2, "refunded".into());
        r.revoked_signatures.insert("sig".into(), 7);
        r.families.insert("rt".into(), (3, 3));
        r.families.insert("rt-open".into(), (3, 2));
        r.users.insert(
            7,
            UserRow {
                tokens_valid_from: Some(1_000.0),
                deactivated: true,
                photo_url: Some("https://img/7.png".into()),
            },
        );
        r.users.insert(8, UserRow::default());
        r.reviews.insert(5, (7, 70));
        r.runs_present.insert(40);
        r.posts.insert(1, true);
        r.posts.insert(2, false);
        r.applications.insert(9, "hired".into());
        r.certificates.insert("s1".into(), (7, 70));
        r.certificates_per_pair.insert((7, 70), 1);
        r
    }

    #[test]
    fn changes_that_hold_pass_and_are_counted_by_kind() {
        let changes = [
            Change::Paid {
                purchase_id: 1,
                user_id: 7,
                course_id: 70,
            },
            logged_out("sig", "rt"),
            Change::PasswordChanged {
                user_id: 7,
                sent_at: 999.5,
            },
            Change::Deactivated { user_id: 7 },
            cert("s1", 7, 70),
            Change::ProfileEdited {
                user_id: 7,
                photo_url: "https://img/7.png".into(),
            },
            Change::Reviewed {
                review_id: 5,
                user_id: 7,
                course_id: 70,
            },
            Change::RunDeleted { run_id: 41 },
            Change::PostPublished { post_id: 1 },
            Change::PostDeleted { post_id: 3 },
            Change::ApplicationMoved {
                application_id: 9,
                status: "hired".into(),
            },
        ];
        let v = check(&changes, &rows());
        assert!(v.undone.is_empty(), "{v:?}");
        assert_eq!(v.total(), 11);
        assert_eq!(v.checked["log out"], 1);
    }

    #[test]
    fn every_undone_change_is_reported() {
        let changes = [
            Change::Paid {
                purchase_id: 2,
                user_id: 7,
                course_id: 70,
            },
            Change::Paid {
                purchase_id: 3,
                user_id: 7,
                course_id: 70,
            },
            logged_out("gone", "rt"),
            logged_out("sig", "rt-open"),
            logged_out("sig", "unknown"),
            Change::PasswordChanged {
                user_id: 8,
                sent_at: 5.0,
            },
            Change::PasswordChanged {
                user_id: 7,
                sent_at: 2_000.0,
            },
            Change::Deactivated { user_id: 8 },
            Change::Deactivated { user_id: 9 },
            cert("s2", 7, 70),
            cert("s1", 7, 71),
            Change::ProfileEdited {
                user_id: 8,
                photo_url: "https://img/8.png".into(),
            },
            Change::Reviewed {
                review_id: 6,
                user_id: 7,
                course_id: 70,
            },
            Change::RunDeleted { run_id: 40 },
            Change::PostPublished { post_id: 2 },
            Change::PostDeleted { post_id: 1 },
            Change::ApplicationMoved {
                application_id: 9,
                status: "rejected".into(),
            },
        ];
        let v = check(&changes, &rows());
        let problems: Vec<&str> = v.undone.iter().map(|u| u.problem.as_str()).collect();
        assert_eq!(problems.len(), changes.len(), "{problems:#?}");
        assert!(problems[0].contains("refunded"));
        assert!(problems[3].contains("1 of the 3"));
        assert!(problems[6].contains("older than the change"));
        assert!(problems[7].contains("active"));
        assert!(problems[10].contains("belongs to user 7 and course 70"));
        assert!(problems[11].contains("photo_url is None"));
        assert!(problems[14].contains("draft"));
        assert!(problems[16].contains("hired, not rejected"));
    }

    #[test]
    fn two_certificates_for_one_pair_are_reported() {
        let mut r = rows();
        r.certificates_per_pair.insert((7, 70), 2);
        let v = check(&[cert("s1", 7, 70)], &r);
        assert_eq!(v.undone.len(), 1);
        assert!(v.undone[0].problem.contains("2 certificates"));
    }

    #[test]
    fn the_refresh_token_never_reaches_a_report() {
        let json = serde_json::to_string(&logged_out("sig", "secret-refresh")).unwrap_or_default();
        assert!(json.contains("\"change\":\"logged_out\""), "{json}");
        assert!(!json.contains("secret-refresh"), "{json}");
    }
}
