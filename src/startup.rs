//! Building and running the service: pools, the engine, the HTTP server and the scheduler.
//! Building binds the listener (port 0 in tests) before anything runs, so callers learn the
//! real address first.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::mysql::MySqlPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::cron::sync_cron;
use crate::db::{self, ConnectError, PoolSettings};
use crate::routes;
use crate::services::sync::SyncEngine;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub local: MySqlPool,
    pub engine: Arc<SyncEngine>,
}

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
}

/// db_a must answer at start; db_b may be away (that is what the queue is for).
pub async fn connect(
    config: &Config,
    shutdown: CancellationToken,
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
    ))
}

/// A bound, not yet running service.
pub struct Service {
    listener: TcpListener,
    engine: Arc<SyncEngine>,
    cron: String,
    shutdown: CancellationToken,
}

impl Service {
    pub async fn build(config: &Config, shutdown: CancellationToken) -> Result<Self, StartError> {
        let engine = connect(config, shutdown.clone()).await?;
        let addr = SocketAddr::new(config.bind_addr, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::Bind { addr, source })?;
        Ok(Service {
            listener,
            engine,
            cron: config.sync.cron.clone(),
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
        let state = AppState {
            local: self.engine.local_pool().clone(),
            engine: self.engine.clone(),
        };
        let shutdown = self.shutdown.clone();
        tracing::info!(addr = %self.listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "dbsync serving");
        warp::serve(routes::api(state))
            .incoming(self.listener)
            .graceful(async move { shutdown.cancelled().await })
            .run()
            .await;
        scheduler.stop().await;
        self.engine.local_pool().close().await;
        tracing::info!("dbsync stopped");
        Ok(())
    }
}
