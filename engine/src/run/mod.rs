//! Running a package for real: the validated plans of [`crate::validate`] with their
//! sources bound to live data (database tables through [`database`], files through
//! [`files`]), executed by DataFusion as streams of Arrow batches into each destination.
//!
//! Memory is bounded by the batch size, never by the data size. Progress (rows and bytes
//! read and written, per component) is counted while batches pass ([`Progress`]).
//! Cancellation ([`CancellationToken`]) drops the work within a second; every destination
//! is written all-or-nothing, so a failed or cancelled run leaves it as it was.
//! Failures come back as a [`RunFailure`]: a category, the component and property at
//! fault, and what to change. Nothing here touches the control plane or speaks MCP: the
//! worker that claimed the run records what this returns.

pub mod database;
mod dynamic;
pub mod failure;
pub mod files;
pub mod live;
pub mod progress;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use connectors::Connections;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::ScalarValue;
use datafusion::datasource::{provider_as_source, TableProvider};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionConfig;
use futures_util::future::try_join_all;
use serde_json::Value;
pub use tokio_util::sync::CancellationToken;

pub use dynamic::evaluate;
pub use failure::{Category, RunFailure};
pub use live::LiveSchemas;
pub use progress::{ComponentProgress, Counters, Progress};

use crate::package::{FlowType, Spec};
use crate::validate::{self, Context, Inventory};
use crate::Severity;

/// What a run may use: the account's connections through the shared cache, and the
/// control plane's answers about its connections and packages.
#[derive(Clone)]
pub struct Resources {
    pub connections: Arc<Connections>,
    pub inventory: Arc<dyn Inventory>,
    pub account_id: i64,
    /// Memory the run's joins, sorts and aggregates may hold before they spill to disk.
    pub memory_limit: usize,
}

/// One run of one package.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub flow_type: FlowType,
    pub data_flow_json: Value,
    /// Every variable's value: the package's defaults overlaid with the run's own.
    pub variables: BTreeMap<String, Value>,
    /// Unique per run (`r42`): names staging tables and temporary files.
    pub run_tag: String,
    /// Rows per batch.
    pub batch_rows: usize,
}

/// A line for the run's log. Messages are built from our own words and upstream errors
/// already scrubbed of the connection's secrets; the worker redacts once more with every
/// secret the run knows before storing a line.
pub trait RunLog: Send + Sync {
    fn info(&self, message: String);
    fn warn(&self, message: String);
    fn error(&self, message: String);
}

/// What a successful run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub rows_read: u64,
    pub rows_written: u64,
}

/// Runs the package to the end, or until `cancel` fires (then within a second: the work
/// is dropped, and with it every destination's open transaction or temporary file).
pub async fn execute(
    req: &RunRequest,
    res: &Resources,
    progress: &Progress,
    cancel: &CancellationToken,
    log: &dyn RunLog,
) -> Result<Summary, RunFailure> {
    if req.flow_type != FlowType::Dataflow {
        return Err(RunFailure::new(
            Category::Schema,
            "workflow packages (tasks that run packages and SQL statements) do not run yet; only dataflows do",
            "run the dataflow packages the workflow names one by one with run_package",
        ));
    }
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Err(RunFailure::cancelled()),
        r = dataflow(req, res, progress, log) => r,
    }
}

