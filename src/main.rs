use std::time::Duration;

use clap::{Parser, Subcommand};
use retention_kpi::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "retention-kpi: customer-retention KPIs over HTTP, with the formula behind every number"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks that a service on this machine's --port answers /healthz (exit 0) or not (exit 1);
    /// for container health checks, where no curl is installed.
    Healthcheck,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let config = cli.config;
    if let Some(Command::Healthcheck) = cli.command {
        let healthy = healthcheck(config.port).await;
        std::process::exit(if healthy { 0 } else { 1 });
    }
    retention_kpi::telemetry::init(config.log_format);
    let listener = tokio::net::TcpListener::bind((config.host, config.port)).await?;
    tracing::info!(address = %listener.local_addr()?, "retention-kpi listening");
    axum::serve(listener, retention_kpi::app(config))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shut down");
    Ok(())
}

/// One `GET /healthz` over loopback, answered 200 within two seconds.
async fn healthcheck(port: u16) -> bool {
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<bool, std::io::Error>(head.starts_with(b"HTTP/1.1 200"))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), probe).await,
        Ok(Ok(true))
    )
}

/// Resolves on SIGINT or SIGTERM: axum then stops accepting and drains in-flight requests.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received, draining in-flight requests");
}
