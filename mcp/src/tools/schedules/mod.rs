//! Schedules: when packages run. One tool per file; every mutation goes through the
//! store's locked, versioned, audited path and answers with the next fire times.

pub mod create_schedule;
pub mod delete_schedule;
pub mod get_schedule;
pub mod list_schedules;
pub mod toggle_schedule;
pub mod update_schedule;

use catalog::{schedules::ScheduleChange, Actor, CatalogError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::{ErrorCode, ToolError},
    registry::ToolSpec,
};

/// This resource's tools, in the order `tools/list` shows them.
pub fn tools() -> Vec<ToolSpec> {
    vec![
        list_schedules::spec(),
        get_schedule::spec(),
        create_schedule::spec(),
        update_schedule::spec(),
        toggle_schedule::spec(),
        delete_schedule::spec(),
    ]
}

/// Who is changing things, as the audit trail records it.
fn actor(ctx: &ToolContext) -> Actor {
    Actor::from(&ctx.principal)
}

// What slots missed while no scheduler ran become (no doc comment: schemars would copy it
// into every input schema that uses it, and the tool descriptions already say it).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MissedPolicy {
    RunOnce,
    Skip,
}

// What a slot does while the previous run is still going.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OverlapPolicy {
    Skip,
    Queue,
}

impl MissedPolicy {
    fn name(self) -> String {
        match self {
            MissedPolicy::RunOnce => "run_once",
            MissedPolicy::Skip => "skip",
        }
        .into()
    }
}

impl OverlapPolicy {
    fn name(self) -> String {
        match self {
            OverlapPolicy::Skip => "skip",
            OverlapPolicy::Queue => "queue",
        }
        .into()
    }
}

/// What every schedule mutation answers: what changed and when it fires next (the whole
/// schedule is one get_schedule away).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Changed {
    pub schedule_id: i64,
    pub version: i64,
    pub enabled: bool,
    /// False when the schedule already was as asked (nothing written).
    pub changed: bool,
    /// Which settings changed.
    pub fields: Vec<String>,
    /// The next three fire times, in the schedule's time zone.
    pub next_fire_times: Vec<String>,
}

impl From<ScheduleChange> for Changed {
    fn from(c: ScheduleChange) -> Self {
        Changed {
            schedule_id: c.schedule.id,
            version: c.schedule.version,
            enabled: c.schedule.enabled,
            changed: c.changed,
            fields: c.fields,
            next_fire_times: c.next_fire_times,
        }
    }
}

/// A store error of a schedule tool: not found names the argument that points at the
/// missing thing; a stale `expected_version` is a conflict that says what to do.
pub(crate) fn mutation_error(e: CatalogError) -> ToolError {
    match e {
        CatalogError::NotFound { kind, id } => {
            let (field, hint) = match kind {
                "package" => ("package_id", "list_packages shows package ids"),
                "cluster" => ("cluster_id", "list_clusters shows cluster ids"),
                _ => ("schedule_id", "list_schedules shows schedule ids"),
            };
            ToolError::new(ErrorCode::NotFound, format!("{kind} {id} not found"))
                .with_field(field)
                .with_hint(hint)
        }
        CatalogError::Conflict(m) if m.contains("is archived") => ToolError::new(ErrorCode::Conflict, m)
            .with_field("package_id")
            .with_hint("clone_package makes an active copy to schedule"),
        CatalogError::Conflict(m) if m.starts_with("cluster ") => ToolError::new(ErrorCode::Conflict, m)
            .with_field("cluster_id")
            .with_hint("list_clusters shows the clusters that can run it"),
        CatalogError::Conflict(m) if m.contains("changed since it was read") => {
            ToolError::new(ErrorCode::Conflict, m)
                .with_field("expected_version")
                .with_hint("get_schedule shows the current version; re-read it, apply your change to it, and send that version")
        }
        other => other.into(),
    }
}
