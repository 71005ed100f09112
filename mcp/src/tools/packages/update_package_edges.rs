//! `update_package_edges`: replace a package's edges wholesale.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use super::{actor, edit, mutation_error, Changed, PackageEditError};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "update_package_edges",
            title: "Replace package edges",
            description: "Replaces all edges; every source and target must be a component id of the package, or nothing is written. Bumps the version.",
            effect: Effect::WriteDestructive,
        },
        update_package_edges,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    /// The new edges: `{"source": "<id>", "target": "<id>"}` (workflows: `condition`).
    pub edges: Vec<Value>,
    /// The version you read (conflict if it moved on).
    pub expected_version: Option<i64>,
}

async fn update_package_edges(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    let change = ctx
        .store
        .update_package(&actor(&ctx), a.package_id, a.expected_version, |p| {
            p.data_flow_json = edit::replace_edges(&p.data_flow_json, &a.edges)?;
            Ok::<_, PackageEditError>(())
        })
        .await
        .map_err(mutation_error(a.package_id))?;
    Ok(change.into())
}
