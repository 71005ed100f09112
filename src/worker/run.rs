//! One claimed run, from start to its recorded end: variables resolved, the engine run
//! under a cancellation token, heartbeats carrying progress and log lines, every line and
//! the final error redacted with every secret the run could know.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use catalog::connection_source::StoredConnections;
use catalog::runs::{ClaimedRun, RunOutcome};
use connectors::redact::{credentials_in_text, Redactor};
use connectors::ConnectionSource;
use engine::package::{FlowType, Package};
use engine::run::{self, CancellationToken, Progress, Resources, RunFailure, RunLog, RunRequest};
use serde_json::{json, Value};

use super::{inventory, Worker};

/// Log lines waiting for the next heartbeat, redacted as they are written.
struct Log {
    redactor: Redactor,
    pending: Mutex<Vec<(String, String)>>,
    run_id: i64,
}

impl Log {
    fn push(&self, level: &str, message: String) {
        let line = self.redact(&message);
        match level {
            "error" => tracing::warn!(run = self.run_id, "{line}"),
            _ => tracing::info!(run = self.run_id, "{line}"),
        }
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((level.to_string(), line));
    }

    fn redact(&self, text: &str) -> String {
        credentials_in_text(&self.redactor.text(text))
    }

    fn take(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl RunLog for Log {
    fn info(&self, message: String) {
        self.push("info", message);
    }
    fn warn(&self, message: String) {
        self.push("warn", message);
    }
    fn error(&self, message: String) {
        self.push("error", message);
    }
}

pub async fn execute(w: Worker, claimed: ClaimedRun, stop: CancellationToken) {
    let run_id = claimed.run_id;
    let data_flow_json: Value =
        serde_json::from_str(&claimed.data_flow_json).unwrap_or(Value::Null);
    let (package, _) = Package::parse(&data_flow_json);

    // Every secret the run could meet: its connections' and its secret-named variables.
    let source = StoredConnections::new(w.store.clone(), w.sealer.clone());
    let mut secrets: Vec<String> = Vec::new();
    let mut ids: Vec<i64> = package
        .components
        .iter()
        .filter_map(|c| c.spec.connection_id())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        if let Ok(s) = source.secrets(claimed.account_id, id).await {
            secrets.extend(s.into_values());
        }
    }
    let mut variables: BTreeMap<String, Value> = claimed.variables.clone().into_iter().collect();
    let mut dynamic_failure = None;
    for (name, expr) in &claimed.dynamic_variables {
        let text = match expr {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match run::evaluate(&text) {
            Ok(v) => {
                variables.insert(name.clone(), v);
            }
            Err(mut f) => {
                f.property = Some("dynamic_variables".into());
                f.message = format!("dynamic variable `{name}`: {}", f.message);
                dynamic_failure = Some(f);
                break;
            }
        }
    }
    for (k, v) in &variables {
        if let (true, Value::String(s)) = (connectors::redact::is_secret_name(k), v) {
            secrets.push(s.clone());
        }
    }
    let log = Arc::new(Log {
        redactor: Redactor::new(secrets.iter().map(String::as_str)),
        pending: Mutex::default(),
        run_id,
    });

    let req = RunRequest {
        flow_type: FlowType::parse(&claimed.flow_type).unwrap_or(FlowType::Dataflow),
        data_flow_json,
        variables,
        run_tag: format!("r{run_id}"),
        batch_rows: w.settings.batch_rows,
    };
    let res = Resources {
        connections: w.connections.clone(),
        inventory: Arc::new(inventory::Account {
            store: w.store.clone(),
            account_id: claimed.account_id,
        }),
        account_id: claimed.account_id,
        memory_limit: w.settings.memory_limit,
    };
    let progress = Arc::new(Progress::default());
    let cancel = CancellationToken::new();
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    log.info(format!(
        "run {run_id} of package {} (version {}) started on worker {}",
        claimed.package_id, claimed.package_version, w.info.id
    ));

    // Heartbeats: progress and log lines out, cancellation and loss in. Stopped by
    // `beating` (never aborted mid-beat, so no log line is lost), and by its guard if this
    // task ends any other way.
    let beating = CancellationToken::new();
    let stopping = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let heartbeat = {
        let (w, log, progress, cancel, lost, stop, beating, stopping) = (
            w.clone(),
            log.clone(),
            progress.clone(),
            cancel.clone(),
            lost.clone(),
            stop.clone(),
            beating.clone(),
            stopping.clone(),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(w.settings.heartbeat);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = beating.cancelled() => return,
                }
                beat(&w, run_id, &log, &progress, &cancel, &lost).await;
                if stop.is_cancelled() && !cancel.is_cancelled() {
                    log.warn("the worker is shutting down; the run stops here".into());
                    stopping.store(true, std::sync::atomic::Ordering::SeqCst);
                    cancel.cancel();
                }
            }
        })
    };
    let _stop_beating = beating.clone().drop_guard();

    let started = std::time::Instant::now();
    let result = match dynamic_failure {
        Some(f) => Err(f),
        None => {
            // On a task of its own, so a panic in the engine ends the run as failed
            // instead of leaving it heartbeating forever.
            let (req, res, progress, cancel, log) =
                (req, res, progress.clone(), cancel.clone(), log.clone());
            let engine = tokio::spawn(async move {
                run::execute(&req, &res, &progress, &cancel, log.as_ref()).await
            });
            let mut engine = AbortOnDrop(engine);
            match (&mut engine.0).await {
                Ok(r) => r,
                Err(e) if e.is_panic() => Err(RunFailure::internal(
                    "the engine stopped unexpectedly (a panic) while running the package",
                )),
                Err(_) => Err(RunFailure::cancelled()),
            }
        }
    };
    beating.cancel();
    let _ = heartbeat.await;
    let result = match result {
        Err(f)
            if f.category == run::Category::Cancelled
                && stopping.load(std::sync::atomic::Ordering::SeqCst) =>
        {
            Err(RunFailure::new(
                run::Category::Resource,
                "the worker running it shut down; destinations keep the data they had before the run",
                "retry it with retry_job",
            ))
        }
        other => other,
    };
    if lost.load(std::sync::atomic::Ordering::SeqCst) {
        tracing::warn!(
            run = run_id,
            "the run was taken from this worker (failed as lost); its outcome is not recorded"
        );
        return;
    }
    let (rows_read, mut rows_written) = progress.totals();
    let mut snapshot = progress.snapshot();
    if result.is_err() {
        // Rolled back: what was streamed into a destination is not in it.
        rows_written = 0;
        for c in &mut snapshot {
            c.rows_written = 0;
            c.bytes_written = 0;
        }
    }
    let (status, error) = match &result {
        Ok(_) => {
            log.info(format!(
                "completed in {:.1} s: {rows_read} rows read, {rows_written} rows written",
                started.elapsed().as_secs_f64()
            ));
            ("completed", None)
        }
        Err(f) => {
            let f = redact_failure(&log, f);
            let level = if f.category == run::Category::Cancelled {
                "warn"
            } else {
                "error"
            };
            log.push(level, format!("{}{}", where_(&f), f.message));
            let status = if f.category == run::Category::Cancelled {
                "cancelled"
            } else {
                "failed"
            };
            (status, Some(json!(f)))
        }
    };
    let lines = log.take();
    if !lines.is_empty() {
        if let Err(e) = w.store.append_run_log(run_id, &lines).await {
            tracing::warn!(run = run_id, error = %e, "the run's last log lines could not be stored");
        }
    }
    let outcome = RunOutcome {
        status,
        rows_read: rows_read as i64,
        rows_written: rows_written as i64,
        progress: json!(snapshot),
        error,
    };
    match w.store.finish_run(run_id, &w.info.id, outcome).await {
        Ok(true) => tracing::info!(run = run_id, status, "run finished"),
        Ok(false) => tracing::warn!(
            run = run_id,
            "the run was no longer this worker's; outcome dropped"
        ),
        Err(e) => {
            tracing::error!(run = run_id, error = %e, "the run's outcome could not be stored")
        }
    }
}

