//! The tool definitions: one folder per resource, one file per tool holding its
//! arguments, output, metadata and handler. Each resource's `tools()` lists its tools in
//! the order `tools/list` shows them; [`lookup`] is how every tool pages a list and finds
//! one of the account's resources.

pub mod audit;
pub mod conformance;
pub mod database;
pub mod files;
pub mod inventory;
pub mod lookup;
pub mod packages;
pub mod runs;
pub mod schedules;

use crate::registry::{DuplicateTool, Registry};

/// Every tool this server offers; with `conformance_fixtures`, also the fixture tools the
/// MCP conformance suite looks for by name (test harness only). Refused if two tools
/// share a name.
pub fn registry(conformance_fixtures: bool) -> Result<Registry, DuplicateTool> {
    let mut all = inventory::tools();
    all.extend(database::tools());
    all.extend(files::tools());
    all.extend(packages::tools());
    all.extend(runs::tools());
    all.extend(schedules::tools());
    all.extend(audit::tools());
    if conformance_fixtures {
        all.extend(conformance::tools());
    }
    Registry::new(all)
}
