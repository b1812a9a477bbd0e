//! The HTTP/1.1 server loop: axum's router on hyper connections with the limits a shared
//! service needs against slow or many clients, and a bounded drain on shutdown.
//!
//! - **Header-read timeout** (`HEADER_READ_TIMEOUT_MS`): a client that has not sent a whole
//!   request head within it — including an idle keep-alive connection waiting for its next
//!   request — is disconnected.
//! - **Header size** (`MAX_HEADER_BYTES`): hyper's read buffer; a longer head is refused (431)
//!   and the connection closed.
//! - **Connection cap** (`MAX_CONNECTIONS`): connections over it are closed as they are
//!   accepted, and counted in `connections_refused_total`.
//! - **Drain deadline** (`SHUTDOWN_GRACE_MS`): on SIGTERM the listener closes and in-flight
//!   requests may finish within the deadline; past it the remaining connections are dropped,
//!   which cancels their blocking work (a model fit stops at its next likelihood evaluation).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The server's limits (from [`crate::config::Config`]).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_connections: usize,
    pub shutdown_grace: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains for at most
/// `limits.shutdown_grace`. Returns whether every connection finished within it.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> bool {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.max_header_bytes.max(8192));
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of file descriptors and the like: pause instead of spinning.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = connections.clone().try_acquire_owned() else {
                    metrics::counter!("connections_refused_total").increment(1);
                    drop(stream);
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(app.clone());
                let connection = graceful.watch(
                    http.serve_connection(TokioIo::new(stream), service),
                );
                tokio::spawn(async move {
                    let _permit = permit;
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => true,
        () = tokio::time::sleep(limits.shutdown_grace) => false,
    }
}
