//! Every setting, from flags and environment variables, with defaults that work as they are.

use std::net::IpAddr;

use clap::builder::TypedValueParser;
use clap::{Parser, ValueEnum};

/// The default bound on items in one `/kpis` batch (`--max-batch-items` / `MAX_BATCH_ITEMS`).
pub const DEFAULT_MAX_BATCH_ITEMS: usize = 100;

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

    /// A client must send a whole request head within this many milliseconds (an idle
    /// keep-alive connection too); past it the connection is closed.
    #[arg(long, env = "HEADER_READ_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_ms: u64,

    /// Largest request head (request line and headers), in bytes (at least 8192).
    #[arg(long, env = "MAX_HEADER_BYTES", default_value_t = 65_536, value_parser = clap::value_parser!(u32).range(8192..).map(|v| v as usize))]
    pub max_header_bytes: usize,

    /// Connections open at once; more are closed as they are accepted.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..).map(|v| v as usize))]
    pub max_connections: usize,

    /// On SIGTERM, how long in-flight requests may take to finish before their connections
    /// (and their work) are dropped, in milliseconds; keep it below the orchestrator's grace
    /// period.
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value_t = 20_000)]
    pub shutdown_grace_ms: u64,

    /// Most items one `/kpis` batch may hold (422 above it).
    #[arg(long, env = "MAX_BATCH_ITEMS", default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    pub max_batch_items: usize,

    /// Memory, in bytes, that the requests being read and computed may take together,
    /// estimated as 8 × each body's size; a body over the whole budget is 413, one that does
    /// not fit beside the others is shed with 503 and `Retry-After`.
    #[arg(long, env = "MEMORY_BUDGET_BYTES", default_value_t = 256 * 1024 * 1024, value_parser = clap::value_parser!(u64).range(1024..))]
    pub memory_budget_bytes: u64,

    /// Most events (rows) one `/series`, `/cohorts` or `/survival` request may hold (422 above).
    #[arg(long, env = "MAX_EVENTS", default_value_t = 5_000_000, value_parser = clap::value_parser!(u32).range(1..).map(|v| v as usize))]
    pub max_events: usize,

    /// Most distinct (frequency, recency, T) rows one BG/NBD or Pareto/NBD fit may take (422
    /// above it).
    #[arg(long, env = "MAX_MODEL_ROWS", default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..).map(|v| v as usize))]
    pub max_model_rows: usize,

    /// Most groups one `/survival` request may compare (422 above it).
    #[arg(long, env = "MAX_SURVIVAL_GROUPS", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..).map(|v| v as usize))]
    pub max_survival_groups: usize,

    /// CPU work (model fits, /series, /cohorts, /survival, /ab-test, /kpis) that may run at
    /// once, each on a blocking thread (default: the cores); up to 4 × as many requests wait,
    /// more are shed.
    #[arg(long, env = "FIT_WORKERS", default_value_t = default_fit_workers(), value_parser = clap::value_parser!(u16).range(1..).map(usize::from))]
    pub fit_workers: usize,

    /// Requests computed at once; more are shed at once with 503 and `Retry-After`.
    #[arg(long, env = "CONCURRENCY_LIMIT", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..).map(|v| v as usize))]
    pub concurrency_limit: usize,

    /// API keys, comma-separated; when any is set, computing endpoints require one.
    #[arg(long, env = "API_KEYS", value_delimiter = ',', hide_env_values = true)]
    pub api_keys: Vec<Secret>,

    /// Requests per second each API key may make on average (token bucket; 0: no limit);
    /// over it, 429 with `Retry-After`. Applies only when API keys are configured.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", default_value_t = 50)]
    pub rate_limit_per_second: u32,

    /// Requests an API key may send in a burst above its rate.
    #[arg(long, env = "RATE_LIMIT_BURST", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit_burst: u32,

    /// A file of API keys, one per line (blank lines and `#` comments skipped).
    #[arg(long, env = "API_KEYS_FILE")]
    pub api_keys_file: Option<std::path::PathBuf>,

    /// Origins allowed by CORS, comma-separated (`*` for any); none by default.
    #[arg(long, env = "CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// A secret that never prints: `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let key = s.trim();
        if key.is_empty() {
            Err("an API key must not be empty".to_owned())
        } else {
            Ok(Self(key.to_owned()))
        }
    }
}

impl Config {
    /// Adds the keys of `api_keys_file` to `api_keys`; the error is one line for start-up.
    pub fn load_api_keys(&mut self) -> Result<(), String> {
        let Some(path) = &self.api_keys_file else {
            return Ok(());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read API_KEYS_FILE {}: {e}", path.display()))?;
        let keys: Vec<Secret> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(Secret::new)
            .collect();
        if keys.is_empty() {
            return Err(format!("API_KEYS_FILE {} holds no key", path.display()));
        }
        self.api_keys.extend(keys);
        Ok(())
    }
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
            header_read_timeout_ms: 10_000,
            max_header_bytes: 65_536,
            max_connections: 1024,
            shutdown_grace_ms: 20_000,
            max_batch_items: DEFAULT_MAX_BATCH_ITEMS,
            concurrency_limit: 256,
            api_keys: Vec::new(),
            rate_limit_per_second: 50,
            rate_limit_burst: 100,
            api_keys_file: None,
            cors_origins: Vec::new(),
            fit_workers: default_fit_workers(),
            max_survival_groups: 100,
            max_events: 5_000_000,
            max_model_rows: 1_000_000,
            memory_budget_bytes: 256 * 1024 * 1024,
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
        assert_eq!(parsed.concurrency_limit, default.concurrency_limit);
        assert!(parsed.api_keys.is_empty() && parsed.cors_origins.is_empty());
    }

    #[test]
    fn api_keys_split_on_commas_and_never_print() {
        let parsed =
            Config::try_parse_from(["retention-kpi", "--api-keys", "alpha, beta"]).unwrap();
        assert_eq!(
            parsed.api_keys,
            vec![Secret::new("alpha"), Secret::new("beta")]
        );
        let shown = format!("{parsed:?}");
        assert!(
            !shown.contains("alpha") && !shown.contains("beta"),
            "{shown}"
        );
    }

    #[test]
    fn invalid_settings_are_refused() {
        assert!(Config::try_parse_from(["retention-kpi", "--port", "99999"]).is_err());
        assert!(Config::try_parse_from(["retention-kpi", "--log-format", "xml"]).is_err());
        assert!(Config::try_parse_from(["retention-kpi", "--max-batch-items", "0"]).is_err());
    }
}