async fn dataflow(
    req: &RunRequest,
    res: &Resources,
    progress: &Progress,
    log: &dyn RunLog,
) -> Result<Summary, RunFailure> {
    let live = LiveSchemas::new(Arc::clone(&res.connections), res.account_id);
    let data_flow_json = substitute_paths(&req.data_flow_json, &req.variables);
    let compiled = {
        let cx = Context {
            inventory: res.inventory.as_ref(),
            schemas: &live,
            variables: req.variables.keys().cloned().collect(),
        };
        validate::compile(req.flow_type, &data_flow_json, &cx).await
    };
    for f in &compiled.findings {
        if f.severity == Severity::Warning {
            log.warn(format!("{f}"));
        }
    }
    if let Some(f) = compiled
        .findings
        .iter()
        .find(|f| f.severity == Severity::Error)
    {
        return Err(failure::from_finding(f));
    }
    let package = &compiled.package;
    log.info(format!(
        "compiled {} components; reading sources",
        package.components.len()
    ));

    // Bind each source to live data.
    let mut providers: HashMap<String, Arc<dyn TableProvider>> = HashMap::new();
    for (i, c) in package.components.iter().enumerate() {
        let schema = match (&c.spec, compiled.plans.get(i).and_then(Option::as_ref)) {
            (Spec::DatabaseSource(_) | Spec::FileSource(_), Some(plan)) => {
                Arc::new(plan.schema().as_arrow().clone())
            }
            (Spec::DatabaseSource(_) | Spec::FileSource(_), None) => {
                let id = c.spec.connection_id().unwrap_or_default();
                return Err(match live.failure(id) {
                    Some(e) => RunFailure::from_driver(&e).at(&c.name, Some("connection_id")),
                    None => RunFailure::new(
                        Category::Schema,
                        "its columns could not be read",
                        "check the source with discover_schema or discover_file_schema, then validate the package",
                    )
                    .at(&c.name, None),
                });
            }
            _ => continue,
        };
        let counters = progress.component(&c.name);
        let provider: Arc<dyn TableProvider> = match &c.spec {
            Spec::DatabaseSource(d) => {
                let driver = res
                    .connections
                    .database(res.account_id, d.connection_id)
                    .await
                    .map_err(|e| RunFailure::from_driver(&e).at(&c.name, Some("connection_id")))?;
                Arc::new(database::DatabaseTable::new(
                    driver,
                    d,
                    &req.variables,
                    schema,
                    counters,
                    req.batch_rows,
                    &c.name,
                )?)
            }
            Spec::FileSource(f) => {
                let f = live.discovered(f);
                let store = res
                    .connections
                    .file_store(res.account_id, f.connection_id, f.bucket.as_deref())
                    .await
                    .map_err(|e| RunFailure::from_driver(&e).at(&c.name, Some("connection_id")))?;
                // Listing and opening go through the account's file gate (bounded, with a
                // deadline); the streams themselves are watched for stalls by the backends.
                let gate = res.connections.files();
                let name = c.name.clone();
                let opened = gate
                    .run(res.account_id, async move {
                        Ok(files::source_named(&name, store, &f, schema, counters).await)
                    })
                    .await
                    .map_err(|e| RunFailure::from_driver(&e).at(&c.name, Some("path")))?;
                opened.map_err(|e| attribute(e, &c.name))?
            }
            _ => continue,
        };
        providers.insert(c.name.clone(), provider);
    }

    // Run every destination concurrently; the first failure drops the others (their
    // writes roll back).
    let state = session(req, res)?;
    let params = param_values(&req.variables);
    let mut writes = Vec::new();
    for (i, c) in package.components.iter().enumerate() {
        if !matches!(
            c.spec,
            Spec::DatabaseDestination(_) | Spec::FileDestination(_)
        ) {
            continue;
        }
        let Some(plan) = compiled.plans.get(i).and_then(Option::as_ref) else {
            return Err(
                RunFailure::internal("a destination could not be planned").at(&c.name, None)
            );
        };
        let plan = bind(plan.clone(), &providers)?;
        let plan = if params.is_empty() {
            plan
        } else {
            plan.with_param_values(params.clone())
                .map_err(|e| failure::from_datafusion(&e).at(&c.name, None))?
        };
        let physical = state
            .create_physical_plan(&plan)
            .await
            .map_err(|e| failure::from_datafusion(&e))?;
        let stream = datafusion::physical_plan::execute_stream(physical, state.task_ctx())
            .map_err(|e| failure::from_datafusion(&e))?;
        let counters = progress.component(&c.name);
        let name = c.name.clone();
        let spec = c.spec.clone();
        let res = res.clone();
        let tag = req.run_tag.clone();
        writes.push(async move {
            let rows = match &spec {
                Spec::DatabaseDestination(d) => {
                    let driver = res
                        .connections
                        .database(res.account_id, d.connection_id)
                        .await
                        .map_err(|e| {
                            RunFailure::from_driver(&e).at(&name, Some("connection_id"))
                        })?;
                    database::write(driver, d, stream, counters, &tag, &name).await?
                }
                Spec::FileDestination(f) => {
                    let store = res
                        .connections
                        .file_store(res.account_id, f.connection_id, f.bucket.as_deref())
                        .await
                        .map_err(|e| {
                            RunFailure::from_driver(&e).at(&name, Some("connection_id"))
                        })?;
                    files::write(store, f, stream, counters)
                        .await
                        .map_err(|e| attribute(e, &name))?
                }
                _ => 0,
            };
            Ok::<_, RunFailure>((name, rows))
        });
    }
    if writes.is_empty() {
        return Err(RunFailure::new(
            Category::Schema,
            "the package has no destination, so a run would move nothing",
            "add a database or file destination component",
        ));
    }
    for (name, rows) in try_join_all(writes).await? {
        log.info(format!("{name}: wrote {rows} rows"));
    }
    let (rows_read, rows_written) = progress.totals();
    Ok(Summary {
        rows_read,
        rows_written,
    })
}

