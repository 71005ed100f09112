//! Creating, changing, switching and deleting schedules. Each is one transaction that
//! checks, writes the row with `version + 1`, keeps the version whole in
//! `schedule_versions` and records an audit event with a compact diff (secret-named
//! variable values masked), or changes nothing.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sqlx::Row;

use super::{
    masked, timing::Timing, Schedule, MASK, MAX_SCHEDULES_PER_ACCOUNT, MISSED_POLICIES,
    OVERLAP_POLICIES,
};
use crate::{
    audit::{self, Actor, NewEvent},
    diff,
    runs::{check_cluster, check_runnable, check_variables},
    store::Tx,
    time::now_ms,
    CatalogError, Result, Store,
};

/// The longest schedule name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// How many coming fire times a change answers with.
pub const NEXT_FIRE_TIMES: usize = 3;

/// A new schedule. `None` takes the default: time zone `UTC`, `missed_policy`
/// `run_once`, `overlap_policy` `skip`.
#[derive(Debug, Clone)]
pub struct ScheduleSpec {
    pub package_id: i64,
    pub name: String,
    pub cron: String,
    pub time_zone: Option<String>,
    pub enabled: bool,
    pub variables: Map<String, Value>,
    pub cluster_id: Option<i64>,
    pub missed_policy: Option<String>,
    pub overlap_policy: Option<String>,
}

/// A change to a schedule: what is `Some` is set, the rest kept. `cluster_id:
/// Some(None)` lets any worker run it.
#[derive(Debug, Clone, Default)]
pub struct ScheduleEdit {
    pub name: Option<String>,
    pub cron: Option<String>,
    pub time_zone: Option<String>,
    pub enabled: Option<bool>,
    pub variables: Option<Map<String, Value>>,
    pub cluster_id: Option<Option<i64>>,
    pub missed_policy: Option<String>,
    pub overlap_policy: Option<String>,
}

/// What a schedule mutation answers.
#[derive(Debug, Clone)]
pub struct ScheduleChange {
    pub schedule: Schedule,
    /// False when the schedule already was as asked (nothing written).
    pub changed: bool,
    /// Which settings changed.
    pub fields: Vec<String>,
    /// The next fire times in the schedule's time zone (none while it is disabled).
    pub next_fire_times: Vec<String>,
}

/// Everything a version of a schedule holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct State {
    name: String,
    package_id: i64,
    cron: String,
    time_zone: String,
    enabled: bool,
    variables: Map<String, Value>,
    cluster_id: Option<i64>,
    missed_policy: String,
    overlap_policy: String,
}

impl State {
    /// As the audit trail shows it: secret-named variable values masked.
    fn audited(&self) -> Value {
        let mut v = serde_json::to_value(self).unwrap_or(Value::Null);
        v["variables"] = masked(&self.variables);
        v
    }

    fn check(&self) -> Result<Timing> {
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(CatalogError::invalid(
                "name",
                format!("give the schedule a name of 1 to {MAX_NAME_CHARS} characters"),
            ));
        }
        if !MISSED_POLICIES.contains(&self.missed_policy.as_str()) {
            return Err(CatalogError::invalid(
                "missed_policy",
                "use `run_once` (one run for every slot missed while no scheduler ran; the default) or `skip`",
            ));
        }
        if !OVERLAP_POLICIES.contains(&self.overlap_policy.as_str()) {
            return Err(CatalogError::invalid(
                "overlap_policy",
                "use `skip` (no run while the previous one is still going; the default) or `queue` (the run waits for it)",
            ));
        }
        check_variables("variables", &self.variables)?;
        let timing = Timing::parse(&self.cron, &self.time_zone)?;
        if self.enabled && timing.next_after(now_ms()).is_none() {
            return Err(CatalogError::invalid(
                "cron",
                "this expression never fires again (its year field lies in the past); check its year",
            ));
        }
        Ok(timing)
    }
}

/// The row of one of the account's schedules, locked for the transaction.
struct Current {
    id: i64,
    version: i64,
    next_run_at: Option<i64>,
    state: State,
}

