//! Learning: project submissions, the review queue, and the certificate a completed course
//! earns.
//!
//! Every write runs in one transaction on the primary and is safe to retry, so each runs under
//! `Db::write`'s retry budget:
//! - **submit**: an open attempt with the same URL and note is the answer (a replay after a
//!   lost commit); with other content it is a conflict (`submission_open`);
//! - **claim**: a reviewer holds one submission at a time, and claiming again answers the one
//!   held, so a retried claim takes nothing more from the queue;
//! - **decide**: deciding what the submission already says answers with it.
//!
//! The queue is `FOR UPDATE SKIP LOCKED` (`repository::submission`). Completion: the
//! acceptance that makes every project of the course accepted issues the certificate in the
//! same transaction (with the career track, for buyers of a plan with career support);
//! acceptances of one student's course serialize on their enrollment row, so two concurrent
//! last acceptances issue it exactly once. Each decision also counts in the course's review
//! turnaround histogram, which the learning report reads.

use std::time::Duration;

use lyceum_db::{Db, DbError};

use super::{
    Resource, ServiceError, career, consistency::ReadYourWrites, course_page::refresh_course_page,
};
use crate::{
    entity::{
        ValidationErrors,
        course_staff::CourseRole,
        page::{Page, PageRequest},
        submission::{
            CourseProgress, Reviewed, Submission, SubmissionComment, SubmissionDetail,
            SubmissionForCreate, SubmissionStatus, Verdict,
        },
        user::{Principal, StaffPosition},
    },
    repository::{
        buyer::BuyerRepository, cache::Cache, certificate::CertificateRepository,
        course_staff::CourseStaffRepository, pg, submission::SubmissionRepository,
    },
};

/// Who may read a submission: its student, the course's staff (teachers, mentors,
/// reviewers) and admins.
fn may_read(who: &Principal, submission: &Submission, roles: &[CourseRole]) -> bool {
    submission.user_id == who.user_id || may_read_course(who, roles)
}

/// Who may read every submission of a course: its staff and admins.
fn may_read_course(who: &Principal, roles: &[CourseRole]) -> bool {
    !roles.is_empty() || (who.is_staff() && who.position == Some(StaffPosition::Admin))
}

/// Who may comment on it: the course's mentors and reviewers.
fn may_comment(roles: &[CourseRole]) -> bool {
    roles
        .iter()
        .any(|r| matches!(r, CourseRole::Mentor | CourseRole::Reviewer))
}

/// The answer to a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    Created(Submission),
    /// The same attempt was already stored (a retry).
    Replayed(Submission),
}

#[derive(Debug, Clone)]
pub struct SubmissionService {
    db: Db,
    cache: Cache,
    ryw: ReadYourWrites,
    /// How long a claim holds before the submission goes back to the queue.
    claim_hold: Duration,
    submissions: SubmissionRepository,
    buyers: BuyerRepository,
    staff: CourseStaffRepository,
    certificates: CertificateRepository,
}

impl SubmissionService {
    pub fn new(db: Db, cache: Cache, ryw: ReadYourWrites, claim_hold: Duration) -> Self {
        Self {
            db,
            cache,
            ryw,
            claim_hold,
            submissions: SubmissionRepository,
            buyers: BuyerRepository,
            staff: CourseStaffRepository,
            certificates: CertificateRepository,
        }
    }

