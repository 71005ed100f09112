//! Reading runs: a page of summaries (`list_runs`) and one run whole with its log tail
//! (`get_run`). Runs the demo recorded with [`Store::record_run`] read the same way, with
//! no structured error or progress.

use serde::Serialize;
use serde_json::Value;
use sqlx::{any::AnyRow, Row};

use super::{variables, STATUSES};
use crate::{
    store::Filters,
    time::{now_ms, rfc3339, rfc3339_opt},
    CatalogError, Page, PageRequest, Result, Store,
};

/// One run in a list.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct RunSummary {
    pub id: i64,
    pub package_id: i64,
    pub package_name: String,
    pub cluster_id: Option<i64>,
    /// queued, running, completed, failed or cancelled.
    pub status: String,
    pub created_at: String,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    /// From start to end, or to now while running; none while queued.
    pub runtime_in_seconds: Option<f64>,
    pub rows_read: i64,
    pub rows_written: i64,
    /// The run this one retries.
    pub parent_run_id: Option<i64>,
    /// The primary error's message, for failed runs.
    pub last_error: Option<String>,
}

/// One run, whole.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct RunDetail {
    #[serde(flatten)]
    pub summary: RunSummary,
    /// The package version that ran (none until a worker claims the run).
    pub package_version: Option<i64>,
    /// The values the run was given (package defaults fill in the rest).
    pub variables: Value,
    pub dynamic_variables: Value,
    /// Per component: rows and bytes read and written.
    pub progress: Value,
    /// The primary error: `{category, component, property, message, hint}`.
    pub error: Option<Value>,
    pub cancel_requested: bool,
    pub worker_id: Option<String>,
    pub heartbeat_at: Option<String>,
    /// The newest log lines, oldest first.
    pub log: Vec<LogLine>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct LogLine {
    pub at: String,
    pub level: String,
    pub message: String,
}

/// Which runs to list; every filter given must hold.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub package_id: Option<i64>,
    pub status: Option<String>,
    /// Also list runs that retry another (hidden by default).
    pub include_retries: bool,
}

const SUMMARY_COLS: &str = "r.id, r.package_id, p.name AS package_name, r.cluster_id, r.status, \
    r.created_at, r.started_at, r.completed_at, r.rows_read, r.rows_written, r.parent_run_id, r.last_error";

const FROM: &str = "runs r JOIN packages p ON p.id = r.package_id";

fn summary(r: &AnyRow) -> Result<RunSummary> {
    let status: String = r.try_get("status")?;
    let started: Option<i64> = r.try_get("started_at")?;
    let completed: Option<i64> = r.try_get("completed_at")?;
    let runtime = started.map(|s| {
        let end = completed.unwrap_or_else(|| if status == "running" { now_ms() } else { s });
        (end - s).max(0) as f64 / 1000.0
    });
    let last_error = if status == "failed" {
        r.try_get("last_error")?
    } else {
        None
    };
    Ok(RunSummary {
        id: r.try_get("id")?,
        package_id: r.try_get("package_id")?,
        package_name: r.try_get("package_name")?,
        cluster_id: r.try_get("cluster_id")?,
        created_at: rfc3339(r.try_get("created_at")?),
        started_at: rfc3339_opt(started),
        completed_at: rfc3339_opt(completed),
        runtime_in_seconds: runtime,
        rows_read: r.try_get("rows_read")?,
        rows_written: r.try_get("rows_written")?,
        parent_run_id: r.try_get("parent_run_id")?,
        last_error,
        status,
    })
}

/// A stored JSON column, or `fallback` when it does not parse.
fn json(r: &AnyRow, column: &str, fallback: Value) -> Result<Value> {
    Ok(r.try_get::<Option<String>, _>(column)?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(fallback))
}

impl Store {
    /// The account's runs matching `f`, newest first.
    pub async fn list_runs(
        &self,
        account_id: i64,
        f: &RunFilter,
        page: PageRequest,
    ) -> Result<Page<RunSummary>> {
        let mut q = Filters::default();
        q.int("r.account_id = {}", account_id);
        if let Some(p) = f.package_id {
            q.int("r.package_id = {}", p);
        }
        if let Some(s) = &f.status {
            if !STATUSES.contains(&s.as_str()) {
                return Err(CatalogError::invalid(
                    "status",
                    format!("use one of: {}", STATUSES.join(", ")),
                ));
            }
            q.text("r.status = {}", s.clone());
        }
        if !f.include_retries {
            q.always("r.parent_run_id IS NULL");
        }
        q.page(&self.pool, (SUMMARY_COLS, FROM, "r.id DESC"), page, summary)
            .await
    }

    /// One of the account's runs, with its newest `log_tail` log lines.
    pub async fn get_run(
        &self,
        account_id: i64,
        run_id: i64,
        log_tail: usize,
    ) -> Result<RunDetail> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SUMMARY_COLS}, r.package_version, r.variables_json, r.dynamic_variables_json, \
             r.progress_json, r.error_json, r.cancel_requested, r.worker_id, r.heartbeat_at \
             FROM {FROM} WHERE r.id = $1 AND r.account_id = $2"
        )))
        .bind(run_id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::not_found("run", run_id))?;
        let log = if log_tail == 0 {
            Vec::new()
        } else {
            self.log_tail(run_id, log_tail).await?
        };
        let vars = |c: &str| -> Result<Value> {
            Ok(Value::Object(variables::parse(&r.try_get::<String, _>(c)?)))
        };
        Ok(RunDetail {
            summary: summary(&r)?,
            package_version: r.try_get("package_version")?,
            variables: vars("variables_json")?,
            dynamic_variables: vars("dynamic_variables_json")?,
            progress: json(&r, "progress_json", Value::Array(Vec::new()))?,
            error: match json(&r, "error_json", Value::Null)? {
                Value::Null => None,
                e => Some(e),
            },
            cancel_requested: r.try_get::<i64, _>("cancel_requested")? != 0,
            worker_id: r.try_get("worker_id")?,
            heartbeat_at: rfc3339_opt(r.try_get("heartbeat_at")?),
            log,
        })
    }

    /// The newest `n` log lines of a run, oldest first.
    async fn log_tail(&self, run_id: i64, n: usize) -> Result<Vec<LogLine>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT at, level, message FROM run_logs WHERE run_id = $1 ORDER BY seq DESC LIMIT {}",
            n.min(super::MAX_LOG_LINES as usize)
        )))
        .bind(run_id)
        .fetch_all(&self.pool)
        .await?;
        let mut lines = rows
            .iter()
            .map(|r| {
                Ok(LogLine {
                    at: rfc3339(r.try_get("at")?),
                    level: r.try_get("level")?,
                    message: r.try_get("message")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        lines.reverse();
        Ok(lines)
    }
}