impl Current {
    fn expect(&self, expected_version: Option<i64>) -> Result<()> {
        match expected_version {
            Some(v) if v != self.version => Err(CatalogError::Conflict(format!(
                "schedule {} is at version {}, not {v}: it changed since it was read; read it again and apply the change to version {}",
                self.id, self.version, self.version
            ))),
            _ => Ok(()),
        }
    }
}

impl Store {
    /// Creates a schedule (enabled or not), audited as `schedule.create`, at version 1.
    pub async fn create_schedule(&self, who: &Actor, spec: ScheduleSpec) -> Result<ScheduleChange> {
        let state = State {
            name: spec.name.trim().to_string(),
            package_id: spec.package_id,
            cron: spec.cron.trim().to_string(),
            time_zone: spec
                .time_zone
                .unwrap_or_else(|| "UTC".into())
                .trim()
                .to_string(),
            enabled: spec.enabled,
            variables: spec.variables,
            cluster_id: spec.cluster_id,
            missed_policy: spec.missed_policy.unwrap_or_else(|| "run_once".into()),
            overlap_policy: spec.overlap_policy.unwrap_or_else(|| "skip".into()),
        };
        let timing = state.check()?;
        let mut tx = self.begin().await?;
        let r = async {
            // The account row first, so concurrent creates count one after another.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id FROM accounts WHERE id = $1{}",
                self.for_update()
            )))
            .bind(who.account_id)
            .fetch_optional(&mut *tx)
            .await?;
            let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schedules WHERE account_id = $1")
                .bind(who.account_id)
                .fetch_one(&mut *tx)
                .await?;
            if count >= MAX_SCHEDULES_PER_ACCOUNT {
                return Err(CatalogError::Conflict(format!(
                    "this account has {count} schedules, the most it may have; delete ones it no longer needs (delete_schedule)"
                )));
            }
            check_runnable(&mut tx, who.account_id, state.package_id, state.cluster_id, self.for_share()).await?;
            let now = now_ms();
            let next = if state.enabled { timing.next_after(now) } else { None };
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO schedules (account_id, package_id, name, cron, time_zone, enabled, variables_json, cluster_id, \
                 missed_policy, overlap_policy, version, next_run_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $12) RETURNING id",
            )
            .bind(who.account_id)
            .bind(state.package_id)
            .bind(&state.name)
            .bind(&state.cron)
            .bind(&state.time_zone)
            .bind(i64::from(state.enabled))
            .bind(Value::Object(state.variables.clone()).to_string())
            .bind(state.cluster_id)
            .bind(&state.missed_policy)
            .bind(&state.overlap_policy)
            .bind(next)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            let d = diff::diff(&json!({}), &state.audited());
            let fields = d.top_level();
            let event = audit::record(
                &mut tx,
                NewEvent::new(who, "schedule.create", "schedule", Some(id))
                    .after(Value::Object(d.after)),
            )
            .await?;
            keep_version(&mut tx, id, 1, &state, now, event).await?;
            Ok::<_, CatalogError>((id, fields))
        }
        .await;
        let (id, fields) = tx.finish(r).await?;
        self.answer(who.account_id, id, true, fields).await
    }

    /// Applies `edit` to a schedule as version + 1, audited as `schedule.update` (or
    /// `schedule.enable` / `schedule.disable` when only that changes). Nothing is written
    /// when nothing differs. A changed cron or time zone, or enabling, sets the next fire
    /// time from now; disabling clears it. Enabling refuses a schedule whose package is
    /// archived.
    pub async fn update_schedule(
        &self,
        who: &Actor,
        id: i64,
        expected_version: Option<i64>,
        edit: ScheduleEdit,
    ) -> Result<ScheduleChange> {
        let mut tx = self.begin().await?;
        let r = async {
            // Package row first, then the schedule: the order `archive_package` locks them
            // in, so a schedule is never switched on for a package being archived.
            let package_id: Option<i64> = sqlx::query_scalar(
                "SELECT package_id FROM schedules WHERE id = $1 AND account_id = $2",
            )
            .bind(id)
            .bind(who.account_id)
            .fetch_optional(&mut *tx)
            .await?;
            let package_id = package_id.ok_or_else(|| CatalogError::not_found("schedule", id))?;
            // FOR SHARE, not FOR UPDATE: it still waits for an archive in progress, but
            // lets a scheduler holding this schedule insert a run of the package (the
            // foreign key's KEY SHARE lock), so the two never deadlock.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT status FROM packages WHERE id = $1{}",
                self.for_share()
            )))
            .bind(package_id)
            .fetch_optional(&mut *tx)
            .await?;
            let current = self.current_schedule(&mut tx, who.account_id, id).await?;
            current.expect(expected_version)?;
            let mut next = current.state.clone();
            apply(&mut next, edit);
            let timing = next.check()?;
            match next.cluster_id {
                // A disabled schedule may keep an archived package or a cluster that went
                // away since, but not be pointed at one that is not there.
                Some(cluster) if !next.enabled && next.cluster_id != current.state.cluster_id => {
                    check_cluster(&mut tx, who.account_id, cluster).await?
                }
                _ => {}
            }
            if next == current.state {
                return Ok((false, vec![]));
            }
            if next.enabled {
                check_runnable(&mut tx, who.account_id, package_id, next.cluster_id, self.for_share()).await?;
            }
            let d = diff::diff(&current.state.audited(), &next.audited());
            let mut fields = d.top_level();
            if fields.is_empty() {
                // Only a secret-named variable's value changed (masked in the diff).
                fields.push("variables".into());
            }
            let retimed = next.enabled
                && (!current.state.enabled
                    || current.next_run_at.is_none()
                    || next.cron != current.state.cron
                    || next.time_zone != current.state.time_zone);
            let now = now_ms();
            let next_run_at = match (next.enabled, retimed) {
                (false, _) => None,
                (true, true) => timing.next_after(now),
                (true, false) => current.next_run_at,
            };
            let version = current.version + 1;
            let updated = sqlx::query(
                "UPDATE schedules SET name = $1, cron = $2, time_zone = $3, enabled = $4, variables_json = $5, cluster_id = $6, \
                 missed_policy = $7, overlap_policy = $8, version = $9, next_run_at = $10, updated_at = $11 \
                 WHERE id = $12 AND version = $13",
            )
            .bind(&next.name)
            .bind(&next.cron)
            .bind(&next.time_zone)
            .bind(i64::from(next.enabled))
            .bind(Value::Object(next.variables.clone()).to_string())
            .bind(next.cluster_id)
            .bind(&next.missed_policy)
            .bind(&next.overlap_policy)
            .bind(version)
            .bind(next_run_at)
            .bind(now)
            .bind(id)
            .bind(current.version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated != 1 {
                return Err(CatalogError::Conflict(format!(
                    "schedule {id} changed while it was being edited; read it again and retry"
                )));
            }
            let action = match fields.as_slice() {
                [only] if only == "enabled" && next.enabled => "schedule.enable",
                [only] if only == "enabled" => "schedule.disable",
                _ => "schedule.update",
            };
            let event = audit::record(
                &mut tx,
                NewEvent::new(who, action, "schedule", Some(id))
                    .before(Value::Object(d.before))
                    .after(Value::Object(d.after)),
            )
            .await?;
            keep_version(&mut tx, id, version, &next, now, event).await?;
            Ok::<_, CatalogError>((true, fields))
        }
        .await;
        let (changed, fields) = tx.finish(r).await?;
        self.answer(who.account_id, id, changed, fields).await
    }

    /// Enables or disables a schedule: [`Store::update_schedule`] with only `enabled`
    /// (idempotent: `changed: false` when it already was).
    pub async fn toggle_schedule(
        &self,
        who: &Actor,
        id: i64,
        enabled: bool,
    ) -> Result<ScheduleChange> {
        let edit = ScheduleEdit {
            enabled: Some(enabled),
            ..ScheduleEdit::default()
        };
        self.update_schedule(who, id, None, edit).await
    }

    /// Deletes a schedule, audited as `schedule.delete` with everything it held (its
    /// versions stay in `schedule_versions`; runs it started keep its id). Runs it
    /// started are not touched. Returns the schedule as it was.
    pub async fn delete_schedule(
        &self,
        who: &Actor,
        id: i64,
        expected_version: Option<i64>,
    ) -> Result<Schedule> {
        let before = self.schedule(who.account_id, id).await?;
        let mut tx = self.begin().await?;
        let r = async {
            let current = self.current_schedule(&mut tx, who.account_id, id).await?;
            current.expect(expected_version)?;
            sqlx::query("DELETE FROM schedules WHERE id = $1 AND version = $2")
                .bind(id)
                .bind(current.version)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM schedule_log WHERE schedule_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            audit::record(
                &mut tx,
                NewEvent::new(who, "schedule.delete", "schedule", Some(id))
                    .before(current.state.audited())
                    .after(json!({"version": current.version + 1, "deleted": true})),
            )
            .await?;
            Ok::<_, CatalogError>(())
        }
        .await;
        tx.finish(r).await?;
        Ok(before)
    }

    /// Reads and locks one of the account's schedules inside `tx`.
    async fn current_schedule(&self, tx: &mut Tx, account_id: i64, id: i64) -> Result<Current> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT version, next_run_at, name, package_id, cron, time_zone, enabled, variables_json, cluster_id, \
             missed_policy, overlap_policy FROM schedules WHERE id = $1 AND account_id = $2{}",
            self.for_update()
        )))
        .bind(id)
        .bind(account_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| CatalogError::not_found("schedule", id))?;
        Ok(Current {
            id,
            version: row.try_get("version")?,
            next_run_at: row.try_get("next_run_at")?,
            state: State {
                name: row.try_get("name")?,
                package_id: row.try_get("package_id")?,
                cron: row.try_get("cron")?,
                time_zone: row.try_get("time_zone")?,
                enabled: row.try_get::<i64, _>("enabled")? != 0,
                variables: crate::runs::parse_variables(
                    &row.try_get::<String, _>("variables_json")?,
                ),
                cluster_id: row.try_get("cluster_id")?,
                missed_policy: row.try_get("missed_policy")?,
                overlap_policy: row.try_get("overlap_policy")?,
            },
        })
    }

    async fn answer(
        &self,
        account_id: i64,
        id: i64,
        changed: bool,
        fields: Vec<String>,
    ) -> Result<ScheduleChange> {
        let schedule = self.schedule(account_id, id).await?;
        let next_fire_times = schedule.next_fire_times(now_ms());
        Ok(ScheduleChange {
            schedule,
            changed,
            fields,
            next_fire_times,
        })
    }
}

