//! The scheduler's side: which schedules are due, and firing one slot of one schedule.
//!
//! Firing is one transaction: read the schedule (locked with `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so a replica passes over a schedule another is firing), decide what the due
//! slot becomes (a run, a skip, or one run for many missed slots), queue the run, and move
//! `next_run_at` on from exactly the slot read (compare-and-set). Whoever loses a race
//! changes nothing; the unique index on `runs(schedule_id, scheduled_for)` backs it.

use sqlx::Row;

use super::{timing::Timing, MAX_LOG_ENTRIES, MAX_QUEUED_PER_SCHEDULE};
use crate::{
    runs::{queue_scheduled, ScheduleSlot},
    store::{Backend, Tx},
    time::{now_ms, rfc3339},
    CatalogError, Result, Store,
};

/// The most missed slots counted one by one (beyond, the log says "or more").
const MAX_COUNTED: usize = 1_000;

/// What firing a due slot did.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub schedule_id: i64,
    /// The slot fired (for missed slots, the newest of them).
    pub slot: i64,
    /// The run it queued, if any.
    pub run_id: Option<i64>,
    /// What it wrote to the schedule's log (a skip, missed slots, a refusal).
    pub logged: Option<String>,
    /// The schedule's next fire time now.
    pub next_run_at: Option<i64>,
}

impl Store {
    /// Enabled schedules whose next fire time is at or before `now`, oldest slot first.
    pub async fn due_schedules(&self, now: i64, limit: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM schedules WHERE enabled = 1 AND next_run_at <= $1 ORDER BY next_run_at, id LIMIT {}",
            limit.clamp(1, 10_000)
        )))
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Gives every enabled schedule that has no next fire time (rows written before
    /// schedules fired) its first one after `now`; how many it set.
    pub async fn schedule_unscheduled(&self, now: i64) -> Result<usize> {
        let rows = sqlx::query(
            "SELECT id, cron, time_zone FROM schedules WHERE enabled = 1 AND next_run_at IS NULL",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut set = 0;
        for r in rows {
            let Ok(timing) = Timing::parse(
                &r.try_get::<String, _>("cron")?,
                &r.try_get::<String, _>("time_zone")?,
            ) else {
                continue;
            };
            let mut tx = self.begin().await?;
            let done = sqlx::query(
                "UPDATE schedules SET next_run_at = $1 WHERE id = $2 AND next_run_at IS NULL",
            )
            .bind(timing.next_after(now))
            .bind(r.try_get::<i64, _>("id")?)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            set += done as usize;
        }
        Ok(set)
    }

    /// The earliest next fire time of any enabled schedule.
    pub async fn next_fire_at(&self) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT MIN(next_run_at) FROM schedules WHERE enabled = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Fires the due slot of schedule `id` as of `now`, or does nothing (`None`) when it
    /// is not due, disabled, gone, or being fired by another replica.
    ///
    /// A slot older than `misfire_after_ms` was missed while no scheduler ran: every due
    /// slot up to `now` is then handled at once by the schedule's `missed_policy` (one
    /// run for the newest, or none), logged, and the next fire time is the first after
    /// `now`. Otherwise the oldest due slot fires alone (a scheduler that fell a little
    /// behind catches up slot by slot). A slot while the schedule's previous run is still
    /// queued or running follows `overlap_policy`: `skip` (logged) or `queue` (the run
    /// waits for the previous one).
    pub async fn fire_schedule(
        &self,
        id: i64,
        now: i64,
        misfire_after_ms: i64,
    ) -> Result<Option<Firing>> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin().await?;
        let r = async {
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT account_id, package_id, cron, time_zone, variables_json, cluster_id, missed_policy, overlap_policy, next_run_at \
                 FROM schedules WHERE id = $1 AND enabled = 1 AND next_run_at <= $2{lock}"
            )))
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            else {
                return Ok(None);
            };
            let slot: i64 = row.try_get("next_run_at")?;
            let timing = match Timing::parse(
                &row.try_get::<String, _>("cron")?,
                &row.try_get::<String, _>("time_zone")?,
            ) {
                Ok(t) => t,
                Err(e) => {
                    // Only rows written before cron was checked can hold one; stop firing
                    // it rather than retry it forever.
                    let message = format!("the schedule stopped firing: {e}; fix it with update_schedule");
                    if !settle(&mut tx, id, slot, None, None).await? {
                        return Err(lost(id));
                    }
                    log(&mut tx, id, slot, &message).await?;
                    return Ok(Some(Firing { schedule_id: id, slot, run_id: None, logged: Some(message), next_run_at: None }));
                }
            };
            // What the due slot becomes: a run (possibly behind the previous one), or a
            // skip; every skip and every catch-up is noted on the schedule's log.
            let mut notes: Vec<String> = Vec::new();
            let (fired_slot, next, mut runs) = if now - slot > misfire_after_ms {
                let due = timing.fire_times_between(slot, now, MAX_COUNTED);
                let newest = timing.last_at_or_before(now).unwrap_or(slot).max(slot);
                let count = if due.len() >= MAX_COUNTED {
                    format!("{MAX_COUNTED} or more")
                } else {
                    due.len().to_string()
                };
                let run_once = row.try_get::<String, _>("missed_policy")? != "skip";
                notes.push(format!(
                    "{count} slot(s) from {} to {} were missed while no scheduler ran; {}",
                    rfc3339(slot),
                    rfc3339(newest),
                    if run_once { "one run for them all (missed_policy run_once)" } else { "none ran (missed_policy skip)" }
                ));
                (newest, timing.next_after(now), run_once)
            } else {
                (slot, timing.next_after(slot), true)
            };
            let mut after_run_id = None;
            if runs {
                let previous = sqlx::query(
                    "SELECT id, status FROM runs WHERE schedule_id = $1 AND status IN ('queued', 'running') ORDER BY id DESC LIMIT 1",
                )
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(previous) = previous {
                    let (run, status): (i64, String) = (previous.try_get("id")?, previous.try_get("status")?);
                    if row.try_get::<String, _>("overlap_policy")? == "skip" {
                        runs = false;
                        notes.push(format!("slot {} skipped: run {run} is still {status} (overlap_policy skip)", rfc3339(fired_slot)));
                    } else {
                        let queued: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM runs WHERE schedule_id = $1 AND status = 'queued'",
                        )
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                        if queued >= MAX_QUEUED_PER_SCHEDULE {
                            runs = false;
                            notes.push(format!(
                                "slot {} skipped: {queued} runs of this schedule are already queued, the most overlap_policy queue keeps",
                                rfc3339(fired_slot)
                            ));
                        } else {
                            after_run_id = Some(run);
                        }
                    }
                }
            }
            let mut run_id = None;
            if runs {
                // A refusal (package archived, cluster gone) is noted and the slot passes;
                // both are checked before anything is written.
                let queued = queue_scheduled(
                    &mut tx,
                    row.try_get("account_id")?,
                    row.try_get("package_id")?,
                    row.try_get("cluster_id")?,
                    &row.try_get::<String, _>("variables_json")?,
                    ScheduleSlot { schedule_id: id, scheduled_for: fired_slot, after_run_id },
                )
                .await;
                match queued {
                    Ok(Some(run)) => run_id = Some(run),
                    // The slot already has its run (its `next_run_at` was set back to a slot
                    // that ran, by a host whose clock is behind): move past it.
                    Ok(None) => notes.push(format!("slot {} already had its run", rfc3339(fired_slot))),
                    Err(e @ (CatalogError::Conflict(_) | CatalogError::NotFound { .. })) => {
                        notes.push(format!("slot {} did not run: {e}", rfc3339(fired_slot)))
                    }
                    Err(e) => return Err(e),
                }
            }
            // Never back to (or before) the slot just handled, whatever the cron says.
            let next = next.filter(|n| *n > fired_slot).or_else(|| timing.next_after(fired_slot.max(now)));
            if !settle(&mut tx, id, slot, next, run_id.map(|_| fired_slot)).await? {
                return Err(lost(id));
            }
            let logged = (!notes.is_empty()).then(|| notes.join("; "));
            if let Some(message) = &logged {
                log(&mut tx, id, fired_slot, message).await?;
            }
            Ok::<_, CatalogError>(Some(Firing { schedule_id: id, slot: fired_slot, run_id, logged, next_run_at: next }))
        }
        .await;
        match tx.finish(r).await {
            Err(CatalogError::Conflict(m)) if m.ends_with("by another scheduler") => Ok(None),
            other => other,
        }
    }
}

