//! Purchase SQL: the idempotent insert, the seat counter, the status moves and the buyer's
//! list. Every function runs on the connection or transaction the use case hands it.

use lyceum_db::DbError;
use tokio_postgres::Row;

use super::Queries;
use super::course::SALES_OPEN;
use super::page::fetch_page;
use crate::entity::page::{Page, PageRequest};
use crate::entity::purchase::{PlanCode, Purchase, PurchaseStatus};

/// Purchases and the seats they hold.
#[derive(Debug, Clone, Copy, Default)]
pub struct PurchaseRepository;

/// A purchase found by its idempotency key, with the body fingerprint it was created with.
#[derive(Debug, Clone)]
pub struct KeyedPurchase {
    pub purchase: Purchase,
    pub fingerprint: String,
}

/// What the buyer is about to pay for, read before the insert.
#[derive(Debug, Clone)]
pub struct Offer {
    pub course_run_id: i64,
    pub plan_id: i32,
    pub course_price: i64,
    pub discount_percent: i16,
    /// The course is public (drafts are not for sale).
    pub published: bool,
    /// Today is on or before the run's last day of sales.
    pub on_sale: bool,
}

/// A purchase row locked for a status change.
#[derive(Debug, Clone, Copy)]
pub struct LockedPurchase {
    pub user_id: i64,
    pub course_run_id: i64,
    pub status: PurchaseStatus,
}

const SELECT_PURCHASE: &str = "
    SELECT p.id, p.user_id, p.course_run_id, r.course_id, c.title AS course_title,
           pl.code AS plan, p.final_price, p.status, p.created_at, p.paid_at, p.cancelled_at,
           p.refunded_at, p.request_fingerprint
      FROM purchases p
      JOIN course_runs r ON r.id = p.course_run_id
      JOIN courses c ON c.id = r.course_id
      JOIN plans pl ON pl.id = p.plan_id";

fn purchase(r: &Row) -> Result<Purchase, DbError> {
    let plan: String = r.get("plan");
    let status: String = r.get("status");
    Ok(Purchase {
        id: r.get("id"),
        user_id: r.get("user_id"),
        course_run_id: r.get("course_run_id"),
        course_id: r.get("course_id"),
        course_title: r.get("course_title"),
        plan: PlanCode::parse(&plan)
            .ok_or_else(|| DbError::Decode(format!("unknown plan code {plan:?}")))?,
        final_price: r.get("final_price"),
        status: PurchaseStatus::parse(&status)
            .ok_or_else(|| DbError::Decode(format!("unknown purchase status {status:?}")))?,
        created_at: r.get("created_at"),
        paid_at: r.get("paid_at"),
        cancelled_at: r.get("cancelled_at"),
        refunded_at: r.get("refunded_at"),
    })
}

impl PurchaseRepository {
    /// The caller's purchase made under `key`, if any.
    pub async fn find_by_key(
        &self,
        c: &impl Queries,
        user_id: i64,
        key: &str,
    ) -> Result<Option<KeyedPurchase>, DbError> {
        let sql = format!("{SELECT_PURCHASE} WHERE p.user_id = $1 AND p.idempotency_key = $2");
        let row = c.query_opt(&sql, &[&user_id, &key]).await?;
        row.map(|r| {
            Ok(KeyedPurchase {
                fingerprint: r.get("request_fingerprint"),
                purchase: purchase(&r)?,
            })
        })
        .transpose()
    }

    pub async fn find(&self, c: &impl Queries, id: i64) -> Result<Option<Purchase>, DbError> {
        let sql = format!("{SELECT_PURCHASE} WHERE p.id = $1");
        c.query_opt(&sql, &[&id])
            .await?
            .map(|r| purchase(&r))
            .transpose()
    }

    /// The run, its course's price and the plan's discount; `None` when either is unknown.
    pub async fn offer(
        &self,
        c: &impl Queries,
        course_run_id: i64,
        plan: PlanCode,
    ) -> Result<Option<Offer>, DbError> {
        let sql = format!(
            "SELECT r.id AS course_run_id, pl.id AS plan_id, c.price AS course_price,
                    pl.discount_percent, c.published, {SALES_OPEN} AS on_sale
               FROM course_runs r
               JOIN courses c ON c.id = r.course_id
               JOIN plans pl ON pl.code = $2
              WHERE r.id = $1"
        );
        let row = c.query_opt(&sql, &[&course_run_id, &plan.as_str()]).await?;
        Ok(row.map(|r| Offer {
            course_run_id: r.get("course_run_id"),
            plan_id: r.get("plan_id"),
            course_price: r.get("course_price"),
            discount_percent: r.get("discount_percent"),
            published: r.get("published"),
            on_sale: r.get("on_sale"),
        }))
    }

