//! Drivers: databases ([`database::DatabaseDriver`]), file stores, SSH tunnels and the
//! WHERE sanitizer ([`sanitize`]).
//!
//! What this layer must never do: touch the control-plane store, speak MCP, or put a
//! credential in an error or a log line.

pub mod database;
pub mod error;
pub mod sanitize;
pub mod tls;
pub mod tunnel;

pub use error::DriverError;
