//! What people do to runs: submit one, cancel one, retry one. Each is one transaction
//! that checks, writes and records its audit event (`run.submit`, `run.cancel`,
//! `run.retry`).

use serde_json::{json, Map, Value};
use sqlx::Row;

use super::{read::RunDetail, variables, StoredError};
use crate::{
    audit::{self, Actor, NewEvent},
    store::Tx,
    time::now_ms,
    CatalogError, Result, Store,
};

/// A request to run a package.
pub struct RunSubmission<'a> {
    pub actor: Actor,
    pub package_id: i64,
    /// The cluster to run on; `None` lets any worker take it.
    pub cluster_id: Option<i64>,
    /// Values for the package's variables (overriding their defaults).
    pub variables: &'a Map<String, Value>,
    pub dynamic_variables: &'a Map<String, Value>,
    /// The run this one retries, if any.
    pub parent_run_id: Option<i64>,
}

/// A run about to be queued, its variables already serialised.
struct Queued<'a> {
    package_id: i64,
    cluster_id: Option<i64>,
    variables_json: &'a str,
    dynamic_variables_json: &'a str,
    parent_run_id: Option<i64>,
}

impl Store {
    /// Queues a run of a package, audited as `run.submit`. Not found for a package or
    /// cluster of another account; refused for an archived package or a terminated
    /// cluster.
    pub async fn submit_run(&self, s: RunSubmission<'_>) -> Result<i64> {
        variables::check("variables", s.variables)?;
        variables::check("dynamic_variables", s.dynamic_variables)?;
        let (vars, dynamic) = (
            Value::Object(s.variables.clone()).to_string(),
            Value::Object(s.dynamic_variables.clone()).to_string(),
        );
        let mut tx = self.begin().await?;
        let r = async {
            if let Some(parent) = s.parent_run_id {
                run_status(&mut tx, s.actor.account_id, parent, "").await?;
            }
            let id = queue(
                &mut tx,
                &s.actor,
                Queued {
                    package_id: s.package_id,
                    cluster_id: s.cluster_id,
                    variables_json: &vars,
                    dynamic_variables_json: &dynamic,
                    parent_run_id: s.parent_run_id,
                },
            )
            .await?;
            let event = NewEvent::new(&s.actor, "run.submit", "run", Some(id)).after(json!({
                "package_id": s.package_id,
                "cluster_id": s.cluster_id,
                "parent_run_id": s.parent_run_id,
                // Names only: values can be sensitive.
                "variables": s.variables.keys().collect::<Vec<_>>(),
                "dynamic_variables": s.dynamic_variables.keys().collect::<Vec<_>>(),
            }));
            audit::record(&mut tx, event).await?;
            Ok(id)
        }
        .await;
        tx.finish(r).await
    }

    /// Cancels a run: a queued one at once; a running one is asked to stop
    /// (`cancel_requested`; it stays `running` until its worker ends it as `cancelled`); a
    /// finished one is left as it is. Audited when something changed. Returns the run.
    pub async fn cancel_run(&self, actor: Actor, run_id: i64) -> Result<RunDetail> {
        let mut tx = self.begin().await?;
        let r = async {
            let for_update = self.for_update();
            let (status, requested) =
                run_status(&mut tx, actor.account_id, run_id, for_update).await?;
            let change = match status.as_str() {
                "queued" => {
                    let error = StoredError {
                        category: "cancelled",
                        component: None,
                        property: None,
                        message: "the run was cancelled before a worker started it".into(),
                        hint: "start it again with run_package or retry_job when you want it to run",
                    };
                    sqlx::query(
                        "UPDATE runs SET status = 'cancelled', cancel_requested = 1, error_json = $1, completed_at = $2 WHERE id = $3",
                    )
                    .bind(error.to_json())
                    .bind(now_ms())
                    .bind(run_id)
                    .execute(&mut *tx)
                    .await?;
                    Some((json!({"status": "queued"}), json!({"status": "cancelled"})))
                }
                "running" if !requested => {
                    sqlx::query("UPDATE runs SET cancel_requested = 1 WHERE id = $1")
                        .bind(run_id)
                        .execute(&mut *tx)
                        .await?;
                    Some((
                        json!({"cancel_requested": false}),
                        json!({"cancel_requested": true}),
                    ))
                }
                _ => None,
            };
            if let Some((before, after)) = change {
                let event = NewEvent::new(&actor, "run.cancel", "run", Some(run_id))
                    .before(before)
                    .after(after);
                audit::record(&mut tx, event).await?;
            }
            Ok::<_, CatalogError>(())
        }
        .await;
        tx.finish(r).await?;
        self.get_run(actor.account_id, run_id, 0).await
    }

    /// Queues a new run of a failed or cancelled run's package with the same variables,
    /// on `cluster_id` or the original's cluster, with `parent_run_id` = the original
    /// (which is kept). Audited as `run.retry`. Refused (conflict) for other statuses.
    pub async fn retry_run(
        &self,
        actor: Actor,
        run_id: i64,
        cluster_id: Option<i64>,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let r = async {
            let original = sqlx::query(
                "SELECT status, package_id, cluster_id, variables_json, dynamic_variables_json \
                 FROM runs WHERE id = $1 AND account_id = $2",
            )
            .bind(run_id)
            .bind(actor.account_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| CatalogError::not_found("run", run_id))?;
            let status: String = original.try_get("status")?;
            if !matches!(status.as_str(), "failed" | "cancelled") {
                return Err(CatalogError::Conflict(match status.as_str() {
                    "queued" | "running" => format!(
                        "run {run_id} is {status}, not failed or cancelled: wait for it to end (get_run), or cancel_job it first"
                    ),
                    _ => format!(
                        "run {run_id} is {status}, not failed or cancelled: only those can be retried; run_package starts a new run"
                    ),
                }));
            }
            let package_id: i64 = original.try_get("package_id")?;
            let cluster_id = match cluster_id {
                Some(c) => Some(c),
                None => original.try_get("cluster_id")?,
            };
            let vars: String = original.try_get("variables_json")?;
            let dynamic: String = original.try_get("dynamic_variables_json")?;
            let id = queue(
                &mut tx,
                &actor,
                Queued {
                    package_id,
                    cluster_id,
                    variables_json: &vars,
                    dynamic_variables_json: &dynamic,
                    parent_run_id: Some(run_id),
                },
            )
            .await?;
            let event = NewEvent::new(&actor, "run.retry", "run", Some(id)).after(json!({
                "retry_of": run_id,
                "package_id": package_id,
                "cluster_id": cluster_id,
            }));
            audit::record(&mut tx, event).await?;
            Ok(id)
        }
        .await;
        tx.finish(r).await
    }
}

