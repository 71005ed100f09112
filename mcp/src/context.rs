//! What a tool handler gets: the store and the caller.

use std::sync::Arc;

use catalog::{seal::Sealer, Principal, Store};

use crate::drivers::DriverCache;

#[derive(Clone)]
pub struct ToolContext {
    pub store: Store,
    pub sealer: Arc<Sealer>,
    pub principal: Principal,
    pub drivers: Arc<DriverCache>,
}

impl ToolContext {
    pub fn account_id(&self) -> i64 {
        self.principal.account.id
    }
}
