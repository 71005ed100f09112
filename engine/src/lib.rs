//! Packages as data: the component catalog, graph summaries, and (in later issues)
//! validation, compilation to a query plan, and execution.
//!
//! What this layer must never do: touch the control-plane store or speak MCP. It takes a
//! package's `data_flow_json` and answers questions about it.
//!
//! Read first: [`graph::GraphSummary`], [`components::SUGGESTIONS`].

pub mod components;
pub mod graph;
