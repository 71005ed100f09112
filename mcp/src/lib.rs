//! The MCP tool surface: tool definitions (a table, see [`registry`]), their argument and
//! output types, errors, annotations, and the [`server::PipewrightServer`] handler that
//! serves them over any rmcp transport.
//!
//! What this layer must never do: authenticate HTTP requests (the binary does, and hands
//! over a `Principal`), return or log a secret, or turn a bad argument into a protocol
//! error (bad input is a tool result with `isError: true`).
//!
//! Both transports run each incoming message through [`jsonrpc::precheck`] before rmcp
//! sees it (stdio through [`stdio_guard`]), so a malformed message gets the JSON-RPC error it
//! calls for; a well-formed `arguments` object with bad values is still a tool result.
//!
//! Read first: [`registry::Registry`], [`server::PipewrightServer`], [`error::ToolError`].

pub mod budget;
pub mod context;
pub mod error;
pub mod jsonrpc;
pub mod registry;
pub mod schema;
pub mod scope;
pub mod server;
pub mod stdio_guard;
pub mod tools;

pub use server::{CallerSource, PipewrightServer, Shared};
