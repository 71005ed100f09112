//! `describe_component_type`: one component type's properties, required ones and the
//! exact JSON a package holds for it.

use engine::components::{self, ComponentDescription};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "describe_component_type",
            title: "Describe a component type",
            description: "One component type (name or wrapper_key): properties as JSON schemas, required ones, inputs/outputs, and the wrapper_example a package's components hold.",
            effect: Effect::Read,
        },
        describe_component_type,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// The type's name or wrapper_key, e.g. `filter` or `filter_component`.
    pub name: String,
}

async fn describe_component_type(
    _ctx: ToolContext,
    a: Args,
) -> Result<ComponentDescription, ToolError> {
    components::describe(a.name.trim()).ok_or_else(|| {
        ToolError::invalid("name", "no component type has this name or wrapper_key")
            .with_hint("list_component_types lists them")
    })
}
