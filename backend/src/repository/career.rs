//! Career center SQL: partner companies, career tracks, job applications, and the
//! `graduates_hired` counter that follows the applications' status.

use lyceum_db::DbError;
use tokio_postgres::{
    Row,
    types::{FromSql, Type},
};

use super::Queries;
use super::page::fetch_page;
use crate::entity::career::{
    ApplicationForCreate, ApplicationStatus, CareerTrack, Company, CompanyForCreate,
    CompanyForUpdate, JobApplication, TrackForCreate, TrackForUpdate,
};
use crate::entity::page::{Page, PageRequest};

const COMPANY_COLUMNS: &str = "id, short_name, legal_name, graduates_hired, requirements, \
     agreement_active, created_at, updated_at";

fn company_from_row(r: &Row) -> Company {
    Company {
        id: r.get("id"),
        short_name: r.get("short_name"),
        legal_name: r.get("legal_name"),
        graduates_hired: r.get("graduates_hired"),
        requirements: r.get("requirements"),
        agreement_active: r.get("agreement_active"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

const TRACK_SELECT: &str = "SELECT t.id, t.user_id, t.course_id, c.title AS course_title, \
     t.resume_url, t.support_start, t.support_extended, t.created_at, t.updated_at \
     FROM career_tracks t JOIN courses c ON c.id = t.course_id";

fn track_from_row(r: &Row) -> CareerTrack {
    CareerTrack {
        id: r.get("id"),
        user_id: r.get("user_id"),
        course_id: r.get("course_id"),
        course_title: r.get("course_title"),
        resume_url: r.get("resume_url"),
        support_start: r.get("support_start"),
        support_extended: r.get("support_extended"),
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    }
}

const APPLICATION_SELECT: &str = "SELECT a.id, a.career_track_id, a.company_id, \
     pc.short_name AS company, a.applied_on, a.status, a.created_at, a.updated_at \
     FROM job_applications a JOIN partner_companies pc ON pc.id = a.company_id";

/// `job_applications.status` read straight into the closed set (the CHECK constraint keeps
/// the column inside it; anything else is a decoding error, not a silent default).
struct StatusColumn(ApplicationStatus);

impl<'a> FromSql<'a> for StatusColumn {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let text = <&str as FromSql>::from_sql(ty, raw)?;
        ApplicationStatus::parse(text)
            .map(Self)
            .ok_or_else(|| format!("unknown job application status {text:?}").into())
    }

    fn accepts(ty: &Type) -> bool {
        <&str as FromSql>::accepts(ty)
    }
}

fn application_from_row(r: &Row) -> Result<JobApplication, DbError> {
    let StatusColumn(status) = r.try_get("status")?;
    Ok(JobApplication {
        id: r.get("id"),
        career_track_id: r.get("career_track_id"),
        company_id: r.get("company_id"),
        company: r.get("company"),
        applied_on: r.get("applied_on"),
        status,
        created_at: r.get("created_at"),
        updated_at: r.get("updated_at"),
    })
}

#[derive(Debug, Clone, Copy, Default)]
pub struct CareerRepository;

/// A job application locked for a status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockedApplication {
    pub status: ApplicationStatus,
    pub company_id: i64,
    /// The course of the application's career track.
    pub course_id: i64,
    /// The graduate whose track it is.
    pub user_id: i64,
}

impl CareerRepository {
    /// Partner companies by short name; `active` filters on `agreement_active`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn companies(
        &self,
        c: &impl Queries,
        active: Option<bool>,
        page: PageRequest,
    ) -> Result<Page<Company>, DbError> {
        let sql = format!(
            "SELECT {COMPANY_COLUMNS} FROM partner_companies \
             WHERE ($1::boolean IS NULL OR agreement_active = $1) ORDER BY short_name, id"
        );
        fetch_page(c, &sql, &[&active], page, |r| Ok(company_from_row(r))).await
    }

    pub async fn company(&self, c: &impl Queries, id: i64) -> Result<Option<Company>, DbError> {
        let row = c
            .query_opt(
                &format!("SELECT {COMPANY_COLUMNS} FROM partner_companies WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(company_from_row))
    }

    /// Fails with `partner_companies_legal_name_key` for a duplicate legal name.
    pub async fn insert_company(
        &self,
        c: &impl Queries,
        new: &CompanyForCreate,
    ) -> Result<Company, DbError> {
        let row = c
            .query_one(
                &format!(
                    "INSERT INTO partner_companies (short_name, legal_name, requirements, \
                     agreement_active) VALUES ($1, $2, $3, $4) RETURNING {COMPANY_COLUMNS}"
                ),
                &[
                    &new.short_name,
                    &new.legal_name,
                    &new.requirements,
                    &new.agreement_active,
                ],
            )
            .await?;
        Ok(company_from_row(&row))
    }

    /// `None` when there is no such company. `graduates_hired` is never set here.
    pub async fn update_company(
        &self,
        c: &impl Queries,
        id: i64,
        changes: &CompanyForUpdate,
    ) -> Result<Option<Company>, DbError> {
        let row = c
            .query_opt(
                &format!(
                    "UPDATE partner_companies SET short_name = COALESCE($2, short_name), \
                     legal_name = COALESCE($3, legal_name), \
                     requirements = COALESCE($4, requirements), \
                     agreement_active = COALESCE($5, agreement_active) \
                     WHERE id = $1 RETURNING {COMPANY_COLUMNS}"
                ),
                &[
                    &id,
                    &changes.short_name,
                    &changes.legal_name,
                    &changes.requirements,
                    &changes.agreement_active,
                ],
            )
            .await?;
        Ok(row.as_ref().map(company_from_row))
    }

    /// Career tracks, newest first; only `user_id`'s when given.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn tracks(
        &self,
        c: &impl Queries,
        user_id: Option<i64>,
        page: PageRequest,
    ) -> Result<Page<CareerTrack>, DbError> {
        // Two statements, not `$1 IS NULL OR t.user_id = $1`: staff's list reads its page in
        // the order of career_tracks_created_idx (migration V12), a graduate's from the
        // (user_id, course_id) key; the catch-all form sorted every track for one page.
        const ORDER: &str = "ORDER BY t.created_at DESC, t.id DESC";
        let map = |r: &Row| Ok(track_from_row(r));
        match user_id {
            Some(user_id) => {
                let sql = format!("{TRACK_SELECT} WHERE t.user_id = $1 {ORDER}");
                fetch_page(c, &sql, &[&user_id], page, map).await
            }
            None => fetch_page(c, &format!("{TRACK_SELECT} {ORDER}"), &[], page, map).await,
        }
    }

    pub async fn track(&self, c: &impl Queries, id: i64) -> Result<Option<CareerTrack>, DbError> {
        let row = c
            .query_opt(&format!("{TRACK_SELECT} WHERE t.id = $1"), &[&id])
            .await?;
        Ok(row.as_ref().map(track_from_row))
    }

    /// Fails with `career_tracks_user_course_key` when the graduate has one for the course.
    pub async fn insert_track(
        &self,
        c: &impl Queries,
        new: &TrackForCreate,
    ) -> Result<i64, DbError> {
        let row = c
            .query_one(
                "INSERT INTO career_tracks (user_id, course_id, support_start, resume_url) \
                 VALUES ($1, $2, $3, $4) RETURNING id",
                &[
                    &new.user_id,
                    &new.course_id,
                    &new.support_start,
                    &new.resume_url,
                ],
            )
            .await?;
        Ok(row.get("id"))
    }

    /// Opens the graduate's track from today, unless they have one for the course; whether
    /// this call opened it.
    pub async fn open_track_if_absent(
        &self,
        c: &impl Queries,
        user_id: i64,
        course_id: i64,
    ) -> Result<bool, DbError> {
        let opened = c
            .execute(
                "INSERT INTO career_tracks (user_id, course_id, support_start) \
                 VALUES ($1, $2, current_date) ON CONFLICT (user_id, course_id) DO NOTHING",
                &[&user_id, &course_id],
            )
            .await?;
        Ok(opened == 1)
    }

    pub async fn update_track(
        &self,
        c: &impl Queries,
        id: i64,
        changes: &TrackForUpdate,
    ) -> Result<(), DbError> {
        c.execute(
            "UPDATE career_tracks SET resume_url = COALESCE($2, resume_url), \
             support_extended = COALESCE($3, support_extended) WHERE id = $1",
            &[&id, &changes.resume_url, &changes.support_extended],
        )
        .await?;
        Ok(())
    }

    /// A track's applications, latest application date first (`job_applications_track_idx`).
    pub async fn applications(
        &self,
        c: &impl Queries,
        track_id: i64,
        page: PageRequest,
    ) -> Result<Page<JobApplication>, DbError> {
        let sql = format!(
            "{APPLICATION_SELECT} WHERE a.career_track_id = $1 \
             ORDER BY a.applied_on DESC, a.id DESC"
        );
        fetch_page(c, &sql, &[&track_id], page, application_from_row).await
    }

    pub async fn application(
        &self,
        c: &impl Queries,
        id: i64,
    ) -> Result<Option<JobApplication>, DbError> {
        let row = c
            .query_opt(&format!("{APPLICATION_SELECT} WHERE a.id = $1"), &[&id])
            .await?;
        row.as_ref().map(application_from_row).transpose()
    }

    /// New applications start as `applied`, so the hired counter is untouched.
    pub async fn insert_application(
        &self,
        c: &impl Queries,
        track_id: i64,
        new: &ApplicationForCreate,
    ) -> Result<i64, DbError> {
        let row = c
            .query_one(
                "INSERT INTO job_applications (career_track_id, company_id, applied_on) \
                 VALUES ($1, $2, COALESCE($3, current_date)) RETURNING id",
                &[&track_id, &new.company_id, &new.applied_on],
            )
            .await?;
        Ok(row.get("id"))
    }

    /// Locks the application row (not its track); its current status, company and course
    /// when it exists. Concurrent status changes of one application therefore take turns, and
    /// each sees the status the other left.
    pub async fn lock_application(
        &self,
        c: &impl Queries,
        id: i64,
    ) -> Result<Option<LockedApplication>, DbError> {
        let row = c
            .query_opt(
                "SELECT a.status, a.company_id, t.course_id, t.user_id FROM job_applications a \
                 JOIN career_tracks t ON t.id = a.career_track_id \
                 WHERE a.id = $1 FOR UPDATE OF a",
                &[&id],
            )
            .await?;
        row.map(|r| {
            let StatusColumn(status) = r.try_get("status")?;
            Ok(LockedApplication {
                status,
                company_id: r.get("company_id"),
                course_id: r.get("course_id"),
                user_id: r.get("user_id"),
            })
        })
        .transpose()
    }

    pub async fn set_application_status(
        &self,
        c: &impl Queries,
        id: i64,
        status: ApplicationStatus,
    ) -> Result<(), DbError> {
        c.execute(
            "UPDATE job_applications SET status = $2 WHERE id = $1",
            &[&id, &status.as_str()],
        )
        .await?;
        Ok(())
    }

    /// Moves `graduates_hired` by `delta` in one statement (a row lock on the company for the
    /// rest of the transaction), so concurrent changes add up exactly.
    pub async fn adjust_hired(
        &self,
        c: &impl Queries,
        company_id: i64,
        delta: i32,
    ) -> Result<(), DbError> {
        c.execute(
            "UPDATE partner_companies SET graduates_hired = graduates_hired + $2 WHERE id = $1",
            &[&company_id, &delta],
        )
        .await?;
        Ok(())
    }
}
