//! The client-side ledger of acknowledged writes and its check against the database after the
//! run.
//!
//! A purchase is *acknowledged* when a client read a 2xx answer with its id. After the load,
//! through the write port (the primary, so replica lag cannot hide a row):
//! - every acknowledged purchase exists, exactly once, by id and by `(user_id, key)`, with the
//!   user, key and run the client was told;
//! - one key was never acknowledged with two different purchases;
//! - no run the load tried to buy is oversold: `seats_left >= 0` and
//!   `seats_total - seats_left` equals its pending + paid purchases;
//! - every other acknowledged state change (payments, log outs, password changes,
//!   deactivations, certificates, and learning: submissions, claims, decisions, comments)
//!   still holds ([`state`]).

mod learning;
pub mod state;
mod state_rows;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Mutex,
};

use lyceum_db::{Db, DbError};
use serde::Serialize;

pub use state::Change;
use state::StateVerdict;

/// One purchase acknowledged to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ack {
    pub user_id: i64,
    pub idempotency_key: String,
    pub purchase_id: i64,
    pub course_run_id: i64,
}

/// A `purchases` row as the check needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseRow {
    pub id: i64,
    pub user_id: i64,
    pub idempotency_key: String,
    pub course_run_id: i64,
}

/// A run's seat accounting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSeats {
    pub id: i64,
    pub seats_total: i64,
    pub seats_left: i64,
    /// Pending + paid purchases of the run.
    pub active_purchases: i64,
}

impl RunSeats {
    pub fn is_consistent(&self) -> bool {
        self.seats_left >= 0 && self.seats_total - self.seats_left == self.active_purchases
    }
}

/// Acknowledgements and the runs the load tried to buy, shared by every student.
#[derive(Debug, Default)]
pub struct Ledger {
    acks: Mutex<Vec<Ack>>,
    runs_tried: Mutex<BTreeSet<i64>>,
    changes: Mutex<Vec<Change>>,
}

impl Ledger {
    pub fn acknowledged(&self, ack: Ack) {
        self.acks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ack);
    }

    pub fn tried_run(&self, run_id: i64) {
        self.runs_tried
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(run_id);
    }

    pub fn changed(&self, change: Change) {
        self.changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(change);
    }

    pub fn changes(&self) -> Vec<Change> {
        self.changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `(user, course)` of the payments acknowledged so far: who may get a certificate.
    pub fn paid_pairs(&self) -> Vec<(i64, i64)> {
        self.changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|c| match c {
                Change::Paid {
                    user_id, course_id, ..
                } => Some((*user_id, *course_id)),
                _ => None,
            })
            .collect()
    }

    pub fn acks(&self) -> Vec<Ack> {
        self.acks.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn runs_tried(&self) -> Vec<i64> {
        self.runs_tried
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect()
    }
}

/// One problem the check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub ack: Ack,
    pub problem: String,
}

/// The check's result.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LedgerVerdict {
    /// 2xx answers carrying a purchase (replays included).
    pub acknowledgements: usize,
    /// Distinct `(user_id, key)` pairs acknowledged.
    pub acknowledged_purchases: usize,
    /// Acknowledged, but no such row (or a row with other user, key or run).
    pub lost: Vec<Finding>,
    /// A key acknowledged with two ids, or two rows for one `(user_id, key)`.
    pub duplicated: Vec<Finding>,
    pub runs_checked: usize,
    /// Runs whose seats do not add up.
    pub oversold: Vec<RunSeats>,
    /// The other acknowledged state changes.
    pub state: StateVerdict,
    pub passed: bool,
}

impl LedgerVerdict {
    /// Adds the state check's result (the purchases' verdict comes from [`check`]).
    pub fn with_state(mut self, state: StateVerdict) -> Self {
        self.passed &= state.undone.is_empty();
        self.state = state;
        self
    }
}

