//! A file destination: batches encoded as they come (delimited text, JSON Lines or
//! Parquet; text optionally gzip or zstd), sent through a bounded channel into the
//! store's atomic streamed write. Memory holds a few chunks, never the file. Until the
//! last batch is written nothing changes at the path; an input that fails, or a run
//! dropped midway, leaves the old file as it was.

use std::io;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use async_compression::tokio::bufread::{GzipEncoder, ZstdEncoder};
use bytes::Bytes;
use connectors::files::{glob, ByteStream, FileStore};
use connectors::DriverError;
use datafusion::execution::SendableRecordBatchStream;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression as Codec, GzipLevel, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use tokio::sync::mpsc;
use tokio_util::io::{ReaderStream, StreamReader};

use super::{bad_data, bad_property, layout, store_failure};
use crate::components::properties::{Compression, FileDestination, RecordType};
use crate::run::{Counters, RunFailure};

/// Encoded bytes gathered before they are sent on.
const SEND_AT: usize = 1 << 20;
/// Chunks in flight between the encoder and the store.
const IN_FLIGHT: usize = 4;
/// Rows per Parquet row group, and the encoded size at which one is cut early: what a
/// Parquet writer holds in memory.
const ROW_GROUP_ROWS: usize = 128 * 1024;
const ROW_GROUP_BYTES: usize = 64 << 20;

/// Writes `input` to the destination's file, replacing it atomically once the input has
/// ended without error; the rows written.
pub async fn write(
    store: Arc<dyn FileStore>,
    spec: &FileDestination,
    input: SendableRecordBatchStream,
    counters: Arc<Counters>,
) -> Result<u64, RunFailure> {
    let path = spec.path.trim().trim_start_matches("./").to_string();
    if path.is_empty() || path.ends_with('/') || glob::is_glob(&path) {
        return Err(bad_property(
            "path",
            "a destination's `path` names one file (no folder, no glob characters)".into(),
            "give the file to write, e.g. exports/orders.csv",
        ));
    }
    let format = Format::of(spec)?;
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    let body = body(rx, format.outer, Arc::clone(&counters));
    let upload = store.write_stream(&path, body);
    let produce = async move {
        let mut out = Out {
            tx,
            spool: Spool::default(),
        };
        let encoded = encode(&format, input, &mut out, &counters).await;
        if let Err(Stop::Failed(_)) = &encoded {
            // Tells the store to let the file go (the temporary file, the upload).
            let _ = out
                .tx
                .send(Err(DriverError::Store(
                    "the run stopped before the file was complete".into(),
                )))
                .await;
        }
        encoded
    };
    let (uploaded, produced) = tokio::join!(upload, produce);
    match (produced, uploaded) {
        (Err(Stop::Failed(f)), _) => Err(f),
        (_, Err(e)) => Err(store_failure(&e, "path")),
        (Err(Stop::Closed), Ok(_)) => Err(RunFailure::internal(
            "the file store stopped taking the file before it was complete",
        )),
        (Ok(rows), Ok(_)) => Ok(rows),
    }
}

/// How the destination's file is encoded.
struct Format {
    record_type: RecordType,
    delimiter: u8,
    header: bool,
    /// Around the whole file (text formats); Parquet compresses inside instead.
    outer: Compression,
    codec: Codec,
}

impl Format {
    fn of(spec: &FileDestination) -> Result<Format, RunFailure> {
        let parquet = spec.record_type == RecordType::Parquet;
        Ok(Format {
            record_type: spec.record_type,
            delimiter: layout::delimiter("delimiter", spec.delimiter.as_deref())?,
            header: spec.header,
            outer: if parquet {
                Compression::None
            } else {
                spec.compression
            },
            codec: match spec.compression {
                Compression::None => Codec::UNCOMPRESSED,
                Compression::Gzip => Codec::GZIP(GzipLevel::default()),
                Compression::Zstd => Codec::ZSTD(ZstdLevel::default()),
            },
        })
    }
}

/// Why encoding stopped early.
enum Stop {
    /// The input or the encoder failed: the run's failure.
    Failed(RunFailure),
    /// The store stopped reading (its own error says why).
    Closed,
}

/// Where encoded bytes go: a spool the text writers write into, emptied into the
/// channel a chunk at a time.
struct Out {
    tx: mpsc::Sender<Result<Bytes, DriverError>>,
    spool: Spool,
}

impl Out {
    /// Sends what the spool holds once it is at least `min` bytes.
    async fn send(&mut self, min: usize) -> Result<(), Stop> {
        let bytes = self.spool.take_if(min);
        if bytes.is_empty() {
            return Ok(());
        }
        self.tx
            .send(Ok(Bytes::from(bytes)))
            .await
            .map_err(|_| Stop::Closed)
    }
}

/// A buffer shared with a text writer (they own what they write into).
#[derive(Clone, Default)]
struct Spool(Arc<Mutex<Vec<u8>>>);

impl Spool {
    fn take_if(&self, min: usize) -> Vec<u8> {
        let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if b.len() >= min.max(1) {
            std::mem::take(&mut *b)
        } else {
            Vec::new()
        }
    }
}

