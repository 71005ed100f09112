//! Schedules: when packages run. One tool per file.

pub mod toggle_schedule;

use crate::registry::ToolSpec;

/// This resource's tools, in the order `tools/list` shows them.
pub fn tools() -> Vec<ToolSpec> {
    vec![toggle_schedule::spec()]
}
