//! Wiring: builds the pools, cache, metrics registry and use cases into the handlers'
//! [`AppState`], binds the listener, and serves until a shutdown signal, draining in-flight requests.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use lyceum_db::Db;
use prometheus::Registry;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

use crate::{
    config::Config,
    controller::{self, AppContext, AppState},
    repository::cache::Cache,
    usecase::{
        access_token::TokenService,
        account_admin::AccountAdmin,
        auth::{AuthService, PasswordHasher},
        blog::BlogService,
        career::CareerService,
        catalog::CatalogService,
        certificate::CertificateService,
        consistency::ReadYourWrites,
        course_admin::CourseAdmin,
        course_staff::CourseStaff,
        login_limit::LoginLimiter,
        lookup_admin::LookupAdmin,
        purchase::PurchaseService,
        refresh_token::RefreshTokens,
        report::ReportService,
        review::ReviewService,
        submission::SubmissionService,
        teacher_profile::TeacherProfiles,
    },
};

/// Builds every component into the handlers' state; opens no connection yet (the cluster may
/// still be electing).
pub fn build_state(config: Config) -> anyhow::Result<AppState> {
    config.validate().map_err(anyhow::Error::msg)?;
    let registry = Registry::new();
    let db = Db::new(&config.db).map_err(anyhow::Error::msg)?;
    db.register_metrics(&registry)
        .context("registering database metrics")?;
    let cache = Cache::new(&config.redis).map_err(anyhow::Error::msg)?;
    cache
        .metrics()
        .register(&registry)
        .context("registering cache metrics")?;
    let hasher = PasswordHasher::new(&config.auth).map_err(anyhow::Error::msg)?;
    hasher
        .register_metrics(&registry)
        .context("registering hasher metrics")?;
    let limiter = LoginLimiter::new(&config.auth, &config.redis).map_err(anyhow::Error::msg)?;
    limiter
        .register_metrics(&registry)
        .context("registering login limiter metrics")?;
    let ryw = ReadYourWrites::new(db.clone(), cache.clone());
    ryw.register_metrics(&registry)
        .context("registering read-your-writes metrics")?;
    let account_admin = AccountAdmin::new(db.clone(), cache.clone(), ryw.clone(), hasher.clone());
    let tokens = TokenService::new(&config.auth);
    let refresh = RefreshTokens::new(
        db.clone(),
        ryw.clone(),
        tokens.clone(),
        Duration::from_secs(config.auth.refresh_token_ttl_s),
    );
    let auth = AuthService::new(db.clone(), ryw.clone(), hasher, tokens, refresh, limiter);
    let catalog = CatalogService::new(db.clone(), cache.clone(), ryw.clone());
    let course_admin = CourseAdmin::new(db.clone(), cache.clone(), ryw.clone());
    let lookup_admin = LookupAdmin::new(db.clone(), cache.clone(), ryw.clone());
    let teacher_profiles = TeacherProfiles::new(db.clone(), cache.clone(), ryw.clone());
    let course_staff = CourseStaff::new(db.clone(), cache.clone(), ryw.clone());
    let purchases = PurchaseService::new(db.clone(), ryw.clone());
    let reviews = ReviewService::new(db.clone(), cache.clone(), ryw.clone());
    let certificates = CertificateService::new(db.clone(), cache.clone(), ryw.clone());
    let submissions = SubmissionService::new(
        db.clone(),
        cache.clone(),
        ryw.clone(),
        Duration::from_secs(config.learning.claim_hold_s),
    );
    let career = CareerService::new(db.clone(), cache.clone(), ryw.clone());
    let blog = BlogService::new(db.clone(), cache.clone(), ryw.clone());
    let reports = ReportService::new(db.clone(), cache.clone());
    AppState::new(AppContext {
        config,
        db,
        cache,
        registry,
        auth,
        catalog,
        course_admin,
        lookup_admin,
        account_admin,
        teacher_profiles,
        course_staff,
        purchases,
        reviews,
        certificates,
        submissions,
        career,
        blog,
        reports,
    })
    .context("registering HTTP metrics")
}

/// Every route with its middleware, for in-process use (tests) or serving.
pub fn router(state: AppState) -> axum::Router {
    controller::router(state)
}

/// A built service bound to its port, not yet serving.
#[derive(Debug)]
pub struct App {
    listener: TcpListener,
    state: AppState,
}

impl App {
    /// Builds the state and binds `http.bind` (port 0 picks a free port).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let bind = config.http.bind;
        let state = build_state(config)?;
        let listener = TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind}"))?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting and lets in-flight requests
    /// finish for at most `http.shutdown_grace_ms`.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = self.state.config.http.shutdown_grace();
        let addr = self.local_addr()?;
        let (signalled_tx, signalled_rx) = oneshot::channel::<()>();
        let app = router(self.state);
        tracing::info!(%addr, "serving");
        // The peer address feeds the per-address login limit (`controller::extract::ClientAddress`).
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let server = axum::serve(self.listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutdown requested; draining in-flight requests");
            let _ = signalled_tx.send(());
        });
        let deadline = async move {
            if signalled_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            result = server => {
                result.context("serving HTTP")?;
                tracing::info!("all requests drained; stopped");
            }
            () = deadline => tracing::warn!(?grace, "drain deadline reached; stopping with requests in flight"),
        }
        Ok(())
    }
}

/// A service running on a background task (tests, embedding).
#[derive(Debug)]
pub struct RunningApp {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningApp {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts the graceful shutdown and waits for the server to stop.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await.context("server task")?
    }
}

/// Builds and starts the service on a background task.
pub async fn spawn(config: Config) -> anyhow::Result<RunningApp> {
    let app = App::build(config).await?;
    let addr = app.local_addr()?;
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Ok(RunningApp {
        addr,
        state,
        stop: Some(stop),
        task,
    })
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}
