use std::time::Duration;

use clap::{Parser, Subcommand};
use retention_kpi::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// mimalloc instead of glibc malloc: every answer allocates its breakdown's strings, and
/// glibc's free lists cost about a tenth of a KPI request's CPU under load (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// Stops start-up with one line on standard error and exit code 2.
fn refuse(message: &str) -> ! {
    eprintln!("retention-kpi: {message}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if !error.use_stderr() => error.exit(), // --help, --version
        Err(error) => {
            let text = error.to_string();
            let line = text.lines().next().unwrap_or("invalid configuration");
            refuse(line.trim_start_matches("error: "))
        }
    };
    let mut config = cli.config;
    if let Some(Command::Healthcheck) = cli.command {
        let healthy = healthcheck(config.port).await;
        std::process::exit(if healthy { 0 } else { 1 });
    }
    if let Err(message) = config.load_api_keys() {
        refuse(&message);
    }
    retention_kpi::telemetry::init(config.log_format);
    let listener = match tokio::net::TcpListener::bind((config.host, config.port)).await {
        Ok(listener) => listener,
        Err(e) => refuse(&format!(
            "cannot listen on {}:{}: {e}",
            config.host, config.port
        )),
    };
    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    tracing::info!(%address, keys = config.api_keys.len(), "retention-kpi listening");
    let limits = retention_kpi::server::Limits {
        header_read_timeout: Duration::from_millis(config.header_read_timeout_ms),
        max_header_bytes: config.max_header_bytes,
        max_connections: config.max_connections,
        shutdown_grace: Duration::from_millis(config.shutdown_grace_ms),
    };
    let (app, ready) = retention_kpi::app_with_readiness(config);
    let drained = retention_kpi::server::serve(listener, app, limits, async move {
        shutdown_signal().await;
        ready.store(false, std::sync::atomic::Ordering::SeqCst);
    })
    .await;
    if drained {
        tracing::info!("in-flight requests finished; shut down");
    } else {
        tracing::warn!(
            grace_ms = limits.shutdown_grace.as_millis() as u64,
            "shutdown deadline passed: the remaining requests were dropped and their work cancelled"
        );
    }
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