    /// Inserts the purchase unless this user already has one under `key`; `None` then. A
    /// concurrent insert with the same key makes this wait for that transaction, so `None`
    /// means the other one committed and its row is visible to the next statement.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert(
        &self,
        c: &impl Queries,
        user_id: i64,
        offer: &Offer,
        final_price: i64,
        key: &str,
        fingerprint: &str,
    ) -> Result<Option<i64>, DbError> {
        let row = c
            .query_opt(
                "INSERT INTO purchases (user_id, course_run_id, plan_id, final_price,
                                        idempotency_key, request_fingerprint)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (user_id, idempotency_key) DO NOTHING
                 RETURNING id",
                &[
                    &user_id,
                    &offer.course_run_id,
                    &offer.plan_id,
                    &final_price,
                    &key,
                    &fingerprint,
                ],
            )
            .await?;
        Ok(row.map(|r| r.get("id")))
    }

    /// Takes one seat; `false` when none is left. The row lock makes concurrent buyers of one
    /// run take turns, and each re-checks `seats_left > 0` after the one before commits.
    pub async fn take_seat(&self, c: &impl Queries, course_run_id: i64) -> Result<bool, DbError> {
        let n = c
            .execute(
                "UPDATE course_runs SET seats_left = seats_left - 1
                  WHERE id = $1 AND seats_left > 0",
                &[&course_run_id],
            )
            .await?;
        Ok(n == 1)
    }

    /// Gives a seat back (cancel, refund). The `seats_left <= seats_total` check catches a
    /// seat released twice.
    pub async fn release_seat(&self, c: &impl Queries, course_run_id: i64) -> Result<(), DbError> {
        c.execute(
            "UPDATE course_runs SET seats_left = seats_left + 1 WHERE id = $1",
            &[&course_run_id],
        )
        .await?;
        Ok(())
    }

    /// Locks a purchase for a status change.
    pub async fn lock(&self, c: &impl Queries, id: i64) -> Result<Option<LockedPurchase>, DbError> {
        let row = c
            .query_opt(
                "SELECT user_id, course_run_id, status FROM purchases WHERE id = $1 FOR UPDATE",
                &[&id],
            )
            .await?;
        row.map(|r| {
            let status: String = r.get("status");
            Ok(LockedPurchase {
                user_id: r.get("user_id"),
                course_run_id: r.get("course_run_id"),
                status: PurchaseStatus::parse(&status).ok_or_else(|| {
                    DbError::Decode(format!("unknown purchase status {status:?}"))
                })?,
            })
        })
        .transpose()
    }

    /// Sets the status and its timestamp (the table's checks tie each status to one).
    pub async fn set_status(
        &self,
        c: &impl Queries,
        id: i64,
        status: PurchaseStatus,
    ) -> Result<(), DbError> {
        let sql = match status {
            PurchaseStatus::Paid => {
                "UPDATE purchases SET status = 'paid', paid_at = now() WHERE id = $1"
            }
            PurchaseStatus::Cancelled => {
                "UPDATE purchases SET status = 'cancelled', cancelled_at = now() WHERE id = $1"
            }
            PurchaseStatus::Refunded => {
                "UPDATE purchases SET status = 'refunded', refunded_at = now() WHERE id = $1"
            }
            PurchaseStatus::Pending => {
                return Err(DbError::Decode(
                    "a purchase never moves back to pending".into(),
                ));
            }
        };
        c.execute(sql, &[&id]).await?;
        Ok(())
    }

    /// One page of a user's purchases, newest first.
    pub async fn list_for_user(
        &self,
        c: &impl Queries,
        user_id: i64,
        page: PageRequest,
    ) -> Result<Page<Purchase>, DbError> {
        let sql =
            format!("{SELECT_PURCHASE} WHERE p.user_id = $1 ORDER BY p.created_at DESC, p.id DESC");
        fetch_page(c, &sql, &[&user_id], page, purchase).await
    }
}
