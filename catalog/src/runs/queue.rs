//! The worker's side of a run: claim the oldest queued run it may take, heartbeat with
//! progress while it runs (and learn whether to stop), finish it; and the reaper, which
//! fails runs whose worker went silent. Every step names the worker, so a worker that
//! lost its run (reaped, or finished by someone else) changes nothing.

use std::time::Duration;

use serde_json::{json, Map, Value};
use sqlx::Row;

use super::{log, variables, workers::WorkerInfo, StoredError, FINAL_STATUSES};
use crate::{
    audit::{self, NewEvent},
    store::Backend,
    time::now_ms,
    CatalogError, Result, Store,
};

/// A run a worker has claimed, with everything it needs to execute it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedRun {
    pub run_id: i64,
    pub account_id: i64,
    pub package_id: i64,
    /// The package version that runs (the current one at the claim).
    pub package_version: i64,
    pub flow_type: String,
    pub data_flow_json: String,
    /// The package's variable defaults overlaid with the run's variables.
    pub variables: Map<String, Value>,
    pub dynamic_variables: Map<String, Value>,
}

/// What a heartbeat tells the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunControl {
    /// Someone asked for the run to stop: end it as `cancelled`.
    pub cancel_requested: bool,
    /// The run is no longer this worker's (reaped, or not running any more): stop at once
    /// and write nothing more. `cancel_requested` is then true as well.
    pub lost: bool,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// `completed`, `failed` or `cancelled`.
    pub status: &'static str,
    pub rows_read: i64,
    pub rows_written: i64,
    /// Per-component progress, as the heartbeats sent it.
    pub progress: Value,
    /// The primary error: `{category, component, property, message, hint}`.
    pub error: Option<Value>,
}

/// Statuses a worker-held run reports through heartbeats.
const RUNNING: &str = "running";

