//! `get_package`: one package with a summary of its graph, and the graph itself on request.

use catalog::packages::PackageSummary;
use engine::graph::GraphSummary;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "get_package",
            title: "Get a package",
            description: "Returns one package with a summary of its graph: component_count, edge_count, component_types tally, variables_count. Set include_full_graph to also get data_flow_json.",
            effect: Effect::Read,
        },
        get_package,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetPackageArgs {
    pub package_id: i64,
    /// Also return data_flow_json (large).
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
    let p = lookup::package(&ctx, a.package_id).await?;
    Ok(PackageDetail {
        graph: GraphSummary::of(&p.data_flow_json),
        variables_count: p.variables.as_object().map_or(0, |v| v.len() as i64),
        variables: p.variables,
        flow_version: p.flow_version,
        data_flow_json: a.include_full_graph.then_some(p.data_flow_json),
        package: p.summary,
    })
}
