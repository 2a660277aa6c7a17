//! The composition root: pools, the engine, the HTTP server and the scheduler, wired
//! together. Building binds the listener (port 0 in tests) before anything runs, so callers
//! learn the real address first. Nothing else in the crate imports this module.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::mysql::MySqlPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::db::kept::KeptConnections;
use crate::db::{self, ConnectError, PoolSettings, Role, queue};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::schedule;
use crate::services::sync::SyncEngine;
use crate::services::sync::history::{QueueHistory, Sample};

/// How often the queue depth is sampled for the status page's chart (and after each run).
const SAMPLE_EVERY: Duration = Duration::from_secs(30);

/// The engine's and the commands' pool on db_a.
pub const LOCAL_POOL: PoolSettings = PoolSettings {
    max_connections: 16,
    acquire_timeout: Duration::from_secs(5),
    lock_wait_seconds: None,
};
/// The API's own pool on db_a; sized for concurrent requests without swamping db_a. Its
/// sessions wait at most [`API_LOCK_WAIT_SECONDS`] for a row or a table another session
/// holds locked (the server's own waits are 50 s, and a day for a table): the statement then
/// ends in db_a itself, nothing of it kept — a request given up on the client's side only
/// would still run, and commit, once the lock went. Its requests cannot take the
/// engine's connections either.
pub const API_POOL: PoolSettings = PoolSettings {
    max_connections: 16,
    acquire_timeout: Duration::from_secs(5),
    lock_wait_seconds: Some(API_LOCK_WAIT_SECONDS),
};
/// Lock waits are retried a few times (`services::with_retry`): a request gives up after
/// about four times this — more when many requests queue for the pool's connections too
/// (each try waits up to the pool's 5 s for one).
pub const API_LOCK_WAIT_SECONDS: u32 = 2;
/// For commands that read db_b (verify).
pub const CENTRAL_POOL: PoolSettings = PoolSettings {
    max_connections: 2,
    acquire_timeout: Duration::from_secs(5),
    lock_wait_seconds: None,
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot listen on {addr}: {source} (is another dbsync or program using PORT {port}?)", port = addr.port())]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Schedule(#[from] schedule::ScheduleError),
    #[error("metrics registry: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// The engine over a db_a pool that must answer now (db_b may be away: that is what the
/// queue is for).
pub async fn engine(
    config: &Config,
    shutdown: CancellationToken,
    metrics: Arc<Metrics>,
) -> Result<Arc<SyncEngine>, ConnectError> {
    let local = db::connect_pool(Role::Local, &config.local, LOCAL_POOL).await?;
    Ok(SyncEngine::new(local, config, shutdown, metrics))
}

/// A bound, not yet running service.
pub struct Service {
    listener: TcpListener,
    engine: Arc<SyncEngine>,
    config: Config,
    shutdown: CancellationToken,
}

impl Service {
    pub async fn build(config: &Config, shutdown: CancellationToken) -> Result<Self, StartError> {
        let metrics = Arc::new(Metrics::new()?);
        let engine = engine(config, shutdown.clone(), metrics).await?;
        let addr = SocketAddr::new(config.bind_addr, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        Ok(Service {
            listener,
            engine,
            config: config.clone(),
            shutdown,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` is cancelled; then stops accepting, lets in-flight requests
    /// and the run in hand finish, and returns.
    pub async fn run(self) -> Result<(), StartError> {
        self.log_start();
        let cron = self.config.sync.cron.clone();
        let scheduler = schedule::start(&cron, self.engine.clone(), self.shutdown.clone()).await?;
        match scheduler.next_run {
            Some(at) => tracing::info!(next_run = %at.to_rfc3339(), "sync runs scheduled"),
            None => tracing::warn!(
                schedule = %cron,
                "SYNC_CRON never fires: runs happen only when asked (POST /sync/run, `dbsync sync`)"
            ),
        }
        let history = Arc::new(QueueHistory::default());
        record_sample(self.engine.local_pool(), &history).await;
        let sampler = tokio::spawn(sample_queue(
            self.engine.clone(),
            history.clone(),
            self.shutdown.clone(),
        ));
        let api_pool = db::lazy_pool(Role::Local, &self.config.local, API_POOL);
        let records = KeptConnections::new(api_pool.clone());
        let state = AppState {
            local: api_pool.clone(),
            records: records.clone(),
            engine: self.engine.clone(),
            history,
            api_token: self.config.api_token.clone().map(Arc::new),
            tables: Arc::new(self.config.sync.tables.clone()),
        };
        let shutdown = self.shutdown.clone();
        http::server::serve(
            self.listener,
            state,
            async move { shutdown.cancelled().await },
        )
        .await;
        scheduler.stop().await;
        sampler.abort();
        records.release_all();
        api_pool.close().await;
        self.engine.local_pool().close().await;
        tracing::info!("dbsync stopped");
        Ok(())
    }

    /// One line that says where everything is (never the password).
    fn log_start(&self) {
        let addr = self
            .listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let (local, central) = (&self.config.local, &self.config.central);
        tracing::info!(
            url = %format!("http://{addr}/"),
            schedule = %self.config.sync.cron,
            online = self.config.is_online,
            db_a = %format!("{}@{}:{}/{}", local.user, local.host, local.port, local.database),
            db_b = %format!("{}@{}:{}/{}", central.user, central.host, central.port, central.database),
            tables = %self.config.sync.tables.join(","),
            site = self.config.sync.site_id.as_deref().unwrap_or("none (single site)"),
            "dbsync is serving: the status page is at the url, the API beside it"
        );
    }
}

/// Records the queue depth every [`SAMPLE_EVERY`] and after every run, until shutdown.
async fn sample_queue(
    engine: Arc<SyncEngine>,
    history: Arc<QueueHistory>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SAMPLE_EVERY) => {}
            _ = engine.run_finished() => {}
            _ = shutdown.cancelled() => return,
        }
        record_sample(engine.local_pool(), &history).await;
    }
}

async fn record_sample(pool: &MySqlPool, history: &QueueHistory) {
    match queue::queue_counts(pool).await {
        Ok([pending, _, failed]) => history.record(Sample {
            at: chrono::Utc::now(),
            pending,
            failed,
        }),
        Err(err) => tracing::warn!(error = %err, "could not sample the queue depth"),
    }
}
