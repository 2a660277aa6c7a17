//! Building and running the service: pools, the engine, the HTTP server and the scheduler.
//! Building binds the listener (port 0 in tests) before anything runs, so callers learn the
//! real address first.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::mysql::MySqlPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{ApiToken, Config};
use crate::cron::sync_cron;
use crate::db::{self, ConnectError, PoolSettings, local};
use crate::metrics::Metrics;
use crate::routes;
use crate::services::sync::SyncEngine;
use crate::services::sync::history::{QueueHistory, Sample};

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub local: MySqlPool,
    pub engine: Arc<SyncEngine>,
    pub history: Arc<QueueHistory>,
    pub api_token: Option<Arc<ApiToken>>,
}

/// How often the queue depth is sampled for the status page's chart (and after each run).
const SAMPLE_EVERY: Duration = Duration::from_secs(30);

/// The API serves from this pool; sized for concurrent requests without swamping db_a.
pub const LOCAL_POOL: PoolSettings = PoolSettings {
    max_connections: 16,
    acquire_timeout: Duration::from_secs(5),
};
/// The engine uses one db_b connection at a time; a short timeout makes "offline" quick.
pub const CENTRAL_POOL: PoolSettings = PoolSettings {
    max_connections: 2,
    acquire_timeout: Duration::from_secs(5),
};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "SYNC_CRON {cron:?} is not a valid six-field cron expression (sec min hour day month weekday): {reason}"
    )]
    Schedule { cron: String, reason: String },
    #[error("metrics registry: {0}")]
    Metrics(#[from] prometheus::Error),
}

/// db_a must answer at start; db_b may be away (that is what the queue is for).
pub async fn connect(
    config: &Config,
    shutdown: CancellationToken,
    metrics: Arc<Metrics>,
) -> Result<Arc<SyncEngine>, ConnectError> {
    let local = db::connect_pool("local (db_a)", &config.local, LOCAL_POOL).await?;
    let central = db::lazy_pool(&config.central, CENTRAL_POOL);
    Ok(SyncEngine::new(
        local,
        central,
        config.sync.clone(),
        config.is_online,
        &config.local.database,
        shutdown,
        metrics,
    ))
}

/// A bound, not yet running service.
pub struct Service {
    listener: TcpListener,
    engine: Arc<SyncEngine>,
    cron: String,
    api_token: Option<Arc<ApiToken>>,
    shutdown: CancellationToken,
}

impl Service {
    pub async fn build(config: &Config, shutdown: CancellationToken) -> Result<Self, StartError> {
        let metrics = Arc::new(Metrics::new()?);
        let engine = connect(config, shutdown.clone(), metrics).await?;
        let addr = SocketAddr::new(config.bind_addr, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        Ok(Service {
            listener,
            engine,
            cron: config.sync.cron.clone(),
            api_token: config.api_token.clone().map(Arc::new),
            shutdown,
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` is cancelled; then stops accepting, lets in-flight requests
    /// and the run in hand finish, and returns.
    pub async fn run(self) -> Result<(), StartError> {
        let scheduler = sync_cron::start(&self.cron, self.engine.clone(), self.shutdown.clone())
            .await
            .map_err(|reason| StartError::Schedule {
                cron: self.cron.clone(),
                reason,
            })?;
        let history = Arc::new(QueueHistory::default());
        record_sample(&self.engine, &history).await;
        let sampler = tokio::spawn(sample_queue(
            self.engine.clone(),
            history.clone(),
            self.shutdown.clone(),
        ));
        let state = AppState {
            local: self.engine.local_pool().clone(),
            engine: self.engine.clone(),
            history,
            api_token: self.api_token.clone(),
        };
        let shutdown = self.shutdown.clone();
        tracing::info!(addr = %self.listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "dbsync serving");
        warp::serve(routes::api(state))
            .incoming(self.listener)
            .graceful(async move { shutdown.cancelled().await })
            .run()
            .await;
        scheduler.stop().await;
        sampler.abort();
        self.engine.local_pool().close().await;
        tracing::info!("dbsync stopped");
        Ok(())
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
        record_sample(&engine, &history).await;
    }
}

async fn record_sample(engine: &SyncEngine, history: &QueueHistory) {
    match local::queue_counts(engine.local_pool()).await {
        Ok([pending, _, failed]) => history.record(Sample {
            at: chrono::Utc::now(),
            pending,
            failed,
        }),
        Err(err) => tracing::warn!(error = %err, "could not sample the queue depth"),
    }
}
