//! The tool definitions, grouped as the seed groups them. Each module exports `tools()`.

pub mod inventory;
pub mod page;
pub mod schedules;

use crate::registry::Registry;

/// Every tool this server offers.
pub fn registry() -> Registry {
    let mut all = inventory::tools();
    all.extend(schedules::tools());
    Registry::new(all)
}
