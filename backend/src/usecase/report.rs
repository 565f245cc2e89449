//! Staff reports, read from the replicas and cached in Redis for `redis.ttl_reports_s`
//! (60 s by default). Review writes and hiring changes drop every cached report; purchases
//! (revenue, buyers) and submission decisions (learning) are reflected once the TTL has
//! passed.

use lyceum_db::{Client, Db, DbFuture};

use super::ServiceError;
use crate::{
    entity::{
        report::{EmploymentRow, LearningRow, Report, RevenueRange, RevenueRow, TopCourse},
        user::Principal,
    },
    repository::{
        cache::{Cache, CacheKey, EmploymentKey, LearningKey, RevenueKey, TopCoursesKey},
        pg,
        report::ReportRepository,
    },
};

#[derive(Debug, Clone)]
pub struct ReportService {
    db: Db,
    cache: Cache,
    reports: ReportRepository,
}

fn staff_only(who: &Principal) -> Result<(), ServiceError> {
    if who.is_staff() {
        Ok(())
    } else {
        Err(ServiceError::Denied("reports are for staff"))
    }
}

impl ReportService {
    pub fn new(db: Db, cache: Cache) -> Self {
        Self {
            db,
            cache,
            reports: ReportRepository,
        }
    }

    /// Cache-aside for one report: the cached copy, else `query` on a replica, stored for
    /// the next reader.
    async fn cached<K, T>(
        &self,
        key: K,
        query: impl FnMut(&mut Client) -> DbFuture<'_, Vec<T>, ServiceError>,
    ) -> Result<Report<T>, ServiceError>
    where
        K: CacheKey<Value = Report<T>>,
    {
        if let Some(hit) = self.cache.get(&key).await {
            return Ok(hit);
        }
        let fresh = Report {
            items: self.db.read(query).await?,
        };
        self.cache.fill(&key, &fresh).await;
        Ok(fresh)
    }

    #[tracing::instrument(skip_all, fields(limit))]
    pub async fn top_courses(
        &self,
        who: Principal,
        limit: u32,
    ) -> Result<Report<TopCourse>, ServiceError> {
        staff_only(&who)?;
        let reports = self.reports;
        self.cached(TopCoursesKey(limit), |c| {
            Box::pin(async move { Ok(reports.top_courses(pg(c), limit).await?) })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(from = %range.from.label(), to = %range.to.label()))]
    pub async fn revenue(
        &self,
        who: Principal,
        range: RevenueRange,
    ) -> Result<Report<RevenueRow>, ServiceError> {
        staff_only(&who)?;
        let reports = self.reports;
        self.cached(RevenueKey(range), |c| {
            Box::pin(async move { Ok(reports.revenue(pg(c), range).await?) })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(limit))]
    pub async fn employment(
        &self,
        who: Principal,
        limit: u32,
    ) -> Result<Report<EmploymentRow>, ServiceError> {
        staff_only(&who)?;
        let reports = self.reports;
        self.cached(EmploymentKey(limit), |c| {
            Box::pin(async move { Ok(reports.employment(pg(c), limit).await?) })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(limit))]
    pub async fn learning(
        &self,
        who: Principal,
        limit: u32,
    ) -> Result<Report<LearningRow>, ServiceError> {
        staff_only(&who)?;
        let reports = self.reports;
        self.cached(LearningKey(limit), |c| {
            Box::pin(async move { Ok(reports.learning(pg(c), limit).await?) })
        })
        .await
    }
}
