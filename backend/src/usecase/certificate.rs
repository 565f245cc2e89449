//! Certificates: issued by admins and teachers to buyers (or earned by completing a course,
//! `usecase::submission`), listed per user, verified by anyone. A certificate opens the
//! holder's career track when they bought the course on a plan with career support.

use lyceum_db::{Db, DbError};

use super::{
    Resource, ServiceError, access, career, consistency::ReadYourWrites,
    course_page::refresh_course_page,
};
use crate::entity::page::{Page, PageRequest};
use crate::{
    entity::{
        ValidationErrors,
        certificate::{self, Certificate},
        user::Principal,
    },
    repository::{buyer::BuyerRepository, cache::Cache, certificate::CertificateRepository, pg},
};

#[derive(Debug, Clone)]
pub struct CertificateService {
    db: Db,
    cache: Cache,
    ryw: ReadYourWrites,
    certificates: CertificateRepository,
    buyers: BuyerRepository,
}

impl CertificateService {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites) -> Self {
        Self {
            db,
            cache,
            ryw,
            certificates: CertificateRepository,
            buyers: BuyerRepository,
        }
    }

    /// Issues a certificate to a buyer of the course (a `paid` purchase of one of its runs).
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, holder = user_id, course_id))]
    pub async fn issue(
        &self,
        who: Principal,
        user_id: i64,
        course_id: i64,
    ) -> Result<Certificate, ServiceError> {
        const REFUSAL: &str = "only admins and teachers issue certificates";
        if !certificate::may_issue(&who) {
            return Err(ServiceError::Denied(REFUSAL));
        }
        let (certificates, buyers) = (self.certificates, self.buyers);
        let issued = self
            .db
            .write_once(|c| {
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    access::require(&tx, who, certificate::may_issue, REFUSAL).await?;
                    let mut errors = ValidationErrors::default();
                    if !buyers.user_exists(&tx, user_id).await? {
                        errors.push("user_id", format!("no user {user_id}"));
                    }
                    if buyers.course_published(&tx, course_id).await?.is_none() {
                        errors.push("course_id", format!("no course {course_id}"));
                    }
                    errors
                        .finish(|| ())
                        .map_err(ServiceError::UnknownReference)?;
                    if !buyers.has_paid_purchase(&tx, user_id, course_id).await? {
                        return Err(ServiceError::Invalid(ValidationErrors::single(
                            "user_id",
                            "this user has no paid purchase of the course",
                        )));
                    }
                    let issued = certificates.insert(&tx, user_id, course_id).await?;
                    career::open_track_for_graduate(&tx, user_id, course_id).await?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(issued)
                })
            })
            .await?;
        // The holder sees it in /me/certificates, the issuer in the holder's list.
        self.ryw.wrote_now(&[user_id, who.user_id]).await;
        // The course page shows graduates and the completion rate.
        refresh_course_page(&self.db, &self.cache, course_id).await;
        tracing::info!(certificate_id = issued.id, "certificate issued");
        Ok(issued)
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn mine(
        &self,
        who: Principal,
        page: PageRequest,
    ) -> Result<Page<Certificate>, ServiceError> {
        let certificates = self.certificates;
        self.ryw
            .read_own(who.user_id, move |c| {
                Box::pin(
                    async move { Ok(certificates.list_for_user(pg(c), who.user_id, page).await?) },
                )
            })
            .await
    }

    /// A user's certificates, for that user (their own read) or any staff member.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, holder = user_id))]
    pub async fn of_user(
        &self,
        who: Principal,
        user_id: i64,
        page: PageRequest,
    ) -> Result<Page<Certificate>, ServiceError> {
        if who.user_id == user_id {
            return self.mine(who, page).await;
        }
        if !who.is_staff() {
            return Err(ServiceError::Denied(
                "only the holder and staff may list a user's certificates",
            ));
        }
        let (certificates, buyers) = (self.certificates, self.buyers);
        // Staff see their own latest issues in the list.
        self.ryw
            .read_own(who.user_id, move |c| {
                Box::pin(async move {
                    if !buyers.user_exists(pg(c), user_id).await? {
                        return Err(ServiceError::NotFound(Resource::User, user_id));
                    }
                    Ok(certificates.list_for_user(pg(c), user_id, page).await?)
                })
            })
            .await
    }

    /// Public verification by serial number.
    #[tracing::instrument(skip_all)]
    pub async fn verify(&self, serial: &str) -> Result<Certificate, ServiceError> {
        if !certificate::plausible_serial(serial) {
            return Err(ServiceError::UnknownSerial);
        }
        let certificates = self.certificates;
        let serial = serial.to_owned();
        self.db
            .read(|c| {
                let serial = serial.clone();
                Box::pin(async move {
                    Ok::<_, ServiceError>(certificates.by_serial(pg(c), &serial).await?)
                })
            })
            .await?
            .ok_or(ServiceError::UnknownSerial)
    }
}