/// The pure comparison: `by_id` are the rows whose id was acknowledged, `by_key` the rows
/// whose `(user_id, key)` was, `runs` the seat accounting of every run tried.
pub fn check(
    acks: &[Ack],
    by_id: &[PurchaseRow],
    by_key: &[PurchaseRow],
    runs: &[RunSeats],
) -> LedgerVerdict {
    let mut verdict = LedgerVerdict {
        acknowledgements: acks.len(),
        runs_checked: runs.len(),
        ..LedgerVerdict::default()
    };
    let mut per_key: BTreeMap<(i64, &str), Vec<&Ack>> = BTreeMap::new();
    for ack in acks {
        per_key
            .entry((ack.user_id, ack.idempotency_key.as_str()))
            .or_default()
            .push(ack);
    }
    verdict.acknowledged_purchases = per_key.len();
    let rows_by_id: BTreeMap<i64, &PurchaseRow> = by_id.iter().map(|r| (r.id, r)).collect();
    let mut rows_per_key: BTreeMap<(i64, &str), usize> = BTreeMap::new();
    for row in by_key {
        *rows_per_key
            .entry((row.user_id, row.idempotency_key.as_str()))
            .or_default() += 1;
    }

    for (key, key_acks) in &per_key {
        let first = key_acks[0];
        let ids: BTreeSet<i64> = key_acks.iter().map(|a| a.purchase_id).collect();
        if ids.len() > 1 {
            verdict.duplicated.push(Finding {
                ack: first.clone(),
                problem: format!("one idempotency key was acknowledged with purchases {ids:?}"),
            });
        }
        match rows_per_key.get(key).copied().unwrap_or(0) {
            0 => {}
            1 => {}
            n => verdict.duplicated.push(Finding {
                ack: first.clone(),
                problem: format!("{n} rows for this (user_id, idempotency_key)"),
            }),
        }
        // Each distinct purchase id acknowledged under this key must be a row of its own.
        for ack in ids
            .iter()
            .filter_map(|id| key_acks.iter().find(|a| a.purchase_id == *id))
        {
            match rows_by_id.get(&ack.purchase_id) {
                None => verdict.lost.push(Finding {
                    ack: (**ack).clone(),
                    problem: "no purchase with this id".into(),
                }),
                Some(row)
                    if row.user_id != ack.user_id
                        || row.idempotency_key != ack.idempotency_key
                        || row.course_run_id != ack.course_run_id =>
                {
                    verdict.lost.push(Finding {
                        ack: (**ack).clone(),
                        problem: format!(
                            "the row with this id belongs to user {} key {:?} run {}",
                            row.user_id, row.idempotency_key, row.course_run_id
                        ),
                    });
                }
                Some(_) => {}
            }
        }
    }
    verdict.oversold = runs
        .iter()
        .filter(|r| !r.is_consistent())
        .cloned()
        .collect();
    verdict.passed =
        verdict.lost.is_empty() && verdict.duplicated.is_empty() && verdict.oversold.is_empty();
    verdict
}

