//! `create_package`: a new package from a full spec, in one step.

use catalog::packages::PackageSpec;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{actor, edit, Changed};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "create_package",
            title: "Create a package",
            description: "Creates a package atomically from name, flow_type (dataflow|workflow), components and edges (ids generated when omitted); optional workspace_id, description, flow_version (2.0.0), variables. Then validate_package.",
            effect: Effect::WriteDestructive,
        },
        create_package,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub name: String,
    /// dataflow or workflow.
    pub flow_type: String,
    /// Components as describe_component_type's wrapper_example shows them.
    pub components: Vec<Value>,
    /// `{"source": "<component id>", "target": "<component id>"}`; workflows may add
    /// `condition`: on_success | on_failure | on_completion.
    #[serde(default)]
    pub edges: Vec<Value>,
    pub workspace_id: Option<i64>,
    pub description: Option<String>,
    /// Default 2.0.0.
    pub flow_version: Option<String>,
    /// Public variables: name → default value.
    pub variables: Option<Map<String, Value>>,
}

async fn create_package(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    let graph = edit::normalize(&json!({"components": a.components, "edges": a.edges}))
        .map_err(|e| ToolError::invalid(e.location().to_string(), e.to_string()))?;
    let spec = PackageSpec {
        workspace_id: a.workspace_id,
        name: a.name,
        description: a.description.unwrap_or_default(),
        flow_type: a.flow_type,
        flow_version: a.flow_version,
        data_flow_json: graph,
        variables: Value::Object(a.variables.unwrap_or_default()),
    };
    let change = ctx.store.create_package_by(&actor(&ctx), spec).await?;
    Ok(change.into())
}
