//! `retry_job`: run a failed or cancelled run again, as a new run; the original is kept.

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
            name: "retry_job",
            title: "Retry a run",
            description: "Retries a failed or cancelled run as a new run with the same variables, optionally on another cluster_id; the original is kept. Returns the new run_id.",
            effect: Effect::WriteAdditive,
        },
        retry_job,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub run_id: i64,
    /// Default: the original's cluster.
    pub cluster_id: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Retried {
    pub run_id: i64,
    pub retry_of: i64,
    pub status: &'static str,
}

async fn retry_job(ctx: ToolContext, a: Args) -> Result<Retried, ToolError> {
    let run_id = ctx
        .store
        .retry_run(Actor::from(&ctx.principal), a.run_id, a.cluster_id)
        .await
        .map_err(|e| {
            let e = store_error(e);
            // The run's package refused (archived): this tool's argument is the run.
            if e.field.as_deref() == Some("package_id") {
                e.with_field("run_id").with_hint(
                    "its package is archived; clone_package makes an active copy to run with run_package",
                )
            } else {
                e
            }
        })?;
    Ok(Retried {
        run_id,
        retry_of: a.run_id,
        status: "queued",
    })
}