/// Reads what the check needs from the primary and runs it.
pub async fn verify(
    db: &Db,
    acks: &[Ack],
    runs_tried: &[i64],
    changes: &[Change],
) -> Result<LedgerVerdict, DbError> {
    let ids: Vec<i64> = acks.iter().map(|a| a.purchase_id).collect();
    let users: Vec<i64> = acks.iter().map(|a| a.user_id).collect();
    let keys: Vec<String> = acks.iter().map(|a| a.idempotency_key.clone()).collect();
    let mut run_ids: BTreeSet<i64> = runs_tried.iter().copied().collect();
    run_ids.extend(acks.iter().map(|a| a.course_run_id));
    let run_ids: Vec<i64> = run_ids.into_iter().collect();

    let (by_id, by_key, runs, state_rows) = db
        .write(|c| {
            let (ids, users, keys, run_ids) =
                (ids.clone(), users.clone(), keys.clone(), run_ids.clone());
            let changes = changes.to_vec();
            Box::pin(async move {
                let to_row = |r: &tokio_postgres::Row| PurchaseRow {
                    id: r.get(0),
                    user_id: r.get(1),
                    idempotency_key: r.get(2),
                    course_run_id: r.get(3),
                };
                let by_id = c
                    .query(
                        "SELECT id, user_id, idempotency_key, course_run_id FROM purchases \
                         WHERE id = ANY($1)",
                        &[&ids],
                    )
                    .await?
                    .iter()
                    .map(to_row)
                    .collect::<Vec<_>>();
                let by_key = c
                    .query(
                        "SELECT p.id, p.user_id, p.idempotency_key, p.course_run_id \
                         FROM purchases p \
                         JOIN (SELECT DISTINCT * FROM unnest($1::bigint[], $2::text[])) AS k(user_id, key) \
                           ON p.user_id = k.user_id AND p.idempotency_key = k.key",
                        &[&users, &keys],
                    )
                    .await?
                    .iter()
                    .map(to_row)
                    .collect::<Vec<_>>();
                let runs = c
                    .query(
                        "SELECT r.id, r.seats_total::bigint, r.seats_left::bigint, \
                                count(p.id) FILTER (WHERE p.status IN ('pending', 'paid')) \
                         FROM course_runs r LEFT JOIN purchases p ON p.course_run_id = r.id \
                         WHERE r.id = ANY($1) GROUP BY r.id ORDER BY r.id",
                        &[&run_ids],
                    )
                    .await?
                    .iter()
                    .map(|r| RunSeats {
                        id: r.get(0),
                        seats_total: r.get(1),
                        seats_left: r.get(2),
                        active_purchases: r.get(3),
                    })
                    .collect::<Vec<_>>();
                let state_rows = state::read_rows(c, &changes).await?;
                Ok::<_, DbError>((by_id, by_key, runs, state_rows))
            })
        })
        .await?;
    Ok(check(acks, &by_id, &by_key, &runs).with_state(state::check(changes, &state_rows)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(user: i64, key: &str, id: i64, run: i64) -> Ack {
        Ack {
            user_id: user,
            idempotency_key: key.into(),
            purchase_id: id,
            course_run_id: run,
        }
    }

    fn row(id: i64, user: i64, key: &str, run: i64) -> PurchaseRow {
        PurchaseRow {
            id,
            user_id: user,
            idempotency_key: key.into(),
            course_run_id: run,
        }
    }

    fn seats(id: i64, total: i64, left: i64, active: i64) -> RunSeats {
        RunSeats {
            id,
            seats_total: total,
            seats_left: left,
            active_purchases: active,
        }
    }

    #[test]
    fn every_ack_found_once_passes_and_replays_count_once() {
        let acks = [
            ack(1, "k1", 10, 100),
            ack(1, "k1", 10, 100),
            ack(2, "k2", 11, 100),
        ];
        let rows = [row(10, 1, "k1", 100), row(11, 2, "k2", 100)];
        let v = check(&acks, &rows, &rows, &[seats(100, 30, 28, 2)]);
        assert!(v.passed, "{v:?}");
        assert_eq!(v.acknowledgements, 3);
        assert_eq!(v.acknowledged_purchases, 2);
        assert_eq!(v.runs_checked, 1);
    }

    #[test]
    fn a_missing_row_is_lost() {
        let acks = [ack(1, "k1", 10, 100), ack(2, "k2", 11, 100)];
        let rows = [row(10, 1, "k1", 100)];
        let v = check(&acks, &rows, &rows, &[]);
        assert!(!v.passed);
        assert_eq!(v.lost.len(), 1);
        assert_eq!(v.lost[0].ack.purchase_id, 11);
    }

    #[test]
    fn a_row_of_someone_else_under_the_acked_id_is_lost_too() {
        let acks = [ack(1, "k1", 10, 100)];
        let rows = [row(10, 7, "other", 100)];
        let v = check(&acks, &rows, &[], &[]);
        assert_eq!(v.lost.len(), 1, "{v:?}");
        assert!(v.lost[0].problem.contains("user 7"));
    }

    #[test]
    fn one_key_with_two_purchases_is_a_duplicate() {
        let acks = [ack(1, "k1", 10, 100), ack(1, "k1", 12, 100)];
        let rows = [row(10, 1, "k1", 100), row(12, 1, "k1", 100)];
        let v = check(&acks, &rows, &rows, &[]);
        assert!(!v.passed);
        // Once for the two acknowledged ids, once for the two rows under one key.
        assert_eq!(v.duplicated.len(), 2, "{v:?}");
        assert!(v.lost.is_empty());
    }

    #[test]
    fn runs_must_add_up_and_never_go_negative() {
        let runs = [
            seats(1, 30, 28, 2),
            seats(2, 30, 27, 2),
            seats(3, 30, -1, 31),
        ];
        let v = check(&[], &[], &[], &runs);
        assert!(!v.passed);
        let bad: Vec<i64> = v.oversold.iter().map(|r| r.id).collect();
        assert_eq!(bad, vec![2, 3]);
    }

    #[test]
    fn an_empty_ledger_passes() {
        assert!(check(&[], &[], &[], &[]).passed);
    }
}
