//! The server's wiring, built once: the control-plane store and its sealer, the tool
//! table, the open drivers and the read-only switch. Both transports (HTTP in
//! [`crate::http`], stdio in [`crate::stdio`]) serve from the same [`Shared`], so a new
//! piece of shared state is added here and reaches both.

use std::sync::Arc;

use catalog::{connection_source::StoredConnections, seal::Sealer, Store};
use connectors::Connections;
use mcp::Shared;

use crate::config::Config;

/// Opens the store and builds the state every MCP session shares. With
/// `conformance_fixtures`, the tool table also has the conformance suite's fixture tools.
pub async fn open(cfg: &Config, conformance_fixtures: bool) -> anyhow::Result<Arc<Shared>> {
    let (store, sealer) = crate::cli::open_store(cfg).await?;
    let connections = connections(&store, &sealer);
    // Closes idle drivers; ends when the last session state is dropped.
    connections.spawn_sweeper();
    Ok(Arc::new(Shared {
        store,
        sealer,
        registry: mcp::tools::registry(conformance_fixtures)?,
        connections,
        read_only: cfg.read_only,
    }))
}

/// The open drivers over this store's connections: the server's, or a CLI command's own.
pub fn connections(store: &Store, sealer: &Arc<Sealer>) -> Arc<Connections> {
    Arc::new(Connections::new(Arc::new(StoredConnections::new(
        store.clone(),
        sealer.clone(),
    ))))
}
