//! Assigning and removing the teachers, mentors and reviewers of a course.
//!
//! One transaction on the primary locks the course row (staff changes of one course take
//! turns with its other edits), re-reads the caller (a token may outlive a demotion, and a
//! teacher's say over a course lasts only while they teach it), checks the person holds the
//! matching position and is active, writes, and reads the course page back. After the commit,
//! as for other catalog writes, the catalog's recent-write marker is set (teacher pages, which
//! list courses, then read where the change is replayed) and the cached course page is
//! replaced with the page read back in the transaction.
//!
//! Both changes set a state ("holds the role", "does not"), so a retry after a lost commit
//! answers the same page: they are retried.

use lyceum_db::{Client, Db, DbError, DbFuture};

use super::{
    Resource, ServiceError, access, consistency::ReadYourWrites, course_page::replace_course_page,
};
use crate::{
    entity::{
        ValidationErrors,
        catalog::CourseDetail,
        course_staff::{CourseRole, may_manage},
        user::Principal,
    },
    repository::{
        account::AccountRepository, cache::Cache, cache::RecentCatalogWriteKey,
        course::CourseRepository, course_admin::CourseAdminRepository,
        course_staff::CourseStaffRepository,
    },
};

const WHO_MAY: &str = "only admins, or a teacher of this course for its mentors and reviewers, \
                       may change a course's staff";

/// Assign (`true`) or remove (`false`).
type Assign = bool;

/// Changes of course staff.
#[derive(Debug, Clone)]
pub struct CourseStaff {
    db: Db,
    cache: Cache,
    ryw: ReadYourWrites,
}

impl CourseStaff {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites) -> Self {
        Self { db, cache, ryw }
    }

    /// Gives `user_id` `role` on course `course_id` (again: no change); answers the course
    /// page as staff see it.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id, person = user_id, role = role.as_str()))]
    pub async fn assign(
        &self,
        who: Principal,
        course_id: i64,
        role: CourseRole,
        user_id: i64,
    ) -> Result<CourseDetail, ServiceError> {
        self.change(who, course_id, role, user_id, true).await
    }

    /// Takes `role` on course `course_id` from `user_id` (404 when they do not hold it).
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id, person = user_id, role = role.as_str()))]
    pub async fn remove(
        &self,
        who: Principal,
        course_id: i64,
        role: CourseRole,
        user_id: i64,
    ) -> Result<CourseDetail, ServiceError> {
        self.change(who, course_id, role, user_id, false).await
    }

    async fn change(
        &self,
        who: Principal,
        course_id: i64,
        role: CourseRole,
        user_id: i64,
        assign: Assign,
    ) -> Result<CourseDetail, ServiceError> {
        // Without any chance of passing (a student, a mentor), refuse before the database.
        if !may_manage(&who, who.position.is_some(), role) {
            return Err(ServiceError::Denied(WHO_MAY));
        }
        let (detail, changed) = self
            .db
            .write(|c| write(c, who, course_id, role, user_id, assign))
            .await?;
        if changed {
            self.ryw.wrote_shared(&RecentCatalogWriteKey).await;
            // The page read back in the transaction: no second read of the primary.
            replace_course_page(&self.cache, course_id, Some(&detail)).await;
            tracing::info!(assign, "course staff changed");
        }
        Ok(detail)
    }
}

/// One attempt of [`CourseStaff::change`]: the page as staff see it, and whether anything
/// changed.
fn write(
    c: &mut Client,
    who: Principal,
    course_id: i64,
    role: CourseRole,
    user_id: i64,
    assign: Assign,
) -> DbFuture<'_, (CourseDetail, bool), ServiceError> {
    Box::pin(async move {
        let staff = CourseStaffRepository;
        let tx = c.transaction().await.map_err(DbError::from)?;
        if !CourseAdminRepository.lock(&tx, course_id).await? {
            return Err(ServiceError::NotFound(Resource::Course, course_id));
        }
        let now = access::current_principal(&tx, who).await?;
        let teaches = staff
            .holds(&tx, course_id, now.user_id, CourseRole::Teacher)
            .await?;
        if !may_manage(&now, teaches, role) {
            return Err(ServiceError::Denied(WHO_MAY));
        }
        let changed = if assign {
            let person = AccountRepository
                .find(&tx, user_id)
                .await?
                .ok_or(ServiceError::NotFound(Resource::User, user_id))?;
            if person.staff_position != Some(role.position()) {
                return Err(ServiceError::Conflict(ValidationErrors::single(
                    "user_id",
                    format!(
                        "holds no {0} position; only staff with position {0} can be a course's {0}",
                        role.as_str()
                    ),
                )));
            }
            if !person.active {
                return Err(ServiceError::Conflict(ValidationErrors::single(
                    "user_id",
                    "is deactivated; reactivate the account first",
                )));
            }
            staff.assign(&tx, course_id, user_id, role).await?
        } else {
            if !staff.remove(&tx, course_id, user_id, role).await? {
                return Err(ServiceError::NotFound(Resource::CourseStaff, user_id));
            }
            true
        };
        let detail = CourseRepository
            .detail(&tx, course_id, true)
            .await?
            .ok_or(ServiceError::NotFound(Resource::Course, course_id))?;
        tx.commit().await.map_err(DbError::from)?;
        Ok((detail, changed))
    })
}