/// The status and `cancel_requested` of one of the account's runs, read (and locked with
/// `lock`) inside `tx`.
async fn run_status(
    tx: &mut Tx,
    account_id: i64,
    run_id: i64,
    lock: &str,
) -> Result<(String, bool)> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT status, cancel_requested FROM runs WHERE id = $1 AND account_id = $2{lock}"
    )))
    .bind(run_id)
    .bind(account_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| CatalogError::not_found("run", run_id))?;
    Ok((
        row.try_get("status")?,
        row.try_get::<i64, _>("cancel_requested")? != 0,
    ))
}

/// Refuses a package or cluster that is not the account's (not found) or cannot run (an
/// archived package, a terminated cluster); `lock` (` FOR UPDATE` or nothing) locks the
/// package row for the rest of the transaction.
pub(crate) async fn check_runnable(
    tx: &mut Tx,
    account_id: i64,
    package_id: i64,
    cluster_id: Option<i64>,
    lock: &str,
) -> Result<()> {
    let status: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT status FROM packages WHERE id = $1 AND account_id = $2{lock}"
    )))
    .bind(package_id)
    .bind(account_id)
    .fetch_optional(&mut **tx)
    .await?;
    match status.as_deref() {
        None => return Err(CatalogError::not_found("package", package_id)),
        Some("archived") => {
            return Err(CatalogError::Conflict(format!(
                "package {package_id} is archived, and archived packages do not run; clone_package makes an active copy"
            )))
        }
        Some(_) => {}
    }
    match cluster_id {
        Some(cluster_id) => check_cluster(tx, account_id, cluster_id).await,
        None => Ok(()),
    }
}

/// Refuses a cluster that is not the account's (not found) or is going away.
pub(crate) async fn check_cluster(tx: &mut Tx, account_id: i64, cluster_id: i64) -> Result<()> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM clusters WHERE id = $1 AND account_id = $2")
            .bind(cluster_id)
            .bind(account_id)
            .fetch_optional(&mut **tx)
            .await?;
    match status.as_deref() {
        None => Err(CatalogError::not_found("cluster", cluster_id)),
        Some(s @ ("terminated" | "terminating")) => Err(CatalogError::Conflict(format!(
            "cluster {cluster_id} is {s}; pick another one (list_clusters), or place it on no cluster so any worker runs it"
        ))),
        Some(_) => Ok(()),
    }
}

/// Inserts a queued run after checking that its package and cluster are the actor's
/// account's and can run.
async fn queue(tx: &mut Tx, actor: &Actor, q: Queued<'_>) -> Result<i64> {
    check_runnable(tx, actor.account_id, q.package_id, q.cluster_id, "").await?;
    insert_queued(tx, actor.account_id, &q, None)
        .await?
        .ok_or_else(|| CatalogError::Store("the run was not queued".into()))
}

/// Which schedule slot a run is for, and the run it waits for (overlap `queue`).
pub(crate) struct ScheduleSlot {
    pub schedule_id: i64,
    pub scheduled_for: i64,
    pub after_run_id: Option<i64>,
}

/// Queues a run a schedule starts for one of its slots, checked as any run is; `None`
/// when that slot already has its run.
pub(crate) async fn queue_scheduled(
    tx: &mut Tx,
    account_id: i64,
    package_id: i64,
    cluster_id: Option<i64>,
    variables_json: &str,
    slot: ScheduleSlot,
) -> Result<Option<i64>> {
    check_runnable(tx, account_id, package_id, cluster_id, "").await?;
    let q = Queued {
        package_id,
        cluster_id,
        variables_json,
        dynamic_variables_json: "{}",
        parent_run_id: None,
    };
    insert_queued(tx, account_id, &q, Some(slot)).await
}

/// Inserts the queued run; `None` when its schedule slot already has one (the unique
/// index on `runs(schedule_id, scheduled_for)`; never for a run without a slot).
async fn insert_queued(
    tx: &mut Tx,
    account_id: i64,
    q: &Queued<'_>,
    slot: Option<ScheduleSlot>,
) -> Result<Option<i64>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO runs (account_id, package_id, cluster_id, parent_run_id, status, variables_json, dynamic_variables_json, created_at, \
         schedule_id, scheduled_for, after_run_id) \
         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(account_id)
    .bind(q.package_id)
    .bind(q.cluster_id)
    .bind(q.parent_run_id)
    .bind(q.variables_json)
    .bind(q.dynamic_variables_json)
    .bind(now_ms())
    .bind(slot.as_ref().map(|s| s.schedule_id))
    .bind(slot.as_ref().map(|s| s.scheduled_for))
    .bind(slot.as_ref().and_then(|s| s.after_run_id))
    .fetch_optional(&mut **tx)
    .await?;
    Ok(id)
}
