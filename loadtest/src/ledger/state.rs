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
//!
//! A change whose answer was lost (a failover, a timeout) is not acknowledged and not checked.

use std::collections::BTreeMap;

use lyceum_db::DbError;
use serde::Serialize;

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
}

impl Change {
    pub fn kind(&self) -> &'static str {
        match self {
            Change::Paid { .. } => "payment",
            Change::LoggedOut { .. } => "log out",
            Change::PasswordChanged { .. } => "password change",
            Change::Deactivated { .. } => "deactivation",
            Change::CertificateIssued { .. } => "certificate",
        }
    }
}

/// What the database says about the acknowledged changes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateRows {
    /// Purchase id → status.
    pub purchase_status: BTreeMap<i64, String>,
    /// Signatures present in `revoked_tokens`, with their user.
    pub revoked_signatures: BTreeMap<String, i64>,
    /// Refresh token → (tokens in its family, of which revoked).
    pub families: BTreeMap<String, (i64, i64)>,
    /// User id → (`tokens_valid_from` as Unix seconds, deactivated).
    pub users: BTreeMap<i64, (Option<f64>, bool)>,
    /// Serial → (user, course).
    pub certificates: BTreeMap<String, (i64, i64)>,
    /// (user, course) → certificates held.
    pub certificates_per_pair: BTreeMap<(i64, i64), i64>,
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
        Change::PasswordChanged { user_id, sent_at } => match rows.users.get(user_id) {
            Some((Some(from), _)) if *from + SKEW_S >= *sent_at => None,
            Some((Some(from), _)) => Some(format!(
                "tokens_valid_from ({from:.0}) is older than the change ({sent_at:.0})"
            )),
            Some((None, _)) => Some("tokens_valid_from is not set".into()),
            None => Some("no such user".into()),
        },
        Change::Deactivated { user_id } => match rows.users.get(user_id) {
            Some((_, true)) => None,
            Some((_, false)) => Some("the account is active".into()),
            None => Some("no such user".into()),
        },
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

/// Reads the rows the changes name, on `c` (a connection to the primary).
pub async fn read_rows(
    c: &tokio_postgres::Client,
    changes: &[Change],
) -> Result<StateRows, DbError> {
    let (mut purchases, mut signatures, mut refresh, mut users, mut serials) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut cert_users, mut cert_courses) = (vec![], vec![]);
    for change in changes {
        match change {
            Change::Paid { purchase_id, .. } => purchases.push(*purchase_id),
            Change::LoggedOut {
                signature,
                refresh_token,
                ..
            } => {
                signatures.push(signature.clone());
                refresh.push(refresh_token.clone());
            }
            Change::PasswordChanged { user_id, .. } | Change::Deactivated { user_id } => {
                users.push(*user_id)
            }
            Change::CertificateIssued {
                serial_number,
                user_id,
                course_id,
            } => {
                serials.push(serial_number.clone());
                cert_users.push(*user_id);
                cert_courses.push(*course_id);
            }
        }
    }
    let mut rows = StateRows::default();
    for r in c
        .query(
            "SELECT id, status::text FROM purchases WHERE id = ANY($1)",
            &[&purchases],
        )
        .await?
    {
        rows.purchase_status.insert(r.get(0), r.get(1));
    }
    for r in c
        .query(
            "SELECT signature, user_id FROM revoked_tokens WHERE signature = ANY($1)",
            &[&signatures],
        )
        .await?
    {
        rows.revoked_signatures.insert(r.get(0), r.get(1));
    }
    // The same hash the backend stores (repository/refresh_token.rs).
    for r in c
        .query(
            "SELECT k.token, count(f.*), count(f.revoked_at) \
             FROM unnest($1::text[]) AS k(token) \
             JOIN refresh_tokens t ON t.token_hash = sha256(convert_to(k.token, 'UTF8')) \
             JOIN refresh_tokens f ON f.family_id = t.family_id \
             GROUP BY k.token",
            &[&refresh],
        )
        .await?
    {
        rows.families.insert(r.get(0), (r.get(1), r.get(2)));
    }
    for r in c
        .query(
            "SELECT id, extract(epoch FROM tokens_valid_from)::float8, deactivated_at IS NOT NULL \
             FROM users WHERE id = ANY($1)",
            &[&users],
        )
        .await?
    {
        rows.users.insert(r.get(0), (r.get(1), r.get(2)));
    }
    for r in c
        .query(
            "SELECT serial_number, user_id, course_id FROM certificates \
             WHERE serial_number = ANY($1)",
            &[&serials],
        )
        .await?
    {
        rows.certificates.insert(r.get(0), (r.get(1), r.get(2)));
    }
    for r in c
        .query(
            "SELECT c.user_id, c.course_id, count(*) FROM certificates c \
             JOIN (SELECT DISTINCT * FROM unnest($1::bigint[], $2::bigint[])) AS k(user_id, course_id) \
               ON c.user_id = k.user_id AND c.course_id = k.course_id \
             GROUP BY c.user_id, c.course_id",
            &[&cert_users, &cert_courses],
        )
        .await?
    {
        rows.certificates_per_pair
            .insert((r.get(0), r.get(1)), r.get(2));
    }
    Ok(rows)
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
        r.users.insert(7, (Some(1_000.0), true));
        r.users.insert(8, (None, false));
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
        ];
        let v = check(&changes, &rows());
        assert!(v.undone.is_empty(), "{v:?}");
        assert_eq!(v.total(), 5);
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
        ];
        let v = check(&changes, &rows());
        let problems: Vec<&str> = v.undone.iter().map(|u| u.problem.as_str()).collect();
        assert_eq!(problems.len(), changes.len(), "{problems:#?}");
        assert!(problems[0].contains("refunded"));
        assert!(problems[3].contains("1 of the 3"));
        assert!(problems[6].contains("older than the change"));
        assert!(problems[7].contains("active"));
        assert!(problems[10].contains("belongs to user 7 and course 70"));
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
