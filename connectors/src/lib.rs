//! Drivers: databases (`DatabaseDriver`), file stores (`FileStore`), SSH tunnels and the
//! WHERE sanitizer.
//!
//! What this layer must never do: touch the control-plane store, speak MCP, or put a
//! credential in an error or a log line.

pub mod sanitize;