impl io::Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        b.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Encodes every batch of `input` into `out`; the rows encoded.
async fn encode(
    format: &Format,
    mut input: SendableRecordBatchStream,
    out: &mut Out,
    counters: &Counters,
) -> Result<u64, Stop> {
    let schema = input.schema();
    let mut rows = 0u64;
    match format.record_type {
        RecordType::Parquet => {
            let props = WriterProperties::builder()
                .set_compression(format.codec)
                .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                .build();
            let sink = Channel(out.tx.clone());
            let mut w =
                AsyncArrowWriter::try_new(sink, schema, Some(props)).map_err(encode_failure)?;
            while let Some(batch) = input.next().await {
                let batch = batch.map_err(input_failure)?;
                w.write(&batch).await.map_err(parquet_stop)?;
                if w.in_progress_size() > ROW_GROUP_BYTES {
                    w.flush().await.map_err(parquet_stop)?;
                }
                rows += tally(&batch, counters);
            }
            w.close().await.map_err(parquet_stop)?;
        }
        RecordType::Json => {
            let mut w = arrow::json::LineDelimitedWriter::new(out.spool.clone());
            while let Some(batch) = input.next().await {
                let batch = batch.map_err(input_failure)?;
                w.write(&batch).map_err(encode_failure)?;
                rows += tally(&batch, counters);
                out.send(SEND_AT).await?;
            }
            w.finish().map_err(encode_failure)?;
        }
        RecordType::Delimited => {
            let mut w = arrow::csv::WriterBuilder::new()
                .with_header(format.header)
                .with_delimiter(format.delimiter)
                .build(out.spool.clone());
            while let Some(batch) = input.next().await {
                let batch = batch.map_err(input_failure)?;
                w.write(&batch).map_err(encode_failure)?;
                rows += tally(&batch, counters);
                out.send(SEND_AT).await?;
            }
            if rows == 0 && format.header {
                // No rows: the header alone.
                w.write(&RecordBatch::new_empty(schema))
                    .map_err(encode_failure)?;
            }
        }
    }
    out.send(0).await?;
    Ok(rows)
}

fn tally(batch: &RecordBatch, counters: &Counters) -> u64 {
    let n = batch.num_rows() as u64;
    counters.wrote(n, 0);
    n
}

/// The input failed: the failure of whatever produced it (a source, a transformation).
fn input_failure(e: datafusion::error::DataFusionError) -> Stop {
    Stop::Failed(crate::run::failure::from_datafusion(&e))
}

fn encode_failure(e: impl std::fmt::Display) -> Stop {
    let mut f = bad_data(format!(
        "the rows cannot be encoded as the file's format: {e}"
    ));
    f.property = Some("record_type".into());
    f.hint = "choose a record_type that holds the input's column types (parquet holds all), or cast the columns with a select component".into();
    Stop::Failed(f)
}

fn parquet_stop(e: ParquetError) -> Stop {
    match e {
        ParquetError::External(inner) if inner.is::<Closed>() => Stop::Closed,
        other => encode_failure(other),
    }
}

/// The channel was closed by the store's side.
#[derive(Debug)]
struct Closed;

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the file store stopped taking the file")
    }
}

impl std::error::Error for Closed {}

/// Parquet's writer writes straight into the channel (a row group at a time).
struct Channel(mpsc::Sender<Result<Bytes, DriverError>>);

impl AsyncFileWriter for Channel {
    fn write(&mut self, bs: Bytes) -> BoxFuture<'_, parquet::errors::Result<()>> {
        async move {
            self.0
                .send(Ok(bs))
                .await
                .map_err(|_| ParquetError::External(Box::new(Closed)))
        }
        .boxed()
    }

    fn complete(&mut self) -> BoxFuture<'_, parquet::errors::Result<()>> {
        async { Ok(()) }.boxed()
    }
}

/// What the store writes: the channel's chunks, compressed when asked, counted as they
/// pass.
fn body(
    rx: mpsc::Receiver<Result<Bytes, DriverError>>,
    compression: Compression,
    counters: Arc<Counters>,
) -> ByteStream {
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    let compressed: ByteStream = match compression {
        Compression::None => Box::pin(chunks),
        Compression::Gzip => {
            let plain = StreamReader::new(chunks.map(|c| c.map_err(io::Error::other)));
            from_io(ReaderStream::new(GzipEncoder::new(plain)))
        }
        Compression::Zstd => {
            let plain = StreamReader::new(chunks.map(|c| c.map_err(io::Error::other)));
            from_io(ReaderStream::new(ZstdEncoder::new(plain)))
        }
    };
    Box::pin(compressed.inspect(move |chunk| {
        if let Ok(bytes) = chunk {
            counters.wrote(0, bytes.len() as u64);
        }
    }))
}

/// An I/O stream's errors back as the driver errors they carry.
fn from_io<S>(s: S) -> ByteStream
where
    S: futures_util::Stream<Item = io::Result<Bytes>> + Send + 'static,
{
    Box::pin(s.map(|chunk| {
        chunk.map_err(|e| {
            let message = e.to_string();
            match e.into_inner().map(|i| i.downcast::<DriverError>()) {
                Some(Ok(d)) => *d,
                _ => DriverError::Store(format!("compressing the file failed: {message}")),
            }
        })
    }))
}
