//! The `mcp` crate's integration tests, one binary (link time does not grow with every
//! file), one module per area.

/// What `tools/list` shows, pinned: a refactor of the tool table must not change a name,
/// a description, a schema or an annotation by accident.
mod tools_list;

/// The run tools on a real store, the test acting as the worker.
mod runs;
