//! What a tool handler gets: the store, the open drivers and the caller.

use std::sync::Arc;

use catalog::{seal::Sealer, Principal, Store};
use connectors::Connections;

#[derive(Clone)]
pub struct ToolContext {
    pub store: Store,
    pub sealer: Arc<Sealer>,
    pub principal: Principal,
    /// Open drivers, shared by every session (and by the CLI and the engine).
    pub connections: Arc<Connections>,
}

impl ToolContext {
    pub fn account_id(&self) -> i64 {
        self.principal.account.id
    }
}
