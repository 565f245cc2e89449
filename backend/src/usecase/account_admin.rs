//! Account administration by admins: staff accounts, role and position changes, deactivation
//! and reactivation, the user list.
//!
//! Each change runs in one transaction on the primary that first locks the active admins
//! (`AccountRepository::lock_active_admins`), then re-reads the caller's position (a token may
//! outlive a demotion): only admins manage accounts, and no change may leave no active admin
//! (409 `last_admin`; with the lock, two admins demoting each other at once cannot both pass).
//!
//! A role change or a deactivation moves the account's `tokens_valid_from` (as a password
//! change does, `usecase::auth`): its tokens name the old role, or belong to a switched-off
//! account, and are refused from the next request on every instance; the change fences the
//! account (and the admin, whose list then shows it). The account's history stays: nothing is
//! deleted. Course pages list their active staff: a position change ends the course roles
//! the new position cannot hold (in the same transaction), and those pages, or a deactivated
//! or reactivated person's, are replaced in the cache after the commit.

use std::sync::Arc;

use chrono::Utc;
use lyceum_db::{Client, Db, DbError, DbFuture};

use super::{
    Resource, ServiceError, access,
    consistency::{ReadOp, ReadYourWrites},
    course_page::refresh_course_page,
    password_hasher::PasswordHasher,
};
use crate::{
    entity::{
        account::{Account, AccountFilter, RoleAssignment},
        page::{Page, page_of},
        user::{Principal, Role, StaffPosition, UserForCreate},
    },
    repository::{
        account::AccountRepository,
        cache::{Cache, RecentCatalogWriteKey},
        course_staff::CourseStaffRepository,
        pg,
        teacher::TeacherRepository,
        user::UserRepository,
    },
};

const ADMINS_ONLY: &str = "only admins may manage accounts";

/// What one change does inside its transaction, after the checks; `None`: no such user.
type Change = Arc<
    dyn for<'t> Fn(
            AccountRepository,
            &'t lyceum_db::Transaction<'t>,
        ) -> DbFuture<'t, Option<Changed>, ServiceError>
        + Send
        + Sync,
>;

/// A changed account, and the courses whose pages changed with it (they list course staff).
struct Changed {
    account: Account,
    courses: Vec<i64>,
}

impl Changed {
    fn alone(account: Option<Account>) -> Option<Self> {
        account.map(|account| Self {
            account,
            courses: Vec::new(),
        })
    }
}

/// Admin-only account administration.
#[derive(Debug, Clone)]
pub struct AccountAdmin {
    db: Db,
    cache: Cache,
    ryw: ReadYourWrites,
    hasher: PasswordHasher,
    accounts: AccountRepository,
    users: UserRepository,
}

