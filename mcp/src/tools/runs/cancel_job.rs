//! `cancel_job`: stop a run, idempotently; a finished run is left as it is.

use catalog::Actor;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::store_error;
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "cancel_job",
            title: "Cancel a run",
            description: "Cancels a run: a queued one at once, a running one within seconds (destinations keep their old data). Idempotent: a finished run is left as is; its status is returned.",
            effect: Effect::WriteIdempotent,
        },
        cancel_job,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub run_id: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Cancelled {
    pub run_id: i64,
    pub status: String,
    pub cancel_requested: bool,
    pub note: String,
}

async fn cancel_job(ctx: ToolContext, a: Args) -> Result<Cancelled, ToolError> {
    let run = ctx
        .store
        .cancel_run(Actor::from(&ctx.principal), a.run_id)
        .await
        .map_err(store_error)?;
    let status = run.summary.status;
    let note = match status.as_str() {
        "running" => "cancellation asked for; the run stops within seconds and ends `cancelled` (poll get_run)".to_string(),
        "cancelled" => "the run is cancelled".to_string(),
        other => format!("the run had already ended ({other}); nothing to cancel"),
    };
    Ok(Cancelled {
        run_id: a.run_id,
        cancel_requested: run.cancel_requested,
        status,
        note,
    })
}
