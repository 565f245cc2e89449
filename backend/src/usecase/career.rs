//! The career center: partner companies, career tracks and job applications.
//!
//! A status change locks the application row, then moves the company's `graduates_hired` by
//! `hired_delta(old, new)` in the same transaction with a relative `UPDATE` (which holds the
//! company row until commit). Concurrent changes of one application take turns on its row
//! lock and each computes its delta from the status the previous one left, so the counter
//! always equals the company's hired applications. Locks are always taken application
//! first, company second, so two changes cannot deadlock.

use lyceum_db::{Db, DbError};

use super::{
    Resource, ServiceError, access, consistency::ReadYourWrites, course_page::refresh_course_page,
};
use crate::entity::page::{Page, PageRequest};
use crate::{
    entity::{
        ValidationErrors,
        career::{
            self, ApplicationForCreate, ApplicationStatus, CareerTrack, Company, CompanyForCreate,
            CompanyForUpdate, JobApplication, TrackForCreate, TrackForUpdate,
        },
        user::Principal,
    },
    repository::{
        Queries,
        buyer::BuyerRepository,
        cache::{Cache, all_reports},
        career::CareerRepository,
        pg,
    },
};

const STAFF_ONLY: &str = "only admins and support staff run the career center";

/// A certificate makes the career track available: a graduate who bought the course on a
/// plan with career support has their track opened in the certificate's transaction (a track
/// staff opened earlier stays as it is). Whether this call opened one.
pub(super) async fn open_track_for_graduate(
    c: &impl Queries,
    user_id: i64,
    course_id: i64,
) -> Result<bool, DbError> {
    Ok(BuyerRepository
        .has_career_purchase(c, user_id, course_id)
        .await?
        && CareerRepository
            .open_track_if_absent(c, user_id, course_id)
            .await?)
}

#[derive(Debug, Clone)]
pub struct CareerService {
    db: Db,
    ryw: ReadYourWrites,
    cache: Cache,
    career: CareerRepository,
    buyers: BuyerRepository,
}

