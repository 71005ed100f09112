//! `list_component_types`: the component catalog, optionally one category.

use engine::components::{self, Category, ComponentSummary};
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
            name: "list_component_types",
            title: "List component types",
            description: "Component types a package can use, with wrapper_key and specific_component_type; optional category. describe_component_type gives properties and a wrapper_example.",
            effect: Effect::Read,
        },
        list_component_types,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// source, transformation, destination or workflow_task.
    pub category: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ComponentTypes {
    pub component_types: Vec<ComponentSummary>,
    pub total: i64,
}

async fn list_component_types(_ctx: ToolContext, a: Args) -> Result<ComponentTypes, ToolError> {
    let category = match a.category.as_deref() {
        None => None,
        Some(c) => Some(c.parse::<Category>().map_err(|_| {
            ToolError::invalid("category", "unknown category")
                .with_hint("use source, transformation, destination or workflow_task")
        })?),
    };
    let component_types: Vec<ComponentSummary> =
        components::list(category).map(|c| c.summary()).collect();
    Ok(ComponentTypes {
        total: component_types.len() as i64,
        component_types,
    })
}
