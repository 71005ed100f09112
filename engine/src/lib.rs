//! Packages as data: the component catalog, the typed package model, and validation by
//! compiling a package to Apache DataFusion logical plans and running them ([`run::execute`]).
//!
//! What this layer must never do: touch the control-plane store, speak MCP (its messages
//! name components and properties, never a tool or an argument), or read more of a source
//! than its schema while validating. Connections, packages and source schemas come through
//! traits the caller implements ([`validate::Inventory`], [`validate::SchemaSource`]).
//!
//! Read first: [`components::CATALOG`] (the component types, as data),
//! [`package::Package`] (a `data_flow_json` as types), [`validate::validate`] (the checks,
//! returning [`Finding`]s), and [`connection_types::CONNECTION_TYPES`] (the one table of
//! connection types).

pub mod components;
/// The one table of connection types, shared with the control plane.
pub use connectors::connection_types;
mod finding;
pub mod graph;
pub mod package;
pub mod run;
pub mod schema;
pub mod validate;

/// For implementors of [`validate::Inventory`] and [`validate::SchemaSource`].
pub use async_trait::async_trait;
/// Arrow, as the engine uses it, for [`validate::SchemaSource`] implementations.
pub use datafusion::arrow;
pub use finding::{Finding, Severity};
