//! Teacher profiles written by admins or by the teacher themselves.
//!
//! One transaction on the primary re-reads the caller (a token may outlive a demotion),
//! checks the account is a teacher, writes the profile, and reads it back with the courses
//! whose pages show the teacher. After the commit, as for other catalog writes, the catalog's
//! recent-write marker is set (teacher reads then run where the write is replayed) and those
//! course pages are re-read and replaced in the cache (they show the workplace and photo).
//! The top-courses report, which lists workplaces, follows within its TTL.

use lyceum_db::{Client, Db, DbError, DbFuture};

use super::{
    Resource, ServiceError, access, consistency::ReadYourWrites, course_page::refresh_course_page,
};
use crate::{
    entity::{
        ValidationErrors,
        catalog::TeacherProfile,
        teacher::{TeacherProfileForUpsert, may_write_profile},
        user::{Principal, Role, StaffPosition},
    },
    repository::{
        cache::{Cache, RecentCatalogWriteKey},
        teacher::TeacherRepository,
        user::UserRepository,
    },
};

const OWN_OR_ADMIN: &str = "only admins, or the teacher themselves, may write a teacher profile";

/// Writes of teacher profiles.
#[derive(Debug, Clone)]
pub struct TeacherProfiles {
    db: Db,
    cache: Cache,
    ryw: ReadYourWrites,
}

impl TeacherProfiles {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites) -> Self {
        Self { db, cache, ryw }
    }

    /// Creates or replaces teacher `id`'s profile. Setting values: retried.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, teacher = id))]
    pub async fn upsert(
        &self,
        who: Principal,
        id: i64,
        profile: TeacherProfileForUpsert,
    ) -> Result<TeacherProfile, ServiceError> {
        if !may_write_profile(&who, id) {
            return Err(ServiceError::Denied(OWN_OR_ADMIN));
        }
        let (written, courses) = self
            .db
            .write(|c| {
                let profile = profile.clone();
                write(c, who, id, profile)
            })
            .await?;
        self.ryw.wrote_shared(&RecentCatalogWriteKey).await;
        for course in courses {
            refresh_course_page(&self.db, &self.cache, course).await;
        }
        tracing::info!("teacher profile written");
        Ok(written)
    }
}

/// One attempt of [`TeacherProfiles::upsert`].
fn write(
    c: &mut Client,
    who: Principal,
    id: i64,
    profile: TeacherProfileForUpsert,
) -> DbFuture<'_, (TeacherProfile, Vec<i64>), ServiceError> {
    Box::pin(async move {
        let (teachers, users) = (TeacherRepository, UserRepository);
        let tx = c.transaction().await.map_err(DbError::from)?;
        let now = access::current_principal(&tx, who).await?;
        if !may_write_profile(&now, id) {
            return Err(ServiceError::Denied(OWN_OR_ADMIN));
        }
        let target = users
            .find_by_id(&tx, id)
            .await?
            .ok_or(ServiceError::NotFound(Resource::User, id))?;
        if target.role != Role::Staff || target.staff_position != Some(StaffPosition::Teacher) {
            return Err(ServiceError::Conflict(ValidationErrors::single(
                "id",
                "is not a teacher (make the account staff with position teacher first)",
            )));
        }
        if !teachers.upsert(&tx, id, &profile).await? {
            return Err(ServiceError::UnknownReference(ValidationErrors::single(
                "specialization",
                "no specialization has this slug",
            )));
        }
        let written = teachers
            .profile(&tx, id)
            .await?
            .ok_or(ServiceError::NotFound(Resource::Teacher, id))?;
        let courses = teachers.courses_showing(&tx, id).await?;
        tx.commit().await.map_err(DbError::from)?;
        Ok((written, courses))
    })
}
