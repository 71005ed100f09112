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
pub mod failure;
pub mod files;
pub mod progress;

use std::collections::BTreeMap;
use std::sync::Arc;

use connectors::Connections;
use serde_json::Value;
pub use tokio_util::sync::CancellationToken;

pub use failure::{Category, RunFailure};
pub use progress::{ComponentProgress, Counters, Progress};

use crate::package::FlowType;

/// What a run may use: the account's connections, through the shared cache.
#[derive(Clone)]
pub struct Resources {
    pub connections: Arc<Connections>,
    pub account_id: i64,
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

/// Runs the package to the end, or until `cancel` fires.
pub async fn execute(
    req: &RunRequest,
    res: &Resources,
    progress: &Progress,
    cancel: &CancellationToken,
    log: &dyn RunLog,
) -> Result<Summary, RunFailure> {
    let _ = (req, res, progress, cancel, log);
    Err(RunFailure::internal("execution is not built yet"))
}
