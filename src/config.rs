//! Every setting, from flags and environment variables, with defaults that work as they are.

use std::net::IpAddr;

use clap::builder::TypedValueParser;
use clap::{Parser, ValueEnum};

/// Every setting of the service. Each flag has an environment variable of the same name in
/// upper case (`--port` / `PORT`).
#[derive(Debug, Clone, Parser)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "HOST", default_value = "0.0.0.0")]
    pub host: IpAddr,

    /// Port to listen on.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Largest request body accepted, in bytes (413 above it).
    #[arg(long, env = "BODY_LIMIT", default_value_t = 2 * 1024 * 1024)]
    pub body_limit: usize,

    /// Time budget of one request, in milliseconds (503 past it).
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,

    /// Most items one `/kpis` batch may hold (422 above it).
    #[arg(long, env = "MAX_BATCH_ITEMS", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    pub max_batch_items: usize,

    /// Model fits that may run at once, each on a blocking thread (default: the cores).
    #[arg(long, env = "FIT_WORKERS", default_value_t = default_fit_workers(), value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    pub fit_workers: usize,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// The machine's available parallelism (1 if unknown).
pub fn default_fit_workers() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    /// The defaults, as `cargo run` with no flags and no environment would use them.
    fn default() -> Self {
        Self {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8080,
            body_limit: 2 * 1024 * 1024,
            request_timeout_ms: 30_000,
            max_batch_items: crate::http::kpis::DEFAULT_MAX_BATCH_ITEMS,
            fit_workers: default_fit_workers(),
            log_format: LogFormat::Text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_flags_defaults() {
        let parsed = Config::try_parse_from(["retention-kpi"]).unwrap();
        let default = Config::default();
        assert_eq!(parsed.port, default.port);
        assert_eq!(parsed.host, default.host);
        assert_eq!(parsed.body_limit, default.body_limit);
        assert_eq!(parsed.request_timeout_ms, default.request_timeout_ms);
        assert_eq!(parsed.log_format, default.log_format);
        assert_eq!(parsed.max_batch_items, default.max_batch_items);
    }

    #[test]
    fn invalid_settings_are_refused() {
        assert!(Config::try_parse_from(["retention-kpi", "--port", "99999"]).is_err());
        assert!(Config::try_parse_from(["retention-kpi", "--log-format", "xml"]).is_err());
        assert!(Config::try_parse_from(["retention-kpi", "--max-batch-items", "0"]).is_err());
    }
}
