//! `toggle_schedule`: enable or disable a schedule, idempotently, versioned and audited.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{actor, mutation_error, Changed};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "toggle_schedule",
            title: "Enable or disable a schedule",
            description: "Enables or disables a schedule. Idempotent: the current value changes nothing (changed: false). Audited.",
            effect: Effect::WriteIdempotent,
        },
        toggle_schedule,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToggleArgs {
    pub schedule_id: i64,
    pub enabled: bool,
}

async fn toggle_schedule(ctx: ToolContext, a: ToggleArgs) -> Result<Changed, ToolError> {
    let change = ctx
        .store
        .toggle_schedule(&actor(&ctx), a.schedule_id, a.enabled)
        .await
        .map_err(mutation_error)?;
    Ok(change.into())
}
