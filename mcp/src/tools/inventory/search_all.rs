//! `search_all`: full-text search across the account's connections, packages, clusters
//! and workspaces.

use std::collections::BTreeMap;

use catalog::search::{Hit, Kind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "search_all",
            title: "Search everything",
            description: "Full-text search across connections, packages, clusters and workspaces, best first. Words match as prefixes; all must match. Narrow with types; per_type_limit caps hits per type (default 10, max 50).",
            effect: Effect::Read,
        },
        search_all,
    )
}

pub const DEFAULT_PER_TYPE: i64 = 10;
pub const MAX_PER_TYPE: i64 = 50;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Words to look for in names and descriptions, e.g. "orders postgres".
    pub query: String,
    /// connection, package, cluster, workspace (default all).
    pub types: Option<Vec<String>>,
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
