//! `create_schedule`: a new schedule for a package, versioned and audited.

use catalog::schedules::ScheduleSpec;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{actor, mutation_error, Changed, MissedPolicy, OverlapPolicy};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "create_schedule",
            title: "Create a schedule",
            description: "Schedules a package: cron has 5 fields, or 6 with seconds first, read in time_zone (IANA, default UTC). missed_policy: slots missed while down (default run_once); overlap_policy: while a run still goes (default skip). Returns the next 3 fire times.",
            effect: Effect::WriteAdditive,
        },
        create_schedule,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    pub name: String,
    pub cron: String,
    pub time_zone: Option<String>,
    pub enabled: Option<bool>,
    pub variables: Option<Map<String, Value>>,
    pub cluster_id: Option<i64>,
    pub missed_policy: Option<MissedPolicy>,
    pub overlap_policy: Option<OverlapPolicy>,
}

async fn create_schedule(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    let spec = ScheduleSpec {
        package_id: a.package_id,
        name: a.name,
        cron: a.cron,
        time_zone: a.time_zone,
        enabled: a.enabled.unwrap_or(true),
        variables: a.variables.unwrap_or_default(),
        cluster_id: a.cluster_id,
        missed_policy: a.missed_policy.map(MissedPolicy::name),
        overlap_policy: a.overlap_policy.map(OverlapPolicy::name),
    };
    let change = ctx
        .store
        .create_schedule(&actor(&ctx), spec)
        .await
        .map_err(mutation_error)?;
    Ok(change.into())
}
