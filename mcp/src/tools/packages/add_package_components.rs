//! `add_package_components`: append components, optionally with their edges.

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
            name: "add_package_components",
            title: "Add components to a package",
            description: "Appends components (unique names; ids generated) and optional edges between new and existing ones. All-or-nothing; bumps the version.",
            effect: Effect::WriteDestructive,
        },
        add_package_components,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    /// Components as describe_component_type's wrapper_example shows them.
    pub components: Vec<Value>,
    /// Edges to add: `{"source": "<id>", "target": "<id>"}`.
    #[serde(default)]
    pub edges: Vec<Value>,
    /// The version you read (conflict if it moved on).
    pub expected_version: Option<i64>,
}

async fn add_package_components(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    if a.components.is_empty() && a.edges.is_empty() {
        return Err(ToolError::invalid(
            "components",
            "give at least one component or edge",
        ));
    }
    let change = ctx
        .store
        .update_package(&actor(&ctx), a.package_id, a.expected_version, |p| {
            p.data_flow_json = edit::add_components(
                &p.data_flow_json,
                &a.components,
                &a.edges,
                "components",
                "edges",
            )?;
            Ok::<_, PackageEditError>(())
        })
        .await
        .map_err(mutation_error(a.package_id))?;
    Ok(change.into())
}