impl CareerService {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites) -> Self {
        Self {
            db,
            ryw,
            cache,
            career: CareerRepository,
            buyers: BuyerRepository,
        }
    }

    /// Public list of partner companies.
    #[tracing::instrument(skip_all)]
    pub async fn companies(
        &self,
        active: Option<bool>,
        page: PageRequest,
    ) -> Result<Page<Company>, ServiceError> {
        let career = self.career;
        self.db
            .read(|c| Box::pin(async move { Ok(career.companies(pg(c), active, page).await?) }))
            .await
    }

    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn create_company(
        &self,
        who: Principal,
        new: CompanyForCreate,
    ) -> Result<Company, ServiceError> {
        if !career::may_manage(&who) {
            return Err(ServiceError::Denied(STAFF_ONLY));
        }
        let career = self.career;
        self.db
            .write_once(|c| {
                let new = new.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    access::require(&tx, who, career::may_manage, STAFF_ONLY).await?;
                    let company = career.insert_company(&tx, &new).await?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(company)
                })
            })
            .await
    }

    /// Changes names, requirements or the agreement flag; never `graduates_hired`.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, company_id = id))]
    pub async fn update_company(
        &self,
        who: Principal,
        id: i64,
        changes: CompanyForUpdate,
    ) -> Result<Company, ServiceError> {
        if !career::may_manage(&who) {
            return Err(ServiceError::Denied(STAFF_ONLY));
        }
        let career = self.career;
        self.db
            .write(|c| {
                let changes = changes.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    access::require(&tx, who, career::may_manage, STAFF_ONLY).await?;
                    let company = career
                        .update_company(&tx, id, &changes)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Company, id))?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(company)
                })
            })
            .await
    }

    /// The caller's own tracks; staff see every track.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn tracks(
        &self,
        who: Principal,
        page: PageRequest,
    ) -> Result<Page<CareerTrack>, ServiceError> {
        let career = self.career;
        let only = (!who.is_staff()).then_some(who.user_id);
        self.ryw
            .read_own(who.user_id, move |c| {
                Box::pin(async move { Ok(career.tracks(pg(c), only, page).await?) })
            })
            .await
    }

    /// Opens a track for a graduate who bought the course on a plan with career support.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id))]
    pub async fn create_track(
        &self,
        who: Principal,
        new: TrackForCreate,
    ) -> Result<CareerTrack, ServiceError> {
        if !career::may_manage(&who) {
            return Err(ServiceError::Denied(STAFF_ONLY));
        }
        let (career, buyers) = (self.career, self.buyers);
        let track = self.db
            .write_once(|c| {
                let new = new.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    access::require(&tx, who, career::may_manage, STAFF_ONLY).await?;
                    let mut errors = ValidationErrors::default();
                    if !buyers.user_exists(&tx, new.user_id).await? {
                        errors.push("user_id", format!("no user {}", new.user_id));
                    }
                    if buyers.course_published(&tx, new.course_id).await?.is_none() {
                        errors.push("course_id", format!("no course {}", new.course_id));
                    }
                    errors.finish(|| ()).map_err(ServiceError::UnknownReference)?;
                    if !buyers
                        .has_career_purchase(&tx, new.user_id, new.course_id)
                        .await?
                    {
                        return Err(ServiceError::Invalid(ValidationErrors::single(
                            "user_id",
                            "this user has no paid purchase of the course on a plan with career support",
                        )));
                    }
                    let id = career.insert_track(&tx, &new).await?;
                    let track = career
                        .track(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::CareerTrack, id))?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(track)
                })
            })
            .await?;
        // The graduate and the staff member who wrote it see it on their next read.
        self.ryw.wrote_now(&[track.user_id, who.user_id]).await;
        Ok(track)
    }

    /// The graduate sets their resume; career staff extend the support.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, track_id = id))]
    pub async fn update_track(
        &self,
        who: Principal,
        id: i64,
        changes: TrackForUpdate,
    ) -> Result<CareerTrack, ServiceError> {
        let career = self.career;
        let track = self
            .db
            .write(|c| {
                let changes = changes.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    let track = career
                        .track(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::CareerTrack, id))?;
                    if changes.resume_url.is_some() && track.user_id != who.user_id {
                        return Err(ServiceError::Denied(
                            "only the graduate sets the resume of their track",
                        ));
                    }
                    if changes.support_extended.is_some() {
                        access::require(
                            &tx,
                            who,
                            career::may_manage,
                            "only admins and support staff extend career support",
                        )
                        .await?;
                    }
                    career.update_track(&tx, id, &changes).await?;
                    let track = career
                        .track(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::CareerTrack, id))?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok(track)
                })
            })
            .await?;
        // The graduate and the staff member who wrote it see it on their next read.
        self.ryw.wrote_now(&[track.user_id, who.user_id]).await;
        Ok(track)
    }

    /// A track's applications, for its graduate or career staff.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, track_id))]
    pub async fn applications(
        &self,
        who: Principal,
        track_id: i64,
        page: PageRequest,
    ) -> Result<Page<JobApplication>, ServiceError> {
        let career = self.career;
        self.ryw
            .read_own(who.user_id, move |c| {
                Box::pin(async move {
                    let track = career
                        .track(pg(c), track_id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::CareerTrack, track_id))?;
                    if track.user_id != who.user_id && !career::may_manage(&who) {
                        return Err(ServiceError::Denied(
                            "only the graduate and career staff see a track's applications",
                        ));
                    }
                    Ok(career.applications(pg(c), track_id, page).await?)
                })
            })
            .await
    }

    /// The graduate or career staff record an application to a partner with an active agreement.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, track_id))]
    pub async fn apply(
        &self,
        who: Principal,
        track_id: i64,
        new: ApplicationForCreate,
    ) -> Result<JobApplication, ServiceError> {
        let career = self.career;
        let (application, graduate) = self
            .db
            .write_once(|c| {
                let new = new.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    let track = career
                        .track(&tx, track_id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::CareerTrack, track_id))?;
                    if track.user_id != who.user_id {
                        access::require(
                            &tx,
                            who,
                            career::may_manage,
                            "only the graduate and career staff add applications to a track",
                        )
                        .await?;
                    }
                    match career.company(&tx, new.company_id).await? {
                        None => {
                            return Err(ServiceError::UnknownReference(ValidationErrors::single(
                                "company_id",
                                format!("no partner company {}", new.company_id),
                            )));
                        }
                        Some(company) if !company.agreement_active => {
                            return Err(ServiceError::Conflict(ValidationErrors::single(
                                "company_id",
                                "the partnership with this company has ended",
                            )));
                        }
                        Some(_) => {}
                    }
                    let id = career.insert_application(&tx, track_id, &new).await?;
                    let application = career
                        .application(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::JobApplication, id))?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok::<_, ServiceError>((application, track.user_id))
                })
            })
            .await?;
        // The graduate sees it on their track even when career staff added it.
        self.ryw.wrote_now(&[graduate, who.user_id]).await;
        Ok(application)
    }

    /// Moves an application to `status`, keeping `graduates_hired` exact (module docs).
    /// Setting a status is idempotent (a second run finds it set and moves nothing), so it is
    /// retried after a failover.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, application_id = id, status = status.as_str()))]
    pub async fn set_status(
        &self,
        who: Principal,
        id: i64,
        status: ApplicationStatus,
    ) -> Result<JobApplication, ServiceError> {
        if !career::may_manage(&who) {
            return Err(ServiceError::Denied(STAFF_ONLY));
        }
        let career = self.career;
        let (application, delta, course_id, graduate) = self
            .db
            .write(|c| {
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    access::require(&tx, who, career::may_manage, STAFF_ONLY).await?;
                    let locked = career
                        .lock_application(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::JobApplication, id))?;
                    let delta = career::hired_delta(locked.status, status);
                    if locked.status != status {
                        career.set_application_status(&tx, id, status).await?;
                    }
                    if delta != 0 {
                        career.adjust_hired(&tx, locked.company_id, delta).await?;
                    }
                    let application = career
                        .application(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::JobApplication, id))?;
                    tx.commit().await.map_err(DbError::from)?;
                    Ok::<_, ServiceError>((application, delta, locked.course_id, locked.user_id))
                })
            })
            .await?;
        if delta != 0 {
            // Graduates employed (course page) and the employment report changed.
            refresh_course_page(&self.db, &self.cache, course_id).await;
            self.cache.invalidate(&[all_reports()]).await;
        }
        // The graduate sees the new status on their next read, as does the staff member.
        self.ryw.wrote_now(&[graduate, who.user_id]).await;
        Ok(application)
    }
}
