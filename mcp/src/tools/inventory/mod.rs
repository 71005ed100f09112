//! Account inventory: workspaces, packages, connections, clusters, and search across them.
//! Control-plane reads only; one tool per file.

pub mod get_connection;
pub mod get_package;
pub mod list_clusters;
pub mod list_connections;
pub mod list_packages;
pub mod list_workspaces;
pub mod search_all;

use crate::registry::ToolSpec;

/// This resource's tools, in the order `tools/list` shows them.
pub fn tools() -> Vec<ToolSpec> {
    vec![
        list_workspaces::spec(),
        list_packages::spec(),
        get_package::spec(),
        list_connections::spec(),
        get_connection::spec(),
        list_clusters::spec(),
        search_all::spec(),
    ]
}
