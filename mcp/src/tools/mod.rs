//! The tool definitions, grouped as the seed groups them. Each module exports `tools()`.

pub mod conformance;
pub mod database;
pub mod files;
pub mod inventory;
pub mod page;
pub mod schedules;

use crate::registry::Registry;

/// Every tool this server offers; with `conformance_fixtures`, also the fixture tools the
/// MCP conformance suite looks for by name (test harness only).
pub fn registry(conformance_fixtures: bool) -> Registry {
    let mut all = inventory::tools();
    all.extend(database::tools());
    all.extend(files::tools());
    all.extend(schedules::tools());
    if conformance_fixtures {
        all.extend(conformance::tools());
    }
    Registry::new(all)
}
