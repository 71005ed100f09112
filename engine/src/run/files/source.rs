//! A file source as a DataFusion table that streams: one partition reading the source's
//! files one after another (a glob's matches in name order), each decoded a batch at a
//! time, rows counted as batches pass.

use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use connectors::files::{self, glob, FileMeta, FileStore};
use connectors::DriverError;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::catalog::TableProvider;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};

use super::layout::Layout;
use super::records::Records;
use super::text::{Inflated, Text};
use super::{bad_property, columnar, store_failure, FileAt};
use crate::components::properties::{FileSource, RecordType};
use crate::run::{Counters, RunFailure};

/// The table a file source reads: `schema` is its columns as downstream components see
/// them (aliases applied), typed as its `schema.fields` say; columns are matched to the
/// file by position (delimited text) or by their names in the file (JSON, Parquet).
/// Which files a glob matches is settled here, once; nothing is read until the plan runs.
pub async fn source(
    store: Arc<dyn FileStore>,
    spec: &FileSource,
    schema: SchemaRef,
    counters: Arc<Counters>,
) -> Result<Arc<dyn TableProvider>, RunFailure> {
    open_source(None, store, spec, schema, counters).await
}

/// [`source`], for the component `component`: a failure met while the files are read
/// (a value that does not fit, a damaged file) names it. Such failures surface wherever
/// the rows go (a destination's write), so without the name they would be blamed there.
pub async fn source_named(
    component: &str,
    store: Arc<dyn FileStore>,
    spec: &FileSource,
    schema: SchemaRef,
    counters: Arc<Counters>,
) -> Result<Arc<dyn TableProvider>, RunFailure> {
    open_source(Some(component.to_string()), store, spec, schema, counters)
        .await
        .map_err(|mut f| {
            f.component.get_or_insert_with(|| component.to_string());
            f
        })
}

async fn open_source(
    component: Option<String>,
    store: Arc<dyn FileStore>,
    spec: &FileSource,
    schema: SchemaRef,
    counters: Arc<Counters>,
) -> Result<Arc<dyn TableProvider>, RunFailure> {
    let layout = Layout::of(spec)?;
    let files = matching(store.as_ref(), &spec.path).await?;
    // The names in the file: the declared fields' (before aliases), when they are the
    // columns the plan has; else the plan's own.
    let names: Vec<String> = match &spec.schema {
        Some(s) if s.fields.len() == schema.fields().len() => {
            s.fields.iter().map(|f| f.name.clone()).collect()
        }
        _ => schema.fields().iter().map(|f| f.name().clone()).collect(),
    };
    let read = Arc::new(Files(Arc::new(Plan {
        store,
        files,
        layout,
        names,
        schema: Arc::clone(&schema),
        counters,
        component,
    })));
    let table = StreamingTable::try_new(schema, vec![read])
        .map_err(|e| RunFailure::internal(format!("a file source's table: {e}")))?;
    Ok(Arc::new(table))
}

/// What the source reads, shared by every execution of its partition.
pub(crate) struct Plan {
    pub store: Arc<dyn FileStore>,
    pub files: Vec<FileMeta>,
    pub layout: Layout,
    pub names: Vec<String>,
    pub schema: SchemaRef,
    pub counters: Arc<Counters>,
    /// The component reading, named in failures met while reading.
    pub component: Option<String>,
}

/// The files a path names: itself, or a glob's matches in name order (at least one).
async fn matching(store: &dyn FileStore, path: &str) -> Result<Vec<FileMeta>, RunFailure> {
    let path = path.trim().trim_start_matches("./");
    if !glob::is_glob(path) {
        let file = store
            .head(path)
            .await
            .map_err(|e| store_failure(&e, "path"))?;
        return Ok(vec![file]);
    }
    let no_match = || DriverError::NoMatch {
        pattern: path.into(),
    };
    let listed = store
        .list(
            glob::base(path),
            glob::recursive(path),
            files::MAX_GLOB_LISTING,
        )
        .await
        .map_err(|e| match e {
            DriverError::FileNotFound { .. } => store_failure(&no_match(), "path"),
            other => store_failure(&other, "path"),
        })?;
    if listed.len() >= files::MAX_GLOB_LISTING {
        return Err(bad_property(
            "path",
            format!(
                "the pattern's folder holds more than {} entries, so not every match can be read",
                files::MAX_GLOB_LISTING
            ),
            "narrow the pattern to a folder with fewer files",
        ));
    }
    let pattern = path.trim_start_matches('/');
    let mut matched: Vec<FileMeta> = listed
        .into_iter()
        .filter(|f| !f.is_dir && glob::matches(pattern, f.path.trim_start_matches('/')))
        .collect();
    if matched.is_empty() {
        return Err(store_failure(&no_match(), "path"));
    }
    matched.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(matched)
}

/// The source's one partition.
struct Files(Arc<Plan>);

impl fmt::Debug for Files {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Files({} on {}, {:?})",
            self.0.files.len(),
            self.0.store.location(),
            self.0.layout.record_type
        )
    }
}

impl PartitionStream for Files {
    fn schema(&self) -> &SchemaRef {
        &self.0.schema
    }

    fn execute(&self, ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let batch_rows = ctx.session_config().batch_size();
        let plan = Arc::clone(&self.0);
        let counters = Arc::clone(&plan.counters);
        let component = plan.component.clone();
        let count = plan.files.len();
        let batches = stream::iter(0..count)
            .then(move |index| open(Arc::clone(&plan), index, batch_rows))
            .try_flatten()
            .inspect_ok(move |b| counters.read(b.num_rows() as u64, 0))
            .map_err(move |mut f| {
                if f.component.is_none() {
                    f.component = component.clone();
                }
                DataFusionError::External(Box::new(f))
            });
        Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.0.schema),
            batches,
        ))
    }
}

/// Opens file `index` of the plan: its batches.
async fn open(
    plan: Arc<Plan>,
    index: usize,
    batch_rows: usize,
) -> Result<BoxStream<'static, Result<RecordBatch, RunFailure>>, RunFailure> {
    let at = FileAt {
        index,
        count: plan.files.len(),
    };
    let file = &plan.files[index];
    if plan.layout.record_type == RecordType::Parquet {
        return columnar::batches(&plan, file, batch_rows, at).await;
    }
    let bytes = Inflated::open(&plan.store, &file.path, &plan.layout, &plan.counters, at).await?;
    let skip = match plan.layout.record_type {
        RecordType::Delimited => plan.layout.header_lines,
        _ => 0,
    };
    let text = Text::new(bytes, &plan.layout, skip);
    let records = Records::new(
        text,
        &plan.layout,
        &plan.names,
        Arc::clone(&plan.schema),
        batch_rows,
        at,
    )?;
    Ok(stream::try_unfold(records, |mut r| async move {
        Ok(r.next().await?.map(|batch| (batch, r)))
    })
    .boxed())
}
