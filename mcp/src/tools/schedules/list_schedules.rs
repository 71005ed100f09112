//! `list_schedules`: the account's schedules, by package and enabled.

use catalog::schedules::Schedule;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup::{self, page},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "list_schedules",
            title: "List schedules",
            description: "Lists schedules: name, package_id, cron, time_zone, next_run_at, last_run_at, enabled. Filter by package_id or enabled.",
            effect: Effect::Read,
        },
        list_schedules,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: Option<i64>,
    pub enabled: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ScheduleList {
    pub schedules: Vec<Schedule>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

async fn list_schedules(ctx: ToolContext, a: Args) -> Result<ScheduleList, ToolError> {
    let page = page(a.limit, a.offset)?;
    if let Some(p) = a.package_id {
        lookup::package(&ctx, p).await?;
    }
    let p = ctx
        .store
        .list_schedules(ctx.account_id(), a.package_id, a.enabled, page)
        .await?;
    Ok(ScheduleList {
        schedules: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}
