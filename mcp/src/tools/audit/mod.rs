//! The audit trail: who changed what, through which token and client. One tool per file.

pub mod list_audit_events;

use crate::registry::ToolSpec;

/// This resource's tools, in the order `tools/list` shows them.
pub fn tools() -> Vec<ToolSpec> {
    vec![list_audit_events::spec()]
}
