//! Server configuration: defaults, then an optional TOML file (`--config` or
//! `PIPEWRIGHT_CONFIG`), then `PIPEWRIGHT_*` environment variables, then flags.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use figment::{
    providers::{Env, Format, Serialized, Toml},
    Figment,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Where the SQLite store, the master key and the demo data live.
    pub data_dir: PathBuf,
    /// `postgres://…` to keep the control plane in PostgreSQL instead of SQLite.
    pub database_url: Option<String>,
    /// The URL clients use to reach this server (for Host/Origin checks and auth metadata).
    pub public_url: Option<String>,
    /// Serve only read-only tools, whatever the token.
    pub read_only: bool,
    /// `text` or `json` log lines on stderr.
    pub log_format: String,
    /// Extra browser origins allowed to call the MCP endpoint.
    pub allowed_origins: Vec<String>,
    /// Connections held at once (kept below the open-file limit); one more is told 503.
    pub max_connections: usize,
    /// A request's headers (or the next request on an idle keep-alive connection) must
    /// arrive within this many seconds.
    pub header_timeout_secs: u64,
    /// A request body must arrive whole within this many seconds.
    pub body_timeout_secs: u64,
    /// A connection whose client stops reading for this many seconds is closed.
    pub write_stall_timeout_secs: u64,
    /// Requests served on one keep-alive connection before it is closed.
    pub max_requests_per_connection: u64,
    /// On shutdown, requests in flight get this many seconds to finish.
    pub shutdown_grace_secs: u64,
    /// MCP sessions open at once on this server.
    pub max_sessions: usize,
    /// MCP sessions open at once per token (its longest-idle one is closed to make room).
    pub max_sessions_per_token: usize,
    /// An MCP session with no request and no open stream for this long is closed.
    pub session_idle_secs: u64,
    /// The cluster (by name) whose queued runs this process's worker takes; empty: runs
    /// of every cluster and runs placed on none.
    pub worker_cluster: String,
    /// Runs this process executes at once (0: no worker in `serve`).
    pub worker_concurrency: usize,
    /// A running run whose worker has not heartbeaten for this long is failed (its worker
    /// died); it is never run again on its own.
    pub run_lost_after_secs: u64,
    /// Rows per batch between components.
    pub batch_rows: usize,
    /// Memory a run's joins, sorts and aggregates may hold before spilling to disk (MiB).
    pub run_memory_mb: usize,
    /// Run the scheduler in `serve` (every replica may: each slot still fires once).
    pub scheduler: bool,
    /// A slot this many seconds overdue was missed while no scheduler ran: it follows its
    /// schedule's `missed_policy` instead of firing late.
    pub schedule_misfire_secs: u64,
    /// Accept OAuth Client ID Metadata Documents on loopback `http` URLs (tests only;
    /// otherwise they must be `https` on a public address).
    pub oauth_loopback_metadata: bool,
    /// Behind a reverse proxy: take the caller's address (for sign-in and registration
    /// limits) from the last `X-Forwarded-For` entry the proxy appends.
    pub trust_forwarded_for: bool,
    /// A folder of Claude Desktop extensions (`scripts/mcpb-bundle` output) that Connected
    /// Applications offers for download.
    pub bundles_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: default_data_dir(),
            database_url: None,
            public_url: None,
            read_only: false,
            log_format: "text".into(),
            allowed_origins: vec![],
            max_connections: 1024,
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            write_stall_timeout_secs: 30,
            max_requests_per_connection: 10_000,
            shutdown_grace_secs: 10,
            max_sessions: 2000,
            max_sessions_per_token: 32,
            session_idle_secs: 120,
            worker_cluster: String::new(),
            worker_concurrency: 2,
            run_lost_after_secs: 30,
            batch_rows: 8192,
            run_memory_mb: 256,
            scheduler: true,
            schedule_misfire_secs: 60,
            oauth_loopback_metadata: false,
            trust_forwarded_for: false,
            bundles_dir: None,
        }
    }
}

fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("pipewright");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/pipewright"),
        None => PathBuf::from("pipewright-data"),
    }
}

/// Values given on the command line; `None` leaves the lower layers' value.
#[derive(Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
}

const ENV_KEYS: &[&str] = &[
    "bind",
    "data_dir",
    "database_url",
    "public_url",
    "read_only",
    "log_format",
    "allowed_origins",
    "max_connections",
    "header_timeout_secs",
    "body_timeout_secs",
    "write_stall_timeout_secs",
    "max_requests_per_connection",
    "shutdown_grace_secs",
    "max_sessions",
    "max_sessions_per_token",
    "session_idle_secs",
    "worker_cluster",
    "worker_concurrency",
    "run_lost_after_secs",
    "batch_rows",
    "run_memory_mb",
    "scheduler",
    "schedule_misfire_secs",
    "oauth_loopback_metadata",
    "trust_forwarded_for",
    "bundles_dir",
];

impl Config {
    pub fn load(file: Option<PathBuf>, overrides: Overrides) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let file = file.or_else(|| std::env::var_os("PIPEWRIGHT_CONFIG").map(PathBuf::from));
        if let Some(f) = &file {
            anyhow::ensure!(f.exists(), "config file {} does not exist", f.display());
            fig = fig.merge(Toml::file(f));
        }
        fig = fig
            .merge(Env::prefixed("PIPEWRIGHT_").only(ENV_KEYS))
            .merge(Serialized::defaults(overrides));
        let cfg: Config = fig.extract().context("invalid configuration")?;
        anyhow::ensure!(
            cfg.log_format == "text" || cfg.log_format == "json",
            "log_format must be `text` or `json` (got `{}`)",
            cfg.log_format
        );
        Ok(cfg)
    }

    /// The URL clients reach us at, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.bind),
        }
    }
}
