//! `update_package_components`: deep-merge property changes into components by name.

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
            name: "update_package_components",
            title: "Update package components",
            description: "Edits components by name: entries {component_name, updates}, nested objects deep-merged. All-or-nothing; bumps the version.",
            effect: Effect::WriteDestructive,
        },
        update_package_components,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Update {
    pub component_name: String,
    /// Properties to change; nested objects merge.
    pub updates: Value,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    pub updates: Vec<Update>,
    /// The version you read (conflict if it moved on).
    pub expected_version: Option<i64>,
}

async fn update_package_components(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    if a.updates.is_empty() {
        return Err(ToolError::invalid(
            "updates",
            "give at least one {component_name, updates}",
        ));
    }
    let updates: Vec<(String, Value)> = a
        .updates
        .into_iter()
        .map(|u| (u.component_name, u.updates))
        .collect();
    let change = ctx
        .store
        .update_package(&actor(&ctx), a.package_id, a.expected_version, |p| {
            p.data_flow_json = edit::update_components(&p.data_flow_json, &updates)?;
            Ok::<_, PackageEditError>(())
        })
        .await
        .map_err(mutation_error(a.package_id))?;
    Ok(change.into())
}
