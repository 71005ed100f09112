//! Schedules: a cron expression, read in a time zone, that runs a package.
//!
//! - [`timing`]: when a schedule fires (croner; pure, no clock).
//! - [`authoring`]: create, update, enable/disable and delete, each in one transaction,
//!   versioned (`version` + `schedule_versions`) and audited like package mutations.
//! - [`firing`]: the scheduler's side. A slot is claimed in the store by moving the
//!   schedule's `next_run_at` on from exactly that slot (compare-and-set, with the row
//!   locked on PostgreSQL), in the same transaction as the run it starts; a unique index
//!   on `runs(schedule_id, scheduled_for)` backs it. So any number of replicas sharing one
//!   store start at most one run per slot.
//!
//! Policies: `missed_policy` (`run_once`, the default, or `skip`) decides what slots
//! missed while no scheduler ran become; `overlap_policy` (`skip`, the default, or
//! `queue`) decides what a slot does while the schedule's previous run is still queued or
//! running. Skips are written to the schedule's log (`schedule_log`, newest
//! [`MAX_LOG_ENTRIES`] kept).

mod authoring;
mod firing;
pub mod timing;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{any::AnyRow, Row};

pub use authoring::{ScheduleChange, ScheduleEdit, ScheduleSpec};
pub use firing::Firing;
pub use timing::Timing;

use crate::{store::Filters, CatalogError, Page, PageRequest, Result, Store};

/// What slots missed while no scheduler ran become: one run for all of them, or none.
pub const MISSED_POLICIES: &[&str] = &["run_once", "skip"];
/// What a slot does while the previous run is still going: nothing, or wait its turn.
pub const OVERLAP_POLICIES: &[&str] = &["skip", "queue"];
/// The most schedules an account may have.
pub const MAX_SCHEDULES_PER_ACCOUNT: i64 = 1_000;
/// The most runs of one schedule waiting in the queue under overlap `queue`; a slot beyond
/// is skipped (and logged), so a schedule faster than its runs cannot grow the queue
/// without bound.
pub const MAX_QUEUED_PER_SCHEDULE: i64 = 100;
/// The newest log entries a schedule keeps.
pub const MAX_LOG_ENTRIES: i64 = 100;
/// What a variable whose name says it is secret shows instead of its value.
pub const MASK: &str = "********";

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Schedule {
    pub id: i64,
    pub name: String,
    pub package_id: i64,
    pub cron: String,
    pub time_zone: String,
    pub enabled: bool,
    /// Values for the package's variables; secret-named ones masked.
    pub variables: Value,
    pub cluster_id: Option<i64>,
    /// `run_once` or `skip`: slots missed while no scheduler ran.
    pub missed_policy: String,
    /// `skip` or `queue`: a slot while the previous run is still going.
    pub overlap_policy: String,
    pub version: i64,
    pub next_run_at: Option<String>,
    pub last_run_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl Schedule {
    /// The next [`authoring::NEXT_FIRE_TIMES`] fire times after `now`, on the schedule's
    /// wall clock; none while it is disabled (or its cron cannot be read).
    pub fn next_fire_times(&self, now: i64) -> Vec<String> {
        match (self.enabled, Timing::parse(&self.cron, &self.time_zone)) {
            (true, Ok(t)) => t
                .fire_times(now, authoring::NEXT_FIRE_TIMES)
                .into_iter()
                .map(|at| t.local(at))
                .collect(),
            _ => vec![],
        }
    }
}

/// A run a schedule started, as `get_schedule` lists it.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct ScheduledRun {
    pub run_id: i64,
    pub status: String,
    /// The slot it ran for.
    pub scheduled_for: Option<String>,
    pub created_at: String,
}

/// One line of a schedule's log: a slot it skipped, or missed slots it caught up on.
#[derive(Debug, Clone, Serialize, JsonSchema, PartialEq)]
pub struct ScheduleLogEntry {
    pub at: String,
    pub slot: Option<String>,
    pub message: String,
}

