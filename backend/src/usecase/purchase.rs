//! Buying a course run, and the life of a purchase after that.
//!
//! **Placing** runs in one transaction on the primary, keyed by the client's idempotency key:
//! 1. a purchase under this key already exists → it is the answer (a replay), provided the
//!    request body is the same (else `IdempotencyKeyReused`);
//! 2. the run and plan are looked up and the price is computed here, never taken from the
//!    client;
//! 3. the purchase row is inserted (`ON CONFLICT (user_id, idempotency_key) DO NOTHING`); a
//!    concurrent request with the same key waits on that insert, then finds the winner's row
//!    and answers with it;
//! 4. one seat is taken (`seats_left - 1 WHERE seats_left > 0`); none left → the whole
//!    transaction rolls back and the buyer gets `SoldOut`.
//!
//! Because a replay can never create a second purchase, the whole operation is safe to
//! retry: it runs under `Db::write`'s retry budget, and a client that got a 503 (or lost the
//! answer) retries with the same key and gets the purchase exactly once.
//!
//! **Status moves** (pay, cancel, refund) lock the row, check the status machine, and move
//! the seat back on cancel and refund in the same transaction. Asking for the status a
//! purchase already has answers with it, so these too are retried safely.
//!
//! Every committed write fences its author's reads ([`ReadYourWrites`]).

use lyceum_db::{Client, Db, DbError, DbFuture};

use super::{Resource, ServiceError, consistency::ReadYourWrites};
use crate::entity::page::{Page, PageRequest};
use crate::{
    entity::{
        plan,
        purchase::{IdempotencyKey, Purchase, PurchaseOrder, Transition, TransitionOutcome},
        user::Principal,
    },
    repository::{
        pg,
        purchase::{KeyedPurchase, PurchaseRepository},
        user::UserRepository,
    },
};

/// The answer to a purchase request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placed {
    /// This request created the purchase.
    Created(Purchase),
    /// An earlier request with the same key did; this is that purchase.
    Replayed(Purchase),
}

impl Placed {
    pub fn purchase(&self) -> &Purchase {
        match self {
            Self::Created(p) | Self::Replayed(p) => p,
        }
    }
}

/// Purchases: placing, paying, cancelling, refunding and reading them.
#[derive(Debug, Clone)]
pub struct PurchaseService {
    db: Db,
    ryw: ReadYourWrites,
    purchases: PurchaseRepository,
    users: UserRepository,
}

impl PurchaseService {
    pub fn new(db: Db, ryw: ReadYourWrites) -> Self {
        Self {
            db,
            ryw,
            purchases: PurchaseRepository,
            users: UserRepository,
        }
    }

    /// Places an order under an idempotency key; see the module documentation.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, run_id = order.course_run_id))]
    pub async fn place(
        &self,
        who: Principal,
        key: &IdempotencyKey,
        order: &PurchaseOrder,
    ) -> Result<Placed, ServiceError> {
        let repo = self.purchases;
        let ryw = self.ryw.clone();
        let fingerprint = order.fingerprint();
        let (placed, lsn) = self
            .db
            .write(|c| {
                // Owned copies: the attempt's future may only borrow the connection.
                let (key, order, fingerprint, ryw) =
                    (key.clone(), order.clone(), fingerprint.clone(), ryw.clone());
                Box::pin(async move {
                    let placed = Self::place_in_transaction(
                        repo,
                        c,
                        who.user_id,
                        key.as_str(),
                        &order,
                        &fingerprint,
                    )
                    .await?;
                    // A replay fences too: the request that created the purchase may have
                    // committed and then lost its connection before it could fence.
                    let lsn = ryw.commit_position(c).await;
                    Ok::<_, ServiceError>((placed, lsn))
                })
            })
            .await?;
        self.ryw.wrote(who.user_id, lsn.as_deref()).await;
        Ok(placed)
    }

