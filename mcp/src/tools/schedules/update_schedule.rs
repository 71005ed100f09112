//! `update_schedule`: change a schedule's settings; what is left out is kept.

use catalog::schedules::ScheduleEdit;
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
            name: "update_schedule",
            title: "Update a schedule",
            description: "Changes a schedule's settings (as create_schedule); omitted ones are kept, variables replaced whole. Versioned; returns the next 3 fire times.",
            effect: Effect::WriteIdempotent,
        },
        update_schedule,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub schedule_id: i64,
    /// The version you read (conflict if it moved on).
    pub expected_version: Option<i64>,
    pub name: Option<String>,
    pub cron: Option<String>,
    pub time_zone: Option<String>,
    pub variables: Option<Map<String, Value>>,
    /// null: any worker.
    #[serde(default, deserialize_with = "present")]
    #[schemars(extend("x-null-clears" = true))]
    pub cluster_id: Option<Option<i64>>,
    pub missed_policy: Option<MissedPolicy>,
    pub overlap_policy: Option<OverlapPolicy>,
}

/// A given argument, `null` included (absent stays `None`: keep the setting).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

async fn update_schedule(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    let edit = ScheduleEdit {
        name: a.name,
        cron: a.cron,
        time_zone: a.time_zone,
        enabled: None,
        variables: a.variables,
        cluster_id: a.cluster_id,
        missed_policy: a.missed_policy.map(MissedPolicy::name),
        overlap_policy: a.overlap_policy.map(OverlapPolicy::name),
    };
    let change = ctx
        .store
        .update_schedule(&actor(&ctx), a.schedule_id, a.expected_version, edit)
        .await
        .map_err(mutation_error)?;
    Ok(change.into())
}