const COLS: &str = "id, name, package_id, cron, time_zone, enabled, variables_json, cluster_id, missed_policy, overlap_policy, version, next_run_at, last_run_at, created_at, updated_at";

/// `vars` with the values of secret-named variables masked.
pub(crate) fn masked(vars: &Map<String, Value>) -> Value {
    Value::Object(
        vars.iter()
            .map(|(k, v)| {
                let v = if connectors::redact::is_secret_name(k) {
                    Value::String(MASK.into())
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect(),
    )
}

fn from_row(r: &AnyRow) -> Result<Schedule> {
    let vars = crate::runs::parse_variables(&r.try_get::<String, _>("variables_json")?);
    Ok(Schedule {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        package_id: r.try_get("package_id")?,
        cron: r.try_get("cron")?,
        time_zone: r.try_get("time_zone")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        variables: masked(&vars),
        cluster_id: r.try_get("cluster_id")?,
        missed_policy: r.try_get("missed_policy")?,
        overlap_policy: r.try_get("overlap_policy")?,
        version: r.try_get("version")?,
        next_run_at: crate::time::rfc3339_opt(r.try_get("next_run_at")?),
        last_run_at: crate::time::rfc3339_opt(r.try_get("last_run_at")?),
        created_at: crate::time::rfc3339(r.try_get("created_at")?),
        updated_at: crate::time::rfc3339(r.try_get("updated_at")?),
    })
}

impl Store {
    pub async fn list_schedules(
        &self,
        account_id: i64,
        package_id: Option<i64>,
        enabled: Option<bool>,
        page: PageRequest,
    ) -> Result<Page<Schedule>> {
        let mut f = Filters::default();
        f.int("account_id = {}", account_id);
        if let Some(p) = package_id {
            f.int("package_id = {}", p);
        }
        if let Some(e) = enabled {
            f.int("enabled = {}", i64::from(e));
        }
        f.page(&self.pool, (COLS, "schedules", "id"), page, from_row)
            .await
    }

    pub async fn schedule(&self, account_id: i64, id: i64) -> Result<Schedule> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM schedules WHERE id = $1 AND account_id = $2"
        )))
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::not_found("schedule", id))?;
        from_row(&row)
    }

    /// The newest `runs` runs a schedule started and its newest `log` log entries, newest
    /// first.
    pub async fn schedule_activity(
        &self,
        account_id: i64,
        id: i64,
        runs: i64,
        log: i64,
    ) -> Result<(Vec<ScheduledRun>, Vec<ScheduleLogEntry>)> {
        let run_rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, status, scheduled_for, created_at FROM runs \
             WHERE schedule_id = $1 AND account_id = $2 ORDER BY scheduled_for DESC, id DESC LIMIT {}",
            runs.clamp(0, 100)
        )))
        .bind(id)
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        let log_rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT l.at, l.slot_at, l.message FROM schedule_log l \
             JOIN schedules s ON s.id = l.schedule_id \
             WHERE l.schedule_id = $1 AND s.account_id = $2 ORDER BY l.id DESC LIMIT {}",
            log.clamp(0, MAX_LOG_ENTRIES)
        )))
        .bind(id)
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        let runs = run_rows
            .iter()
            .map(|r| {
                Ok(ScheduledRun {
                    run_id: r.try_get("id")?,
                    status: r.try_get("status")?,
                    scheduled_for: crate::time::rfc3339_opt(r.try_get("scheduled_for")?),
                    created_at: crate::time::rfc3339(r.try_get("created_at")?),
                })
            })
            .collect::<Result<_>>()?;
        let log = log_rows
            .iter()
            .map(|r| {
                Ok(ScheduleLogEntry {
                    at: crate::time::rfc3339(r.try_get("at")?),
                    slot: crate::time::rfc3339_opt(r.try_get("slot_at")?),
                    message: r.try_get("message")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((runs, log))
    }
}
