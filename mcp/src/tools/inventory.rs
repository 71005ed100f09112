//! Account inventory: workspaces, packages, connections, clusters, and search across them.

use std::collections::BTreeMap;

use catalog::{
    clusters::Cluster,
    connections::{family_of, Connection, ConnectionSummary, TYPES},
    packages::{PackageFilter, PackageSummary},
    search::{Hit, Kind},
    workspaces::Workspace,
};
use engine::{components::SuggestedComponents, graph::GraphSummary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::page::page;
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn tools() -> Vec<ToolSpec> {
    vec![
        tool(
            ToolMeta {
                name: "list_workspaces",
                title: "List workspaces",
                description: "Lists workspaces in the account with package_count, last_failed_jobs_count and last_completed_jobs_count (packages whose latest run failed / completed). Start here to orient yourself.",
                effect: Effect::Read,
            },
            list_workspaces,
        ),
        tool(
            ToolMeta {
                name: "list_packages",
                title: "List packages",
                description: "Lists packages (pipeline definitions) with last_run_status. Filter by flow_type (dataflow|workflow), status (active|archived) and workspace_id.",
                effect: Effect::Read,
            },
            list_packages,
        ),
        tool(
            ToolMeta {
                name: "get_package",
                title: "Get a package",
                description: "Returns one package with a summary of its graph: component_count, edge_count, component_types tally, variables_count. Set include_full_graph to also get data_flow_json.",
                effect: Effect::Read,
            },
            get_package,
        ),
        tool(
            ToolMeta {
                name: "list_connections",
                title: "List connections",
                description: "Lists database and file-storage connections: id, name, type, status. connection_type_filter takes a type (postgres, s3, …) or a family (database, file).",
                effect: Effect::Read,
            },
            list_connections,
        ),
        tool(
            ToolMeta {
                name: "get_connection",
                title: "Get a connection",
                description: "Returns one connection's non-credential fields (host, port, database, user, tunnel_type, bucket, …), which secrets are set (names only), and suggested_components for building a package. Credentials are never returned.",
                effect: Effect::Read,
            },
            get_connection,
        ),
        tool(
            ToolMeta {
                name: "list_clusters",
                title: "List clusters",
                description: "Lists clusters (worker pools) with status, type, nodes, region, lifecycle timestamps and terminate_on_idle. Filter by status.",
                effect: Effect::Read,
            },
            list_clusters,
        ),
        tool(
            ToolMeta {
                name: "search_all",
                title: "Search everything",
                description: "Full-text search across connections, packages, clusters and workspaces, best matches first. Words match as prefixes; all words must match. Narrow with types; per_type_limit caps hits per type (default 10, max 50).",
                effect: Effect::Read,
            },
            search_all,
        ),
    ]
}

// ---- list_workspaces ----

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    /// Items per page (1-100, default 25).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct WorkspaceList {
    pub workspaces: Vec<Workspace>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_workspaces(ctx: ToolContext, a: ListArgs) -> Result<WorkspaceList, ToolError> {
    let p = ctx
        .store
        .list_workspaces(ctx.account_id(), page(a.limit, a.offset)?)
        .await?;
    Ok(WorkspaceList {
        workspaces: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}

// ---- list_packages ----

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FlowType {
    Dataflow,
    Workflow,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PackageStatus {
    Active,
    Archived,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPackagesArgs {
    /// Only packages of this flow type.
    pub flow_type: Option<FlowType>,
    /// Only packages with this status (archived packages are soft-deleted ones).
    pub status: Option<PackageStatus>,
    /// Only packages in this workspace (see list_workspaces).
    pub workspace_id: Option<i64>,
    /// Items per page (1-100, default 25).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PackageList {
    pub packages: Vec<PackageSummary>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_packages(ctx: ToolContext, a: ListPackagesArgs) -> Result<PackageList, ToolError> {
    let page = page(a.limit, a.offset)?;
    if let Some(w) = a.workspace_id {
        if !ctx.store.workspace_exists(ctx.account_id(), w).await? {
            return Err(ToolError::not_found(
                "workspace_id",
                "workspace",
                w,
                "list_workspaces shows the workspace ids",
            ));
        }
    }
    let filter = PackageFilter {
        flow_type: a.flow_type.map(|f| match f {
            FlowType::Dataflow => "dataflow",
            FlowType::Workflow => "workflow",
        }),
        status: a.status.map(|s| match s {
            PackageStatus::Active => "active",
            PackageStatus::Archived => "archived",
        }),
        workspace_id: a.workspace_id,
    };
    let p = ctx
        .store
        .list_packages(ctx.account_id(), &filter, page)
        .await?;
    Ok(PackageList {
        packages: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}

// ---- get_package ----

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPackageArgs {
    /// The package id (see list_packages or search_all).
    pub package_id: i64,
    /// Also return the full data_flow_json graph (large). Default false.
    #[serde(default)]
    pub include_full_graph: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct PackageDetail {
    #[serde(flatten)]
    pub package: PackageSummary,
    pub flow_version: String,
    #[serde(flatten)]
    pub graph: GraphSummary,
    pub variables_count: i64,
    pub variables: Value,
    /// Present only with include_full_graph.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_flow_json: Option<Value>,
}

async fn get_package(ctx: ToolContext, a: GetPackageArgs) -> Result<PackageDetail, ToolError> {
    let p = ctx
        .store
        .package(ctx.account_id(), a.package_id)
        .await
        .map_err(|e| match e {
            catalog::CatalogError::NotFound { .. } => ToolError::not_found(
                "package_id",
                "package",
                a.package_id,
                "list_packages or search_all shows package ids",
            ),
            other => other.into(),
        })?;
    Ok(PackageDetail {
        graph: GraphSummary::of(&p.data_flow_json),
        variables_count: p.variables.as_object().map_or(0, |v| v.len() as i64),
        variables: p.variables,
        flow_version: p.flow_version,
        data_flow_json: a.include_full_graph.then_some(p.data_flow_json),
        package: p.summary,
    })
}

// ---- list_connections / get_connection ----

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListConnectionsArgs {
    /// A connection type (postgres, mysql, mariadb, mssql, sqlite, s3, gcs, azure, local, sftp, http) or a family (database, file).
    pub connection_type_filter: Option<String>,
    /// Items per page (1-100, default 25).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectionList {
    pub connections: Vec<ConnectionSummary>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_connections(
    ctx: ToolContext,
    a: ListConnectionsArgs,
) -> Result<ConnectionList, ToolError> {
    let page = page(a.limit, a.offset)?;
    let filter = a
        .connection_type_filter
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(f) = filter {
        if f != "database" && f != "file" && family_of(f).is_none() {
            let known: Vec<_> = TYPES.iter().map(|(t, _)| *t).collect();
            return Err(ToolError::invalid(
                "connection_type_filter",
                format!(
                    "unknown connection type `{f}`; use database, file, or one of: {}",
                    known.join(", ")
                ),
            ));
        }
    }
    let p = ctx
        .store
        .list_connections(ctx.account_id(), filter, page)
        .await?;
    Ok(ConnectionList {
        connections: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetConnectionArgs {
    /// The connection id (see list_connections).
    pub connection_id: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectionDetail {
    #[serde(flatten)]
    pub connection: Connection,
    pub suggested_components: Option<SuggestedComponents>,
}

async fn get_connection(
    ctx: ToolContext,
    a: GetConnectionArgs,
) -> Result<ConnectionDetail, ToolError> {
    let c = ctx.connection(a.connection_id).await?;
    Ok(ConnectionDetail {
        suggested_components: engine::components::suggested_for(&c.kind),
        connection: c,
    })
}

// ---- list_clusters ----

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListClustersArgs {
    /// Only clusters in this status: pending, creating, available, idle, terminating, terminated, error.
    pub status: Option<String>,
    /// Items per page (1-100, default 25).
    pub limit: Option<i64>,
    /// Items to skip (default 0).
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ClusterList {
    pub clusters: Vec<Cluster>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_clusters(ctx: ToolContext, a: ListClustersArgs) -> Result<ClusterList, ToolError> {
    let page = page(a.limit, a.offset)?;
    if let Some(s) = &a.status {
        if !catalog::clusters::STATUSES.contains(&s.as_str()) {
            return Err(ToolError::invalid(
                "status",
                format!(
                    "unknown cluster status `{s}`; use one of: {}",
                    catalog::clusters::STATUSES.join(", ")
                ),
            ));
        }
    }
    let p = ctx
        .store
        .list_clusters(ctx.account_id(), a.status.as_deref(), page)
        .await?;
    Ok(ClusterList {
        clusters: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}

// ---- search_all ----

pub const DEFAULT_PER_TYPE: i64 = 10;
pub const MAX_PER_TYPE: i64 = 50;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Words to look for in names and descriptions, e.g. "orders postgres".
    pub query: String,
    /// Which kinds to search: connection, package, cluster, workspace (plural accepted). Default all.
    pub types: Option<Vec<String>>,
    /// Maximum hits per kind (1-50, default 10).
    pub per_type_limit: Option<i64>,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub struct SearchResults {
    pub query: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<Hit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<Hit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clusters: Option<Vec<Hit>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspaces: Option<Vec<Hit>>,
    /// Hits across all kinds.
    pub total: i64,
}

async fn search_all(ctx: ToolContext, a: SearchArgs) -> Result<SearchResults, ToolError> {
    if catalog::search::words(&a.query).is_empty() {
        return Err(ToolError::invalid(
            "query",
            "the query has no words to search for; give a name or part of one",
        ));
    }
    let per_type = a.per_type_limit.unwrap_or(DEFAULT_PER_TYPE);
    if !(1..=MAX_PER_TYPE).contains(&per_type) {
        return Err(ToolError::invalid(
            "per_type_limit",
            format!("per_type_limit must be between 1 and {MAX_PER_TYPE} (got {per_type})"),
        ));
    }
    let kinds = match &a.types {
        None => Kind::ALL.to_vec(),
        Some(ts) if ts.is_empty() => Kind::ALL.to_vec(),
        Some(ts) => ts
            .iter()
            .map(|t| {
                Kind::parse(t.trim()).ok_or_else(|| {
                    ToolError::invalid(
                        "types",
                        format!(
                            "unknown type `{t}`; use connection, package, cluster or workspace"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let mut out = SearchResults {
        query: a.query.clone(),
        ..Default::default()
    };
    let mut by_kind: BTreeMap<&str, Vec<Hit>> = BTreeMap::new();
    for k in kinds {
        let hits = ctx
            .store
            .search(ctx.account_id(), k, &a.query, per_type)
            .await?;
        out.total += hits.len() as i64;
        by_kind.insert(k.as_str(), hits);
    }
    out.connections = by_kind.remove("connection");
    out.packages = by_kind.remove("package");
    out.clusters = by_kind.remove("cluster");
    out.workspaces = by_kind.remove("workspace");
    Ok(out)
}
