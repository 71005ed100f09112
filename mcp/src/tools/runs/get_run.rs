//! `get_run`: one run with its progress, error and a redacted log tail.

use catalog::runs::RunDetail;
use schemars::JsonSchema;
use serde::Deserialize;

use super::{log_tail, redact, store_error};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "get_run",
            title: "Get a run",
            description: "Returns one run: status, timings, runtime_in_seconds, rows, per-component progress, error and a redacted log tail (log_tail_lines, default 20, max 200).",
            effect: Effect::Read,
        },
        get_run,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub run_id: i64,
    pub log_tail_lines: Option<i64>,
}

async fn get_run(ctx: ToolContext, a: Args) -> Result<RunDetail, ToolError> {
    let tail = log_tail(a.log_tail_lines, 20)?;
    let mut run = ctx
        .store
        .get_run(ctx.account_id(), a.run_id, tail)
        .await
        .map_err(store_error)?;
    redact::detail(&mut run);
    Ok(run)
}
