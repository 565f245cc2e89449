//! The state every handler shares: the configuration, the pools, the cache, the metrics
//! registry and one service per feature, behind one `Arc` so a clone per request is cheap.
//!
//! Built by the wiring (`app`), which hands over an [`AppContext`]; the HTTP metrics are the
//! controller layer's own and are added here.

use std::{ops::Deref, sync::Arc};

use lyceum_db::Db;
use prometheus::Registry;

use super::metrics::HttpMetrics;
use crate::{
    config::Config,
    repository::cache::Cache,
    usecase::{
        account_admin::AccountAdmin, auth::AuthService, blog::BlogService, career::CareerService,
        catalog::CatalogService, certificate::CertificateService, course_admin::CourseAdmin,
        course_staff::CourseStaff, lookup_admin::LookupAdmin, purchase::PurchaseService,
        report::ReportService, review::ReviewService, submission::SubmissionService,
        teacher_profile::TeacherProfiles,
    },
};

/// Everything a request handler can reach. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    context: AppContext,
    http_metrics: HttpMetrics,
}

/// What the wiring builds for the handlers.
#[derive(Debug)]
pub struct AppContext {
    pub config: Config,
    /// Both pools: `db.read` (replicas), `db.write`/`db.write_once` (primary).
    pub db: Db,
    pub cache: Cache,
    pub registry: Registry,
    pub auth: AuthService,
    pub catalog: CatalogService,
    pub course_admin: CourseAdmin,
    pub course_staff: CourseStaff,
    pub lookup_admin: LookupAdmin,
    pub account_admin: AccountAdmin,
    pub teacher_profiles: TeacherProfiles,
    pub purchases: PurchaseService,
    pub reviews: ReviewService,
    pub certificates: CertificateService,
    pub submissions: SubmissionService,
    pub career: CareerService,
    pub blog: BlogService,
    pub reports: ReportService,
}

impl AppState {
    /// Wraps `context` and registers the HTTP metrics in its registry.
    pub fn new(context: AppContext) -> prometheus::Result<Self> {
        let http_metrics = HttpMetrics::new();
        http_metrics.register(&context.registry)?;
        Ok(Self(Arc::new(Shared {
            context,
            http_metrics,
        })))
    }

    pub fn http_metrics(&self) -> &HttpMetrics {
        &self.0.http_metrics
    }
}

impl Deref for AppState {
    type Target = AppContext;
    fn deref(&self) -> &AppContext {
        &self.0.context
    }
}
