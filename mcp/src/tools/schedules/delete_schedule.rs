//! `delete_schedule`: remove a schedule; the runs it started and its audit trail stay.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{actor, mutation_error};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "delete_schedule",
            title: "Delete a schedule",
            description: "Deletes a schedule (audited with all it held); its runs are kept. toggle_schedule pauses one instead.",
            effect: Effect::WriteDestructive,
        },
        delete_schedule,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub schedule_id: i64,
    /// The version you read (conflict if it moved on).
    pub expected_version: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Deleted {
    pub schedule_id: i64,
    pub name: String,
    pub deleted: bool,
}

async fn delete_schedule(ctx: ToolContext, a: Args) -> Result<Deleted, ToolError> {
    let schedule = ctx
        .store
        .delete_schedule(&actor(&ctx), a.schedule_id, a.expected_version)
        .await
        .map_err(mutation_error)?;
    Ok(Deleted {
        schedule_id: schedule.id,
        name: schedule.name,
        deleted: true,
    })
}