/// A task that ends when its handle is dropped (the run's task was itself dropped).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn where_(f: &RunFailure) -> String {
    match (&f.component, &f.property) {
        (Some(c), Some(p)) => format!("{c}.{p}: "),
        (Some(c), None) => format!("{c}: "),
        _ => String::new(),
    }
}

fn redact_failure(log: &Log, f: &RunFailure) -> RunFailure {
    let mut f = f.clone();
    f.message = log.redact(&f.message);
    f.hint = log.redact(&f.hint);
    f
}

async fn beat(
    w: &Worker,
    run_id: i64,
    log: &Log,
    progress: &Progress,
    cancel: &CancellationToken,
    lost: &std::sync::atomic::AtomicBool,
) {
    let lines = log.take();
    if !lines.is_empty() {
        if let Err(e) = w.store.append_run_log(run_id, &lines).await {
            tracing::warn!(run = run_id, error = %e, "storing log lines failed");
        }
    }
    match w
        .store
        .heartbeat_run(run_id, &w.info.id, &json!(progress.snapshot()))
        .await
    {
        Ok(c) => {
            if c.lost {
                lost.store(true, std::sync::atomic::Ordering::SeqCst);
                cancel.cancel();
            } else if c.cancel_requested && !cancel.is_cancelled() {
                log.warn("cancel requested; stopping".into());
                cancel.cancel();
            }
        }
        Err(e) => tracing::warn!(run = run_id, error = %e, "run heartbeat failed"),
    }
}
