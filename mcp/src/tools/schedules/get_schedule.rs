//! `get_schedule`: one schedule with its next fire times, the runs it started last and
//! its log (skipped and missed slots).

use catalog::schedules::{Schedule, ScheduleLogEntry, ScheduledRun};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::mutation_error;
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

/// How many of the runs it started, and of its log entries, a schedule shows.
const RECENT_RUNS: i64 = 5;
const RECENT_LOG: i64 = 10;

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "get_schedule",
            title: "Get a schedule",
            description: "One schedule: cron, variables, policies, next 3 fire times, last 5 runs, and its log of skipped or missed slots.",
            effect: Effect::Read,
        },
        get_schedule,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub schedule_id: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ScheduleDetail {
    #[serde(flatten)]
    pub schedule: Schedule,
    /// In the schedule's time zone; empty while disabled.
    pub next_fire_times: Vec<String>,
    pub recent_runs: Vec<ScheduledRun>,
    pub log: Vec<ScheduleLogEntry>,
}

async fn get_schedule(ctx: ToolContext, a: Args) -> Result<ScheduleDetail, ToolError> {
    let account = ctx.account_id();
    let schedule = ctx
        .store
        .schedule(account, a.schedule_id)
        .await
        .map_err(mutation_error)?;
    let (recent_runs, log) = ctx
        .store
        .schedule_activity(account, a.schedule_id, RECENT_RUNS, RECENT_LOG)
        .await?;
    let next_fire_times = schedule.next_fire_times(catalog::time::now_ms());
    Ok(ScheduleDetail {
        schedule,
        next_fire_times,
        recent_runs,
        log,
    })
}
