//! What a tool handler gets: the store, the open drivers and the caller.

use std::sync::Arc;

use catalog::{connections::Connection, seal::Sealer, Principal, Store};
use connectors::Connections;

use crate::error::ToolError;

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

    /// One of this account's connections (without credentials), or a not-found error that
    /// names `connection_id`.
    pub async fn connection(&self, id: i64) -> Result<Connection, ToolError> {
        self.store
            .connection(self.account_id(), id)
            .await
            .map_err(|e| match e {
                catalog::CatalogError::NotFound { .. } => ToolError::not_found(
                    "connection_id",
                    "connection",
                    id,
                    "list_connections shows this account's connections",
                ),
                other => other.into(),
            })
    }
}
