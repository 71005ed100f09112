//! `list_runs`: the account's runs, newest first, by package and status.

use catalog::runs::{RunFilter, RunSummary};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{redact, store_error};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup::{self, page},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "list_runs",
            title: "List runs",
            description: "Lists runs, newest first: status, timings, runtime_in_seconds, rows, cluster_id, package_id, last_error (failed runs). Filter by package_id, status; retries only with include_retries.",
            effect: Effect::Read,
        },
        list_runs,
    )
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: Option<i64>,
    pub status: Option<RunStatus>,
    #[serde(default)]
    pub include_retries: bool,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct RunList {
    pub runs: Vec<RunSummary>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_runs(ctx: ToolContext, a: Args) -> Result<RunList, ToolError> {
    let page = page(a.limit, a.offset)?;
    if let Some(p) = a.package_id {
        lookup::package(&ctx, p).await?;
    }
    let filter = RunFilter {
        package_id: a.package_id,
        status: a.status.map(|s| s.as_str().to_string()),
        include_retries: a.include_retries,
    };
    let mut p = ctx
        .store
        .list_runs(ctx.account_id(), &filter, page)
        .await
        .map_err(store_error)?;
    p.items.iter_mut().for_each(redact::summary);
    Ok(RunList {
        runs: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}