fn apply(s: &mut State, e: ScheduleEdit) {
    if let Some(v) = e.name {
        s.name = v.trim().to_string();
    }
    if let Some(v) = e.cron {
        s.cron = v.trim().to_string();
    }
    if let Some(v) = e.time_zone {
        s.time_zone = v.trim().to_string();
    }
    if let Some(v) = e.enabled {
        s.enabled = v;
    }
    if let Some(mut v) = e.variables {
        // A secret-named value shown masked and sent back as it was shown keeps its value.
        for (name, value) in v.iter_mut() {
            if value.as_str() == Some(MASK) {
                if let Some(kept) = s.variables.get(name) {
                    *value = kept.clone();
                }
            }
        }
        s.variables = v;
    }
    if let Some(v) = e.cluster_id {
        s.cluster_id = v;
    }
    if let Some(v) = e.missed_policy {
        s.missed_policy = v;
    }
    if let Some(v) = e.overlap_policy {
        s.overlap_policy = v;
    }
}

async fn keep_version(
    tx: &mut Tx,
    schedule_id: i64,
    version: i64,
    s: &State,
    at: i64,
    event: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO schedule_versions (schedule_id, version, state_json, created_at, audit_event_id) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(schedule_id)
    .bind(version)
    // Masked like the audit trail: a version outlives a rotated or deleted secret.
    .bind(s.audited().to_string())
    .bind(at)
    .bind(event)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
