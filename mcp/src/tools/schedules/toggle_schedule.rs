//! `toggle_schedule`: enable or disable a schedule, idempotently and audited.

use catalog::schedules::Schedule;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "toggle_schedule",
            title: "Enable or disable a schedule",
            description: "Enables or disables a schedule by schedule_id. Idempotent: setting the current value changes nothing (changed: false). Audited.",
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

#[derive(Debug, Serialize, JsonSchema)]
pub struct Toggled {
    pub schedule_id: i64,
    pub enabled: bool,
    /// False when the schedule already had this value.
    pub changed: bool,
    pub schedule: Schedule,
}

async fn toggle_schedule(ctx: ToolContext, a: ToggleArgs) -> Result<Toggled, ToolError> {
    let (schedule, changed) = ctx
        .store
        .toggle_schedule(&ctx.principal, a.schedule_id, a.enabled)
        .await
        .map_err(lookup::missing(
            "schedule_id",
            "schedule",
            a.schedule_id,
            "check the schedule id",
        ))?;
    Ok(Toggled {
        schedule_id: schedule.id,
        enabled: schedule.enabled,
        changed,
        schedule,
    })
}