    async fn place_in_transaction(
        repo: PurchaseRepository,
        c: &mut Client,
        user_id: i64,
        key: &str,
        order: &PurchaseOrder,
        fingerprint: &str,
    ) -> Result<Placed, ServiceError> {
        let replay = |found: KeyedPurchase| {
            if found.fingerprint == fingerprint {
                Ok(Placed::Replayed(found.purchase))
            } else {
                Err(ServiceError::IdempotencyKeyReused)
            }
        };
        let tx = c.transaction().await.map_err(DbError::from)?;
        if let Some(found) = repo.find_by_key(&tx, user_id, key).await? {
            return replay(found);
        }
        let offer = repo
            .offer(&tx, order.course_run_id, order.plan)
            .await?
            // Drafts are not for sale, and their runs are not public.
            .filter(|o| o.published)
            .ok_or(ServiceError::NotFound(Resource::Run, order.course_run_id))?;
        if !offer.on_sale {
            return Err(ServiceError::SalesClosed);
        }
        // The one price rule; the course page and `GET /plans` show what it computes.
        let price = plan::charge(offer.course_price, offer.discount_percent);
        let Some(id) = repo
            .insert(&tx, user_id, &offer, price, key, fingerprint)
            .await?
        else {
            // A concurrent request with this key committed first; its row is visible now.
            let found = repo.find_by_key(&tx, user_id, key).await?.ok_or_else(|| {
                ServiceError::Internal("idempotency conflict without a visible row".into())
            })?;
            return replay(found);
        };
        if !repo.take_seat(&tx, order.course_run_id).await? {
            // Dropping the transaction rolls the insert back.
            return Err(ServiceError::SoldOut);
        }
        let purchase = repo
            .find(&tx, id)
            .await?
            .ok_or_else(|| ServiceError::Internal("inserted purchase not found".into()))?;
        tx.commit().await.map_err(DbError::from)?;
        Ok(Placed::Created(purchase))
    }

    /// Pays, cancels or refunds. The buyer may do all three; admins and support may refund
    /// anyone's. Others learn nothing (404), not even that the purchase exists.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, purchase_id = id, transition = transition.as_str()))]
    pub async fn transition(
        &self,
        who: Principal,
        id: i64,
        transition: Transition,
    ) -> Result<Purchase, ServiceError> {
        let (repo, users, ryw) = (self.purchases, self.users, self.ryw.clone());
        let (purchase, lsn) = self
            .db
            .write(|c| {
                let ryw = ryw.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    let locked = repo
                        .lock(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Purchase, id))?;
                    if locked.user_id != who.user_id {
                        // The role is re-read: a token can outlive a change of position.
                        let staff_may = transition == Transition::Refund
                            && users
                                .find_by_id(&tx, who.user_id)
                                .await?
                                .is_some_and(|u| u.principal().can_manage_purchases());
                        if !staff_may {
                            return Err(ServiceError::NotFound(Resource::Purchase, id));
                        }
                    }
                    let changed = match transition.from_status(locked.status) {
                        TransitionOutcome::AlreadyDone => false,
                        TransitionOutcome::Illegal => {
                            return Err(ServiceError::InvalidTransition {
                                from: locked.status,
                                to: transition.target(),
                            });
                        }
                        TransitionOutcome::MoveTo(status) => {
                            repo.set_status(&tx, id, status).await?;
                            if transition.releases_seat() {
                                repo.release_seat(&tx, locked.course_run_id).await?;
                            }
                            true
                        }
                    };
                    let purchase = repo
                        .find(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Purchase, id))?;
                    tx.commit().await.map_err(DbError::from)?;
                    let lsn = if changed {
                        Some(ryw.commit_position(c).await)
                    } else {
                        None
                    };
                    Ok::<_, ServiceError>((purchase, lsn))
                })
            })
            .await?;
        if let Some(lsn) = lsn {
            // The buyer must see the new status, and so must the staff member who moved it.
            self.ryw.wrote(purchase.user_id, lsn.as_deref()).await;
            if purchase.user_id != who.user_id {
                self.ryw.wrote(who.user_id, lsn.as_deref()).await;
            }
        }
        Ok(purchase)
    }

    /// One purchase: the buyer's own, or anyone's for admins and support.
    pub async fn get(&self, who: Principal, id: i64) -> Result<Purchase, ServiceError> {
        let repo = self.purchases;
        let found = if who.can_manage_purchases() {
            // Staff act on other users' purchases right after they are made (a refund, a
            // support call), and their own fence says nothing about those: the primary, as
            // for the other staff views.
            self.db
                .write(move |c| -> DbFuture<'_, _, ServiceError> {
                    Box::pin(async move { Ok(repo.find(pg(c), id).await?) })
                })
                .await?
        } else {
            self.ryw
                .read_own(who.user_id, move |c| -> DbFuture<'_, _, ServiceError> {
                    Box::pin(async move { Ok(repo.find(pg(c), id).await?) })
                })
                .await?
        };
        match found {
            Some(p) if p.user_id == who.user_id || who.can_manage_purchases() => Ok(p),
            _ => Err(ServiceError::NotFound(Resource::Purchase, id)),
        }
    }

    /// The caller's purchases, newest first.
    pub async fn list_own(
        &self,
        who: Principal,
        page: PageRequest,
    ) -> Result<Page<Purchase>, ServiceError> {
        let repo = self.purchases;
        let user_id = who.user_id;
        self.ryw
            .read_own(user_id, move |c| -> DbFuture<'_, _, ServiceError> {
                Box::pin(async move { Ok(repo.list_for_user(pg(c), user_id, page).await?) })
            })
            .await
    }
}
