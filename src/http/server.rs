//! The HTTP server: accepts connections and serves the API on each, until shutdown; then
//! stops accepting and lets the requests in flight finish.
//!
//! This replaces `warp::serve` for one reason: warp logs every connection error at ERROR,
//! and a client closing its keep-alive connection mid-read is a normal event, not one to
//! page an operator for. Here such errors are debug lines.

use std::future::Future;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::{AppState, api};

/// A client that has not sent a request's headers by then loses its connection: idle
/// keep-alive connections and slow senders must not pile up.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a stop waits for the requests in flight (a client that stalls must not keep
/// the service from stopping).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()>) {
    let filter = api(state);
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    // Small JSON answers go out at once, not after the client's delayed ACK.
                    if let Err(err) = stream.set_nodelay(true) {
                        tracing::debug!(error = %err, "could not set TCP_NODELAY");
                    }
                    let service = TowerToHyperService::new(warp::service(filter.clone()));
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), service)
                        .into_owned();
                    let connection = graceful.watch(connection);
                    connections.spawn(async move {
                        if let Err(err) = connection.await {
                            tracing::debug!(error = %err, "client connection ended with an error");
                        }
                    });
                }
                Err(err) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %err, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Ended connections are let go of as they end.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            requests = connections.len(),
            grace_s = SHUTDOWN_GRACE.as_secs(),
            "requests still open after the grace period are cut off"
        );
        // Dropping a handler mid-statement gives its pooled connection back, so the pool
        // can close.
        connections.abort_all();
    }
    while connections.join_next().await.is_some() {}
}