impl Store {
    /// Claims the oldest queued run `worker` may take: one without a cluster, or on a
    /// cluster named as the worker's (a worker without a cluster takes any), and not
    /// waiting for another run to end. Marks it
    /// running under the worker, with the package version that will run. Concurrent
    /// workers never claim the same run.
    pub async fn claim_run(&self, worker: &WorkerInfo) -> Result<Option<ClaimedRun>> {
        let now = now_ms();
        let skip_locked = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let on_cluster = if worker.cluster.is_some() {
            " AND (q.cluster_id IS NULL OR q.cluster_id IN (SELECT id FROM clusters WHERE name = $3))"
        } else {
            ""
        };
        // A run a schedule queued behind its previous one (overlap `queue`) waits for it.
        let after = " AND (q.after_run_id IS NULL OR NOT EXISTS \
             (SELECT 1 FROM runs a WHERE a.id = q.after_run_id AND a.status IN ('queued', 'running')))";
        let sql = format!(
            "UPDATE runs SET status = 'running', worker_id = $1, started_at = $2, heartbeat_at = $2, \
             package_version = (SELECT p.version FROM packages p WHERE p.id = runs.package_id) \
             WHERE id = (SELECT q.id FROM runs q WHERE q.status = 'queued'{on_cluster}{after} ORDER BY q.id LIMIT 1{skip_locked}) \
             RETURNING id, account_id, package_id, package_version, variables_json, dynamic_variables_json"
        );
        let mut tx = self.begin().await?;
        let r = async {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&worker.id)
                .bind(now);
            if let Some(cluster) = &worker.cluster {
                q = q.bind(cluster);
            }
            let Some(run) = q.fetch_optional(&mut *tx).await? else {
                return Ok(None);
            };
            let package_id: i64 = run.try_get("package_id")?;
            let package = sqlx::query(
                "SELECT flow_type, data_flow_json, variables_json FROM packages WHERE id = $1",
            )
            .bind(package_id)
            .fetch_one(&mut *tx)
            .await?;
            let mut vars = variables::parse(&package.try_get::<String, _>("variables_json")?);
            vars.extend(variables::parse(
                &run.try_get::<String, _>("variables_json")?,
            ));
            Ok(Some(ClaimedRun {
                run_id: run.try_get("id")?,
                account_id: run.try_get("account_id")?,
                package_id,
                package_version: run
                    .try_get::<Option<i64>, _>("package_version")?
                    .unwrap_or(1),
                flow_type: package.try_get("flow_type")?,
                data_flow_json: package.try_get("data_flow_json")?,
                variables: vars,
                dynamic_variables: variables::parse(
                    &run.try_get::<String, _>("dynamic_variables_json")?,
                ),
            }))
        }
        .await;
        tx.finish(r).await
    }

    /// Records a running run's progress (an array of per-component counters; its
    /// `rows_read` / `rows_written` totals become the run's) and that its worker is alive.
    pub async fn heartbeat_run(
        &self,
        run_id: i64,
        worker_id: &str,
        progress: &Value,
    ) -> Result<RunControl> {
        let (read, written) = totals(progress);
        let mut tx = self.begin().await?;
        let requested: Option<i64> = sqlx::query_scalar(
            "UPDATE runs SET heartbeat_at = $1, progress_json = $2, \
             rows_read = COALESCE($3, rows_read), rows_written = COALESCE($4, rows_written) \
             WHERE id = $5 AND worker_id = $6 AND status = $7 RETURNING cancel_requested",
        )
        .bind(now_ms())
        .bind(progress.to_string())
        .bind(read)
        .bind(written)
        .bind(run_id)
        .bind(worker_id)
        .bind(RUNNING)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(match requested {
            Some(r) => RunControl {
                cancel_requested: r != 0,
                lost: false,
            },
            None => RunControl {
                cancel_requested: true,
                lost: true,
            },
        })
    }

    /// Ends a run that is still running under `worker_id`; false (and nothing changed)
    /// when it is not (reaped meanwhile, or never this worker's).
    pub async fn finish_run(&self, run_id: i64, worker_id: &str, o: RunOutcome) -> Result<bool> {
        if !FINAL_STATUSES.contains(&o.status) {
            return Err(CatalogError::invalid(
                "status",
                format!("a run ends as one of: {}", FINAL_STATUSES.join(", ")),
            ));
        }
        let last_error = (o.status == "failed").then(|| {
            o.error
                .as_ref()
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .unwrap_or("the run failed without saying why")
                .to_string()
        });
        let now = now_ms();
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE runs SET status = $1, rows_read = $2, rows_written = $3, progress_json = $4, error_json = $5, \
             last_error = $6, completed_at = $7, heartbeat_at = $7 \
             WHERE id = $8 AND worker_id = $9 AND status = $10",
        )
        .bind(o.status)
        .bind(o.rows_read)
        .bind(o.rows_written)
        .bind(o.progress.to_string())
        .bind(o.error.as_ref().map(Value::to_string))
        .bind(last_error)
        .bind(now)
        .bind(run_id)
        .bind(worker_id)
        .bind(RUNNING)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Fails every running run whose last heartbeat is older than `timeout`: its worker
    /// died or lost the store. The run is never queued again (it may have written part of
    /// its output); the error (category `resource`) names the worker and its silence and
    /// says to retry with `retry_job`. A run whose cancellation was asked for ends
    /// `cancelled` instead. Audited as `run.lost`. Returns the runs' ids.
    pub async fn reap_lost_runs(&self, timeout: Duration) -> Result<Vec<i64>> {
        let now = now_ms();
        let cutoff = now.saturating_sub(i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX));
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE OF r SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin().await?;
        let r = async {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT r.id, r.account_id, r.worker_id, r.cancel_requested, \
                 COALESCE(r.heartbeat_at, r.started_at, r.created_at) AS last_seen, w.hostname, w.pid \
                 FROM runs r LEFT JOIN workers w ON w.id = r.worker_id \
                 WHERE r.status = 'running' AND COALESCE(r.heartbeat_at, r.started_at, r.created_at) < $1 \
                 ORDER BY r.id{lock}"
            )))
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            let mut reaped = Vec::with_capacity(rows.len());
            for row in rows {
                let id: i64 = row.try_get("id")?;
                let account_id: i64 = row.try_get("account_id")?;
                let cancelled = row.try_get::<i64, _>("cancel_requested")? != 0;
                let silent_s = (now - row.try_get::<i64, _>("last_seen")?) / 1000;
                let worker = describe_worker(
                    row.try_get("worker_id")?,
                    row.try_get("hostname")?,
                    row.try_get("pid")?,
                );
                let (status, error) = if cancelled {
                    ("cancelled", StoredError {
                        category: "cancelled",
                        component: None,
                        property: None,
                        message: format!("the run was cancelled; its {worker} went silent {silent_s} s ago before confirming it"),
                        hint: "start it again with run_package or retry_job when you want it to run",
                    })
                } else {
                    ("failed", StoredError {
                        category: "resource",
                        component: None,
                        property: None,
                        message: format!(
                            "its {worker} sent no heartbeat for {silent_s} s (it probably died or lost the control-plane store), so the run was stopped unfinished and will not run again on its own"
                        ),
                        hint: "retry it with retry_job; if runs keep losing their workers, check the workers' logs, memory and network",
                    })
                };
                sqlx::query(
                    "UPDATE runs SET status = $1, error_json = $2, last_error = $3, completed_at = $4 WHERE id = $5",
                )
                .bind(status)
                .bind(error.to_json())
                .bind((status == "failed").then_some(error.message.as_str()))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                log::append(&mut tx, id, &[("ERROR", error.message.as_str())]).await?;
                let event = NewEvent::system(account_id, "run.lost", "run", Some(id))
                    .before(json!({"status": "running"}))
                    .after(json!({"status": status}));
                audit::record(&mut tx, event).await?;
                reaped.push(id);
            }
            // Workers silent for a day are gone for good; new processes register anew.
            sqlx::query("DELETE FROM workers WHERE heartbeat_at < $1")
                .bind(now - 24 * 3_600_000)
                .execute(&mut *tx)
                .await?;
            Ok(reaped)
        }
        .await;
        tx.finish(r).await
    }
}

