//! Drivers: databases ([`database::DatabaseDriver`]), file stores ([`files::FileStore`]),
//! SSH tunnels and the
//! WHERE sanitizer ([`sanitize`]).
//!
//! What this layer must never do: touch the control-plane store, speak MCP, or put a
//! credential in an error or a log line.

pub mod database;
pub mod error;
mod fields;
pub mod files;
pub mod redact;
pub mod sanitize;
pub mod tls;
pub mod tunnel;

/// What `test_connection` learned, for either driver family.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Ping {
    pub server_version: String,
    /// Whether the connection's role can change data: a preview connection should not.
    pub can_write: Option<bool>,
    pub latency_ms: f64,
}

pub use error::DriverError;
