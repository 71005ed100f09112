//! Runs of packages, from the queue to their end.
//!
//! A run is queued by a person (`run_package`, `retry_job`: [`control`]), claimed by a
//! worker process, kept alive by its heartbeats, and ended `completed`, `failed` or
//! `cancelled` with its progress, its structured error and its log ([`queue`], [`log`]).
//! A run whose worker stops heartbeating is failed by the reaper, never run again on its
//! own: only a retry (a new run, the original kept) runs it again.
//!
//! Claiming is the one place two workers could race: on PostgreSQL the oldest queued run
//! is locked with `FOR UPDATE SKIP LOCKED`, so concurrent workers take different runs; on
//! SQLite the claim is one `UPDATE … RETURNING` inside the store's single writer.
//!
//! Statuses: `queued` → `running` → `completed` | `failed` | `cancelled`; a queued run can
//! also go straight to `cancelled`.
//!
//! What people and the reaper do is audited (`run.submit`, `run.cancel`, `run.retry`,
//! `run.lost`); a worker's claim, heartbeats and finish are recorded on the run itself
//! (its times, `worker_id`, progress and log), not as audit events.

mod control;
mod log;
mod queue;
mod read;
mod record;
mod variables;
mod workers;

use serde::Serialize;
use serde_json::Value;

pub use control::RunSubmission;
pub(crate) use control::{check_cluster, check_runnable, queue_scheduled, ScheduleSlot};
pub use queue::{ClaimedRun, RunControl, RunOutcome};
pub use read::{LogLine, RunDetail, RunFilter, RunSummary};
pub use record::NewRun;
pub(crate) use variables::{check as check_variables, parse as parse_variables};
pub use workers::{WorkerInfo, LIVE_FOR_MS};

/// Every status a run can have.
pub const STATUSES: &[&str] = &["queued", "running", "completed", "failed", "cancelled"];

/// How a run may end ([`RunOutcome::status`]).
pub const FINAL_STATUSES: &[&str] = &["completed", "failed", "cancelled"];

/// The most log lines a run keeps: the newest ones.
pub const MAX_LOG_LINES: i64 = 10_000;

/// The failure categories a structured error names.
pub const CATEGORIES: &[&str] = &[
    "auth",
    "connection",
    "schema",
    "expression",
    "data",
    "resource",
    "cancelled",
    "internal",
];

/// A run's primary error as it is stored (`error_json`): what went wrong, where, and what
/// to change. Built here for the failures the control plane itself decides (a lost
/// worker, a cancelled queued run); workers store the engine's own.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub(crate) struct StoredError<'a> {
    pub category: &'a str,
    pub component: Option<&'a str>,
    pub property: Option<&'a str>,
    pub message: String,
    pub hint: &'a str,
}

impl StoredError<'_> {
    pub fn to_json(&self) -> String {
        serde_json::to_value(self)
            .unwrap_or(Value::Null)
            .to_string()
    }
}
