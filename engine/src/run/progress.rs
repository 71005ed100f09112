//! Rows and bytes read and written, per component, counted while batches pass and read
//! by the worker at any time.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use serde::Serialize;

/// One component's counters.
#[derive(Debug, Default)]
pub struct Counters {
    pub rows_read: AtomicU64,
    pub bytes_read: AtomicU64,
    pub rows_written: AtomicU64,
    pub bytes_written: AtomicU64,
}

impl Counters {
    pub fn read(&self, rows: u64, bytes: u64) {
        self.rows_read.fetch_add(rows, Relaxed);
        self.bytes_read.fetch_add(bytes, Relaxed);
    }
    pub fn wrote(&self, rows: u64, bytes: u64) {
        self.rows_written.fetch_add(rows, Relaxed);
        self.bytes_written.fetch_add(bytes, Relaxed);
    }
}

/// A snapshot of one component's counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema, serde::Deserialize)]
pub struct ComponentProgress {
    pub component: String,
    pub rows_read: u64,
    pub bytes_read: u64,
    pub rows_written: u64,
    pub bytes_written: u64,
}

/// Counters for the sources and destinations of one run.
#[derive(Debug, Default)]
pub struct Progress {
    components: std::sync::Mutex<Vec<(String, Arc<Counters>)>>,
}

impl Progress {
    /// The counters of the component `name`, created on first use.
    pub fn component(&self, name: &str) -> Arc<Counters> {
        let mut all = self.components.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, c)) = all.iter().find(|(n, _)| n == name) {
            return Arc::clone(c);
        }
        let c = Arc::new(Counters::default());
        all.push((name.to_string(), Arc::clone(&c)));
        c
    }

    pub fn snapshot(&self) -> Vec<ComponentProgress> {
        let all = self.components.lock().unwrap_or_else(|p| p.into_inner());
        all.iter()
            .map(|(n, c)| ComponentProgress {
                component: n.clone(),
                rows_read: c.rows_read.load(Relaxed),
                bytes_read: c.bytes_read.load(Relaxed),
                rows_written: c.rows_written.load(Relaxed),
                bytes_written: c.bytes_written.load(Relaxed),
            })
            .collect()
    }

    /// Rows read by sources and written by destinations, over all components.
    pub fn totals(&self) -> (u64, u64) {
        self.snapshot()
            .iter()
            .fold((0, 0), |(r, w), c| (r + c.rows_read, w + c.rows_written))
    }
}

/// The bytes a batch's values take (its slices, not the capacity its buffers reserved):
/// what "bytes read" and "bytes written" count for database sources and destinations.
pub fn batch_bytes(batch: &datafusion::arrow::record_batch::RecordBatch) -> u64 {
    batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0) as u64)
        .sum()
}