impl AccountAdmin {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites, hasher: PasswordHasher) -> Self {
        Self {
            db,
            cache,
            ryw,
            hasher,
            accounts: AccountRepository,
            users: UserRepository,
        }
    }

    /// Creates a staff account with `position`. Not retried, like a registration: a lost
    /// commit could otherwise answer `email_taken` to the admin who just succeeded.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn create_staff(
        &self,
        who: Principal,
        new: UserForCreate,
        position: StaffPosition,
    ) -> Result<Account, ServiceError> {
        if !who.can_manage_accounts() {
            return Err(ServiceError::Denied(ADMINS_ONLY));
        }
        let hash = self.hasher.hash(&new.password).await?;
        let users = self.users;
        let to = RoleAssignment {
            role: Role::Staff,
            position: Some(position),
        };
        let change: Change = Arc::new(move |accounts, tx| {
            let (new, hash) = (new.clone(), hash.clone());
            Box::pin(async move {
                let user = users.insert(tx, &new, &hash).await?;
                // A new account has no token yet: "now" refuses none.
                Ok(Changed::alone(accounts.set_role(tx, user.id, to, 0).await?))
            })
        });
        let created = self.change(who, false, None, change).await?;
        tracing::info!(
            account = created.id,
            position = position.as_str(),
            "staff account created"
        );
        Ok(created)
    }

    /// Gives account `id` a new role and position (422 `position_mismatch` when they do not
    /// fit); its earlier tokens are refused if they changed.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, account = id))]
    pub async fn set_role(
        &self,
        who: Principal,
        id: i64,
        role: Role,
        position: Option<StaffPosition>,
    ) -> Result<Account, ServiceError> {
        let to = RoleAssignment::parse(role, position).ok_or(ServiceError::PositionMismatch)?;
        let valid_from = Utc::now().timestamp() + 1;
        let change: Change = Arc::new(move |accounts, tx| {
            Box::pin(async move {
                let Some(account) = accounts.set_role(tx, id, to, valid_from).await? else {
                    return Ok(None);
                };
                // A person holds a course role only with the matching position.
                let courses = CourseStaffRepository
                    .drop_unfit(tx, id, to.position)
                    .await?;
                Ok(Some(Changed { account, courses }))
            })
        });
        self.change(who, true, Some((id, !to.is_admin())), change)
            .await
    }

    /// Deactivates (`active: false`; every token of the account is refused at once, login too)
    /// or reactivates account `id`. Again is a no-op.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, account = id, active))]
    pub async fn set_active(
        &self,
        who: Principal,
        id: i64,
        active: bool,
    ) -> Result<Account, ServiceError> {
        let valid_from = Utc::now().timestamp() + 1;
        let change: Change = Arc::new(move |accounts, tx| {
            Box::pin(async move {
                let Some(account) = accounts.set_active(tx, id, active, valid_from).await? else {
                    return Ok(None);
                };
                // Course pages list only active staff.
                let courses = TeacherRepository.courses_showing(tx, id).await?;
                Ok(Some(Changed { account, courses }))
            })
        });
        self.change(who, true, Some((id, !active)), change).await
    }

    /// A page of accounts, read behind the admin's own last change.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn list(
        &self,
        who: Principal,
        filter: AccountFilter,
    ) -> Result<Page<Account>, ServiceError> {
        if !who.can_manage_accounts() {
            return Err(ServiceError::Denied(ADMINS_ONLY));
        }
        let page = filter.page;
        let read = list_op(self.accounts, who, Arc::new(filter));
        let rows = self.ryw.read_own(who.user_id, read).await?;
        Ok(page_of(rows, page.page, page.page_size))
    }

    /// Account `id`, read behind the admin's own last change.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, account = id))]
    pub async fn get(&self, who: Principal, id: i64) -> Result<Account, ServiceError> {
        if !who.can_manage_accounts() {
            return Err(ServiceError::Denied(ADMINS_ONLY));
        }
        let read = get_op(self.accounts, who, id);
        self.ryw
            .read_own(who.user_id, read)
            .await?
            .ok_or(ServiceError::NotFound(Resource::User, id))
    }

    /// Runs `change` in a transaction after the admin lock and the role check. `target` is
    /// the account changed and whether the change ends its being an active admin (then
    /// another active admin must remain). Fences the caller and the account after the commit.
    async fn change(
        &self,
        who: Principal,
        retry: bool,
        target: Option<(i64, bool)>,
        change: Change,
    ) -> Result<Account, ServiceError> {
        if !who.can_manage_accounts() {
            return Err(ServiceError::Denied(ADMINS_ONLY));
        }
        let attempt = attempt(self.accounts, self.ryw.clone(), who, target, change);
        let (changed, lsn) = if retry {
            self.db.write(attempt).await?
        } else {
            self.db.write_once(attempt).await?
        };
        self.ryw.wrote(who.user_id, lsn.as_deref()).await;
        self.ryw.wrote(changed.account.id, lsn.as_deref()).await;
        if !changed.courses.is_empty() {
            // As for other catalog writes: the marker first, then the pages themselves.
            self.ryw.wrote_shared(&RecentCatalogWriteKey).await;
            for course in changed.courses {
                refresh_course_page(&self.db, &self.cache, course).await;
            }
        }
        Ok(changed.account)
    }
}

/// One attempt of [`AccountAdmin::change`]: the admin lock, the role check, the last-admin
/// check, the change and the commit; answers with the commit's WAL position.
fn attempt(
    accounts: AccountRepository,
    ryw: ReadYourWrites,
    who: Principal,
    target: Option<(i64, bool)>,
    change: Change,
) -> impl FnMut(&mut Client) -> DbFuture<'_, (Changed, Option<String>), ServiceError> {
    move |c| {
        let (change, ryw) = (Arc::clone(&change), ryw.clone());
        Box::pin(async move {
            let tx = c.transaction().await.map_err(DbError::from)?;
            let admins = accounts.lock_active_admins(&tx).await?;
            // The token says admin; the database must agree.
            access::require(&tx, who, Principal::can_manage_accounts, ADMINS_ONLY).await?;
            if let Some((id, demotes)) = target
                && demotes
                && admins == [id]
            {
                return Err(ServiceError::LastAdmin);
            }
            let id = target.map_or(0, |(id, _)| id);
            let changed = change(accounts, &tx)
                .await?
                .ok_or(ServiceError::NotFound(Resource::User, id))?;
            tx.commit().await.map_err(DbError::from)?;
            Ok((changed, ryw.commit_position(c).await))
        })
    }
}

fn get_op(accounts: AccountRepository, who: Principal, id: i64) -> impl ReadOp<Option<Account>> {
    move |c| {
        Box::pin(async move {
            access::require(pg(c), who, Principal::can_manage_accounts, ADMINS_ONLY).await?;
            Ok(accounts.find(pg(c), id).await?)
        })
    }
}

fn list_op(
    accounts: AccountRepository,
    who: Principal,
    filter: Arc<AccountFilter>,
) -> impl ReadOp<Vec<Account>> {
    move |c| {
        let filter = Arc::clone(&filter);
        Box::pin(async move {
            // Role re-read on the same server as the list: a demoted admin's token lists nothing.
            access::require(pg(c), who, Principal::can_manage_accounts, ADMINS_ONLY).await?;
            Ok(accounts.list(pg(c), &filter).await?)
        })
    }
}