/// Another scheduler fired this slot first: the transaction rolls back, nothing changes.
fn lost(id: i64) -> CatalogError {
    CatalogError::Conflict(format!("schedule {id} was fired by another scheduler"))
}

/// Moves the schedule on from `slot` to `next` (and records `ran_for` as its last run);
/// false when its `next_run_at` is no longer `slot` (another scheduler fired it).
async fn settle(
    tx: &mut Tx,
    id: i64,
    slot: i64,
    next: Option<i64>,
    ran_for: Option<i64>,
) -> Result<bool> {
    let moved = sqlx::query(
        "UPDATE schedules SET next_run_at = $1, last_run_at = COALESCE($2, last_run_at) WHERE id = $3 AND next_run_at = $4",
    )
    .bind(next)
    .bind(ran_for)
    .bind(id)
    .bind(slot)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(moved == 1)
}

/// Appends to the schedule's log, keeping its newest [`MAX_LOG_ENTRIES`].
async fn log(tx: &mut Tx, id: i64, slot: i64, message: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO schedule_log (schedule_id, at, slot_at, message) VALUES ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(now_ms())
    .bind(slot)
    .bind(message)
    .execute(&mut **tx)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM schedule_log WHERE schedule_id = $1 AND id < \
         (SELECT MIN(id) FROM (SELECT id FROM schedule_log WHERE schedule_id = $1 ORDER BY id DESC LIMIT {MAX_LOG_ENTRIES}) newest)"
    )))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