/// A failure from a component's own module, named after the component unless it already
/// is.
fn attribute(mut f: RunFailure, component: &str) -> RunFailure {
    if f.component.is_none() {
        f.component = Some(component.to_string());
    }
    f
}

/// The package with `${name}` in every file component's `path` replaced by the
/// variable's value, before anything reads it (validation discovers the real file;
/// destinations write to it). Values are path text, not SQL.
fn substitute_paths(json: &Value, variables: &BTreeMap<String, Value>) -> Value {
    let mut json = json.clone();
    let Some(components) = json.get_mut("components").and_then(Value::as_array_mut) else {
        return json;
    };
    for wrapper in components.iter_mut().filter_map(Value::as_object_mut) {
        for body in wrapper.values_mut().filter_map(Value::as_object_mut) {
            if let Some(Value::String(path)) = body.get_mut("path") {
                for (k, v) in variables {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    *path = path.replace(&format!("${{{k}}}"), &text);
                }
            }
        }
    }
    json
}

/// The validated plan with its schema-only scans replaced by the live sources.
fn bind(
    plan: LogicalPlan,
    providers: &HashMap<String, Arc<dyn TableProvider>>,
) -> Result<LogicalPlan, RunFailure> {
    plan.transform_up(|p| {
        Ok(match p {
            LogicalPlan::TableScan(mut scan) => match providers.get(scan.table_name.table()) {
                Some(provider) => {
                    scan.source = provider_as_source(Arc::clone(provider));
                    Transformed::yes(LogicalPlan::TableScan(scan))
                }
                None => Transformed::no(LogicalPlan::TableScan(scan)),
            },
            other => Transformed::no(other),
        })
    })
    .map(|t| t.data)
    .map_err(|e| failure::from_datafusion(&e))
}

/// Variables as DataFusion parameter values (`$name` in expressions), typed by their JSON
/// value.
fn param_values(variables: &BTreeMap<String, Value>) -> Vec<(String, ScalarValue)> {
    variables
        .iter()
        .map(|(k, v)| {
            let s = match v {
                Value::Null => ScalarValue::Null,
                Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => ScalarValue::Int64(Some(i)),
                    None => ScalarValue::Float64(n.as_f64()),
                },
                Value::String(s) => ScalarValue::Utf8(Some(s.clone())),
                other => ScalarValue::Utf8(Some(other.to_string())),
            };
            (k.clone(), s)
        })
        .collect()
}

/// DataFusion for one run: batches of the run's size, column names as the sources spell
/// them, and a memory pool that makes sorts, joins and aggregates spill past the limit.
fn session(req: &RunRequest, res: &Resources) -> Result<SessionState, RunFailure> {
    let mut config = SessionConfig::new()
        .with_batch_size(req.batch_rows)
        .with_target_partitions(2);
    config.options_mut().sql_parser.enable_ident_normalization = false;
    let runtime = RuntimeEnvBuilder::new()
        .with_memory_pool(Arc::new(FairSpillPool::new(res.memory_limit)))
        .build_arc()
        .map_err(|e| failure::from_datafusion(&e))?;
    Ok(SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_take_their_variables_before_anything_reads_them() {
        let json = serde_json::json!({"components": [
            {"cloud_storage_source_component": {"id": "s", "path": "in/${day}/orders_${region}.csv"}},
            {"cloud_storage_destination_component": {"id": "d", "path": "out/${day}.parquet"}},
            {"filter_component": {"id": "f", "predicate": "day = '${day}'"}}
        ]});
        let vars: BTreeMap<String, Value> = [
            ("day".to_string(), Value::from("2026-11-30")),
            ("region".to_string(), Value::from("eu")),
        ]
        .into();
        let out = substitute_paths(&json, &vars);
        assert_eq!(
            out["components"][0]["cloud_storage_source_component"]["path"],
            "in/2026-11-30/orders_eu.csv"
        );
        assert_eq!(
            out["components"][1]["cloud_storage_destination_component"]["path"],
            "out/2026-11-30.parquet"
        );
        // Only paths: an expression keeps its text (variables there are `$name` values).
        assert_eq!(
            out["components"][2]["filter_component"]["predicate"],
            "day = '${day}'"
        );
    }
}
