//! `remove_package_components`: remove components by name, with their edges.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{actor, edit, mutation_error, Changed, PackageEditError};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "remove_package_components",
            title: "Remove package components",
            description:
                "Removes components by name with their edges. All-or-nothing; bumps the version.",
            effect: Effect::WriteDestructive,
        },
        remove_package_components,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    pub component_names: Vec<String>,
    /// The version you read (conflict if it moved on).
    pub expected_version: Option<i64>,
}

async fn remove_package_components(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    if a.component_names.is_empty() {
        return Err(ToolError::invalid(
            "component_names",
            "name at least one component",
        ));
    }
    let change = ctx
        .store
        .update_package(&actor(&ctx), a.package_id, a.expected_version, |p| {
            p.data_flow_json = edit::remove_components(&p.data_flow_json, &a.component_names)?.0;
            Ok::<_, PackageEditError>(())
        })
        .await
        .map_err(mutation_error(a.package_id))?;
    Ok(change.into())
}
