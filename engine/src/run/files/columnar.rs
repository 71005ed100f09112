//! Parquet files, one at a time, through Parquet's async reader over the store's range
//! reads: the footer first, then only the columns the source declares, a row group at a
//! time. Columns are matched by name and cast to the declared types.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::{cast_with_options, CastOptions};
use bytes::Bytes;
use connectors::files::{FileMeta, FileStore};
use connectors::DriverError;
use futures_util::future::{BoxFuture, FutureExt};
use futures_util::stream::{BoxStream, StreamExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::ProjectionMask;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use super::source::Plan;
use super::{bad_data, bad_property, store_failure, FileAt};
use crate::run::{Counters, RunFailure};

/// Range reads of one file, counted as they come.
struct StoreReader {
    store: Arc<dyn FileStore>,
    path: String,
    size: u64,
    counters: Arc<Counters>,
}

impl AsyncFileReader for StoreReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            let bytes = self
                .store
                .read_range(&self.path, range)
                .await
                .map_err(|e| ParquetError::External(Box::new(e)))?;
            self.counters.read(0, bytes.len() as u64);
            Ok(Bytes::from(bytes))
        }
        .boxed()
    }

    /// The column chunks of a row group, read at once.
    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            let reads = ranges.into_iter().map(|r| {
                let (store, path) = (Arc::clone(&self.store), self.path.clone());
                async move { store.read_range(&path, r).await }
            });
            let chunks = futures_util::future::try_join_all(reads)
                .await
                .map_err(|e| ParquetError::External(Box::new(e)))?;
            let n: usize = chunks.iter().map(Vec::len).sum();
            self.counters.read(0, n as u64);
            Ok(chunks.into_iter().map(Bytes::from).collect())
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(64 * 1024))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// The batches of one Parquet file: the plan's columns, found by their names in the
/// file, cast to the plan's types.
pub(crate) async fn batches(
    plan: &Plan,
    file: &FileMeta,
    batch_rows: usize,
    at: FileAt,
) -> Result<BoxStream<'static, Result<RecordBatch, RunFailure>>, RunFailure> {
    let (names, schema) = (&plan.names, Arc::clone(&plan.schema));
    let reader = StoreReader {
        store: Arc::clone(&plan.store),
        path: file.path.clone(),
        size: file.size,
        counters: Arc::clone(&plan.counters),
    };
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| parquet_error(e, at))?;
    let in_file = Arc::clone(builder.schema());
    let mut roots = Vec::with_capacity(names.len());
    for name in names {
        match in_file.index_of(name) {
            Ok(i) => roots.push(i),
            Err(_) => {
                return Err(bad_property(
                    "schema",
                    format!("{at} has no column `{name}`"),
                    "check the columns in schema.fields against the file (discover_file_schema)",
                ))
            }
        }
    }
    // The reader hands the chosen columns over in the file's order.
    let mut in_order = roots.clone();
    in_order.sort_unstable();
    in_order.dedup();
    let pick: Vec<usize> = roots
        .iter()
        .map(|r| in_order.partition_point(|x| x < r))
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), in_order);
    let stream = builder
        .with_projection(mask)
        .with_batch_size(batch_rows.max(1))
        .build()
        .map_err(|e| parquet_error(e, at))?;
    let names = names.to_vec();
    Ok(stream
        .map(move |batch| {
            let batch = batch.map_err(|e| parquet_error(e, at))?;
            let options = CastOptions {
                safe: false,
                ..Default::default()
            };
            let mut columns = Vec::with_capacity(pick.len());
            for (i, field) in schema.fields().iter().enumerate() {
                let column = batch.column(pick[i]);
                let cast =
                    cast_with_options(column, field.data_type(), &options).map_err(|_| {
                        bad_data(format!(
                            "{at}: column `{}` ({}) has a value that cannot be read as {}",
                            names[i],
                            column.data_type(),
                            field.data_type()
                        ))
                    })?;
                columns.push(cast);
            }
            RecordBatch::try_new(Arc::clone(&schema), columns)
                .map_err(|e| RunFailure::internal(format!("a Parquet batch: {e}")))
        })
        .boxed())
}

/// Parquet's errors say what is wrong with the file's structure (never a value); the
/// store's, carried through, are the store's.
fn parquet_error(e: ParquetError, at: FileAt) -> RunFailure {
    if let ParquetError::External(inner) = e {
        return match inner.downcast::<DriverError>() {
            Ok(d) => store_failure(&d, "path"),
            Err(other) => RunFailure::internal(format!("reading {at}: {other}")),
        };
    }
    let mut f = bad_data(format!("{at} is not a readable Parquet file: {e}"));
    f.property = Some("record_type".into());
    f.hint = "check that the file is Parquet (record_type) and not damaged or cut off".into();
    f
}