    /// An enrolled student's attempt at a project of `course_id`.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id, project_id = draft.project_id))]
    pub async fn submit(
        &self,
        who: Principal,
        course_id: i64,
        draft: SubmissionForCreate,
    ) -> Result<Submitted, ServiceError> {
        let (repo, buyers) = (self.submissions, self.buyers);
        let (submitted, lsn) = self
            .db
            .write(|c| {
                let (draft, ryw) = (draft.clone(), self.ryw.clone());
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    if buyers.course_published(&tx, course_id).await?.is_none() {
                        return Err(ServiceError::NotFound(Resource::Course, course_id));
                    }
                    if !buyers
                        .has_paid_purchase(&tx, who.user_id, course_id)
                        .await?
                    {
                        return Err(ServiceError::NotEnrolled);
                    }
                    if repo.project_course(&tx, draft.project_id).await? != Some(course_id) {
                        return Err(ServiceError::Invalid(ValidationErrors::single(
                            "project_id",
                            format!("is not a project of course {course_id}"),
                        )));
                    }
                    let latest = repo.latest(&tx, who.user_id, draft.project_id).await?;
                    let attempt = match &latest {
                        Some(s) if s.status.is_open() => {
                            return if s.repository_url == draft.repository_url
                                && s.note == draft.note
                            {
                                Ok((Submitted::Replayed(s.clone()), None))
                            } else {
                                Err(ServiceError::SubmissionOpen)
                            };
                        }
                        Some(s) if s.status == SubmissionStatus::Accepted => {
                            return Err(ServiceError::ProjectAccepted);
                        }
                        Some(s) => s.attempt + 1,
                        None => 1,
                    };
                    let stored = repo
                        .insert(&tx, who.user_id, course_id, attempt, &draft)
                        .await?;
                    tx.commit().await.map_err(DbError::from)?;
                    let lsn = ryw.commit_position(c).await;
                    Ok((Submitted::Created(stored), lsn))
                })
            })
            .await?;
        self.ryw.wrote(who.user_id, lsn.as_deref()).await;
        Ok(submitted)
    }

    /// A submission with its comments, for those who may read it (others: 404).
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, submission_id = id))]
    pub async fn detail(&self, who: Principal, id: i64) -> Result<SubmissionDetail, ServiceError> {
        let (repo, staff) = (self.submissions, self.staff);
        self.ryw
            .read_own(who.user_id, move |c| {
                Box::pin(async move {
                    let submission = repo
                        .find(pg(c), id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Submission, id))?;
                    let roles = staff
                        .roles(pg(c), submission.course_id, who.user_id)
                        .await?;
                    if !may_read(&who, &submission, &roles) {
                        return Err(ServiceError::NotFound(Resource::Submission, id));
                    }
                    let comments = repo.comments(pg(c), id).await?;
                    Ok(SubmissionDetail {
                        submission,
                        comments,
                    })
                })
            })
            .await
    }

    /// A course's submissions, newest first, for its staff and admins: how mentors find
    /// work to comment on. Read on a replica.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id))]
    pub async fn for_course(
        &self,
        who: Principal,
        course_id: i64,
        status: Option<SubmissionStatus>,
        page: PageRequest,
    ) -> Result<Page<Submission>, ServiceError> {
        let (repo, staff, buyers) = (self.submissions, self.staff, self.buyers);
        self.db
            .read(move |c| {
                Box::pin(async move {
                    if buyers.course_published(pg(c), course_id).await?.is_none() {
                        return Err(ServiceError::NotFound(Resource::Course, course_id));
                    }
                    let roles = staff.roles(pg(c), course_id, who.user_id).await?;
                    if !may_read_course(&who, &roles) {
                        return Err(ServiceError::Denied(
                            "only the course's staff and admins read its submissions",
                        ));
                    }
                    Ok(repo.for_course(pg(c), course_id, status, page).await?)
                })
            })
            .await
    }

    /// A mentor's or reviewer's comment. Safe to retry: the same text by the same author on
    /// the same submission within a minute is answered with the comment already stored.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, submission_id = id))]
    pub async fn comment(
        &self,
        who: Principal,
        id: i64,
        body: String,
    ) -> Result<SubmissionComment, ServiceError> {
        let (repo, staff) = (self.submissions, self.staff);
        let (comment, student, lsn) = self
            .db
            .write(|c| {
                let (body, ryw) = (body.clone(), self.ryw.clone());
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    let submission = repo
                        .find(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Submission, id))?;
                    let roles = staff.roles(&tx, submission.course_id, who.user_id).await?;
                    if !may_comment(&roles) {
                        return Err(ServiceError::Denied(
                            "only mentors and reviewers of the course comment on its submissions",
                        ));
                    }
                    let comment = match repo.recent_comment(&tx, id, who.user_id, &body).await? {
                        Some(stored) => stored,
                        None => repo.add_comment(&tx, id, who.user_id, &body).await?,
                    };
                    tx.commit().await.map_err(DbError::from)?;
                    let lsn = ryw.commit_position(c).await;
                    Ok::<_, ServiceError>((comment, submission.user_id, lsn))
                })
            })
            .await?;
        // The author and the student read the submission back with it.
        self.ryw.wrote(who.user_id, lsn.as_deref()).await;
        self.ryw.wrote(student, lsn.as_deref()).await;
        Ok(comment)
    }

    /// The caller's progress in the course, every project with their attempts: their own read.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id))]
    pub async fn progress(
        &self,
        who: Principal,
        course_id: i64,
    ) -> Result<CourseProgress, ServiceError> {
        let (repo, buyers) = (self.submissions, self.buyers);
        self.ryw
            .read_own(who.user_id, move |c| {
                Box::pin(async move {
                    if buyers.course_published(pg(c), course_id).await?.is_none() {
                        return Err(ServiceError::NotFound(Resource::Course, course_id));
                    }
                    Ok(repo.progress(pg(c), who.user_id, course_id).await?)
                })
            })
            .await
    }

    /// The submission the reviewer holds, else the oldest waiting one of the courses they
    /// review (of `course_id` if given); `None` when the queue is empty.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, course_id))]
    pub async fn claim(
        &self,
        who: Principal,
        course_id: Option<i64>,
    ) -> Result<Option<Submission>, ServiceError> {
        let (repo, staff) = (self.submissions, self.staff);
        let hold_s = i64::try_from(self.claim_hold.as_secs()).unwrap_or(i64::MAX / 2);
        let (claimed, lsn) = self
            .db
            .write(|c| {
                let ryw = self.ryw.clone();
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    let reviews = match course_id {
                        Some(id) => {
                            staff
                                .holds(&tx, id, who.user_id, CourseRole::Reviewer)
                                .await?
                        }
                        None => {
                            staff
                                .holds_any(&tx, who.user_id, CourseRole::Reviewer)
                                .await?
                        }
                    };
                    if !reviews {
                        return Err(ServiceError::Denied(
                            "only reviewers assigned to the course claim its submissions",
                        ));
                    }
                    let claimed = match repo.held_by(&tx, who.user_id, course_id).await? {
                        Some(held) => Some(held),
                        None => repo.claim_next(&tx, who.user_id, course_id, hold_s).await?,
                    };
                    tx.commit().await.map_err(DbError::from)?;
                    let lsn = ryw.commit_position(c).await;
                    Ok::<_, ServiceError>((claimed, lsn))
                })
            })
            .await?;
        self.ryw.wrote(who.user_id, lsn.as_deref()).await;
        if let Some(s) = &claimed {
            tracing::info!(submission_id = s.id, "submission claimed");
        }
        Ok(claimed)
    }

    /// Accepts or returns a submission the caller holds the claim of. The acceptance of the
    /// student's last project of the course issues their certificate.
    #[tracing::instrument(skip_all, fields(user_id = who.user_id, submission_id = id))]
    pub async fn decide(
        &self,
        who: Principal,
        id: i64,
        verdict: Verdict,
    ) -> Result<Reviewed, ServiceError> {
        let (repo, buyers, staff, certificates) =
            (self.submissions, self.buyers, self.staff, self.certificates);
        let (reviewed, issued, lsn) = self
            .db
            .write(|c| {
                let (verdict, ryw) = (verdict.clone(), self.ryw.clone());
                Box::pin(async move {
                    let tx = c.transaction().await.map_err(DbError::from)?;
                    let found = repo
                        .lock(&tx, id)
                        .await?
                        .ok_or(ServiceError::NotFound(Resource::Submission, id))?;
                    if !staff
                        .holds(&tx, found.course_id, who.user_id, CourseRole::Reviewer)
                        .await?
                    {
                        return Err(ServiceError::NotFound(Resource::Submission, id));
                    }
                    let submission = if found.status.is_open() {
                        if found.status != SubmissionStatus::InReview {
                            return Err(ServiceError::NotClaimed);
                        }
                        if found.claimed_by != Some(who.user_id) {
                            return Err(ServiceError::ClaimedByAnother);
                        }
                        let decided = repo.decide(&tx, id, who.user_id, &verdict).await?;
                        repo.count_turnaround(&tx, id).await?;
                        decided
                    } else if found.status == verdict.status()
                        && found.reviewed_by == Some(who.user_id)
                    {
                        // A retry of this decision, whose answer was lost.
                        found
                    } else {
                        return Err(ServiceError::AlreadyDecided);
                    };
                    let (student, course) = (submission.user_id, submission.course_id);
                    let issued = matches!(verdict, Verdict::Accept { .. })
                        && buyers.lock_enrollment(&tx, student, course).await?
                        && repo.completed(&tx, student, course).await?
                        && certificates.insert_if_absent(&tx, student, course).await?;
                    if issued {
                        career::open_track_for_graduate(&tx, student, course).await?;
                    }
                    let certificate_serial = certificates.serial_of(&tx, student, course).await?;
                    tx.commit().await.map_err(DbError::from)?;
                    let lsn = ryw.commit_position(c).await;
                    Ok::<_, ServiceError>((
                        Reviewed {
                            submission,
                            certificate_serial,
                        },
                        issued,
                        lsn,
                    ))
                })
            })
            .await?;
        // The reviewer reads their decision back, the student their progress and certificate.
        self.ryw.wrote(who.user_id, lsn.as_deref()).await;
        self.ryw
            .wrote(reviewed.submission.user_id, lsn.as_deref())
            .await;
        if issued {
            // The course page shows graduates and the completion rate.
            refresh_course_page(&self.db, &self.cache, reviewed.submission.course_id).await;
        }
        tracing::info!(
            status = reviewed.submission.status.as_str(),
            certified = reviewed.certificate_serial.is_some(),
            "submission reviewed"
        );
        Ok(reviewed)
    }
}