/// "worker W (host H, pid P)", with what is known of it.
fn describe_worker(id: Option<String>, host: Option<String>, pid: Option<i64>) -> String {
    let id = id.unwrap_or_else(|| "unknown".into());
    match (host, pid) {
        (Some(h), Some(p)) => format!("worker {id} (host {h}, pid {p})"),
        _ => format!("worker {id}"),
    }
}

/// The run's row totals from per-component progress (`[{rows_read, rows_written, …}]`),
/// or `None` each when the progress is not in that form.
fn totals(progress: &Value) -> (Option<i64>, Option<i64>) {
    let Some(items) = progress.as_array() else {
        return (None, None);
    };
    let sum = |key: &str| -> Option<i64> {
        items
            .iter()
            .map(|c| c.get(key).and_then(Value::as_i64))
            .sum::<Option<i64>>()
    };
    (sum("rows_read"), sum("rows_written"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_component_counters_or_leave_them() {
        let p = json!([
            {"component": "src", "rows_read": 10, "rows_written": 0},
            {"component": "dst", "rows_read": 0, "rows_written": 7},
        ]);
        assert_eq!(totals(&p), (Some(10), Some(7)));
        assert_eq!(totals(&json!([])), (Some(0), Some(0)));
        assert_eq!(totals(&json!({"rows_read": 3})), (None, None));
        assert_eq!(totals(&json!([{"rows_read": "x"}])), (None, None));
    }

    #[test]
    fn a_worker_is_described_with_what_is_known() {
        assert_eq!(
            describe_worker(Some("w1".into()), Some("h".into()), Some(7)),
            "worker w1 (host h, pid 7)"
        );
        assert_eq!(describe_worker(None, None, None), "worker unknown");
    }
}
