//! File connections: what a file holds, found without reading all of it. One tool per
//! file.

pub mod discover_file_schema;
mod hints;

use crate::registry::ToolSpec;

/// This resource's tools, in the order `tools/list` shows them.
pub fn tools() -> Vec<ToolSpec> {
    vec![discover_file_schema::spec()]
}
