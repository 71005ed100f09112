//! Drivers: databases ([`database::DatabaseDriver`]), file stores ([`files::FileStore`]),
//! SSH tunnels and the WHERE sanitizer ([`sanitize`]), and the one cache of open drivers
//! everything above shares ([`Connections`]).
//!
//! What this layer must never do: touch the control-plane store (connections come
//! through a [`ConnectionSource`] the control plane implements), speak MCP, or put a
//! credential in an error or a log line.
//!
//! Read first: [`Connections`], [`database::DatabaseDriver`], [`DriverError`].

pub mod connection_types;
pub mod connections;
pub mod database;
pub mod error;
mod fields;
pub mod file_gate;
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

/// For implementors of [`ConnectionSource`], so they need no `async-trait` of their own.
pub use async_trait::async_trait;
pub use connections::{ConnectionSettings, ConnectionSource, Connections};
pub use error::DriverError;
