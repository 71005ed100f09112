//! Arrow batches from rows, whatever the driver: each value arrives as a [`Cell`] (the
//! driver's native value, borrowed where it can be) and goes into its column's builder as
//! the Arrow type the read asked for, converted when the two differ. Also the task a
//! streamed read runs in ([`spawn_reader`]), so decoding overlaps with whatever consumes
//! the batches and a dropped stream stops the read (and closes its connection).

use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use arrow::{
    array::{
        ArrayBuilder, ArrayRef, BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder,
        Float64Builder, Int64Builder, StringBuilder, Time64MicrosecondBuilder,
        TimestampMicrosecondBuilder,
    },
    datatypes::{DataType, SchemaRef, TimeUnit},
    record_batch::RecordBatch,
};
use futures_util::Stream;
use tokio::{sync::mpsc, task::JoinHandle};

use super::{
    scalars::{self, MICROS_PER_DAY},
    transfer::BatchStream,
};
use crate::error::{DriverError, Result};

/// One value as a driver decoded it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    /// A scaled integer and its scale.
    Decimal(i128, i8),
    Text(&'a str),
    Bytes(&'a [u8]),
    /// Days since 1970-01-01.
    Date(i32),
    /// Microseconds since 1970-01-01 00:00 (UTC, or the wall clock of a zoneless value).
    Timestamp(i64),
    /// Microseconds since midnight.
    Time(i64),
}

impl Cell<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Cell::Null => "null",
            Cell::Bool(_) => "boolean",
            Cell::Int(_) | Cell::UInt(_) => "integer",
            Cell::Float(_) => "floating-point",
            Cell::Decimal(..) => "decimal",
            Cell::Text(_) => "text",
            Cell::Bytes(_) => "binary",
            Cell::Date(_) => "date",
            Cell::Timestamp(_) => "timestamp",
            Cell::Time(_) => "time",
        }
    }
}

/// The Arrow types a read can ask for (the engine's mapping of `json_type`).
pub const READABLE: &str = "Int64, Float64, Decimal128, Boolean, Date32, \
    Timestamp(Microsecond), Time64(Microsecond), Binary or Utf8";

/// One column's builder, by the Arrow type it builds.
pub enum ColumnBuilder {
    Int64(Int64Builder),
    Float64(Float64Builder),
    Decimal(Decimal128Builder, u8, i8),
    Boolean(BooleanBuilder),
    Date32(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder, Option<Arc<str>>),
    Time64(Time64MicrosecondBuilder),
    Binary(BinaryBuilder),
    Utf8(StringBuilder),
}

/// Why a value did not go into its column.
enum Refusal {
    Mismatch,
    OutOfRange,
}

impl ColumnBuilder {
    /// A builder for `data_type`, or `None` when reads cannot produce it.
    pub fn new(data_type: &DataType, rows: usize) -> Option<Self> {
        Some(match data_type {
            DataType::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(rows)),
            DataType::Float64 => ColumnBuilder::Float64(Float64Builder::with_capacity(rows)),
            DataType::Decimal128(p, s) => ColumnBuilder::Decimal(
                Decimal128Builder::with_capacity(rows)
                    .with_precision_and_scale(*p, *s)
                    .ok()?,
                *p,
                *s,
            ),
            DataType::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(rows)),
            DataType::Date32 => ColumnBuilder::Date32(Date32Builder::with_capacity(rows)),
            DataType::Timestamp(TimeUnit::Microsecond, tz) => ColumnBuilder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(rows).with_timezone_opt(tz.clone()),
                tz.clone(),
            ),
            DataType::Time64(TimeUnit::Microsecond) => {
                ColumnBuilder::Time64(Time64MicrosecondBuilder::with_capacity(rows))
            }
            DataType::Binary => {
                ColumnBuilder::Binary(BinaryBuilder::with_capacity(rows, rows * 16))
            }
            DataType::Utf8 => ColumnBuilder::Utf8(StringBuilder::with_capacity(rows, rows * 16)),
            _ => return None,
        })
    }

    /// The column so far, leaving an empty builder of the same type with room for `rows`.
    fn finish(&mut self, rows: usize) -> ArrayRef {
        fn take<B: ArrayBuilder>(b: &mut B, fresh: B) -> ArrayRef {
            std::mem::replace(b, fresh).finish()
        }
        match self {
            ColumnBuilder::Int64(b) => take(b, Int64Builder::with_capacity(rows)),
            ColumnBuilder::Float64(b) => take(b, Float64Builder::with_capacity(rows)),
            ColumnBuilder::Decimal(b, p, s) => {
                let fresh = Decimal128Builder::with_capacity(rows)
                    .with_precision_and_scale(*p, *s)
                    .expect("checked when the builder was made");
                take(b, fresh)
            }
            ColumnBuilder::Boolean(b) => take(b, BooleanBuilder::with_capacity(rows)),
            ColumnBuilder::Date32(b) => take(b, Date32Builder::with_capacity(rows)),
            ColumnBuilder::Timestamp(b, tz) => take(
                b,
                TimestampMicrosecondBuilder::with_capacity(rows).with_timezone_opt(tz.clone()),
            ),
            ColumnBuilder::Time64(b) => take(b, Time64MicrosecondBuilder::with_capacity(rows)),
            ColumnBuilder::Binary(b) => take(b, BinaryBuilder::with_capacity(rows, rows * 16)),
            ColumnBuilder::Utf8(b) => take(b, StringBuilder::with_capacity(rows, rows * 16)),
        }
    }

    /// Appends one value, converted to this column's type.
    fn push(&mut self, cell: Cell<'_>, scratch: &mut Vec<u8>) -> std::result::Result<(), Refusal> {
        use Refusal::{Mismatch, OutOfRange};
        if cell == Cell::Null {
            self.push_null();
            return Ok(());
        }
        match self {
            ColumnBuilder::Int64(b) => b.append_value(match cell {
                Cell::Int(v) => v,
                Cell::UInt(v) => i64::try_from(v).map_err(|_| OutOfRange)?,
                Cell::Bool(v) => v.into(),
                Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => f as i64,
                Cell::Float(_) => return Err(OutOfRange),
                Cell::Decimal(v, s) => scalars::rescale(v, s, 0, 19)
                    .and_then(|v| i64::try_from(v).ok())
                    .ok_or(OutOfRange)?,
                Cell::Text(t) => t.trim().parse().map_err(|_| Mismatch)?,
                _ => return Err(Mismatch),
            }),
            ColumnBuilder::Float64(b) => b.append_value(match cell {
                Cell::Float(f) => f,
                Cell::Int(v) => v as f64,
                Cell::UInt(v) => v as f64,
                Cell::Bool(v) => f64::from(u8::from(v)),
                Cell::Decimal(v, s) => v as f64 / 10f64.powi(s.into()),
                Cell::Text(t) => t.trim().parse().map_err(|_| Mismatch)?,
                _ => return Err(Mismatch),
            }),
            ColumnBuilder::Decimal(b, p, s) => {
                let (p, s) = (*p, *s);
                b.append_value(match cell {
                    Cell::Decimal(v, from) => scalars::rescale(v, from, s, p).ok_or(OutOfRange)?,
                    Cell::Int(v) => scalars::rescale(v.into(), 0, s, p).ok_or(OutOfRange)?,
                    Cell::UInt(v) => scalars::rescale(v.into(), 0, s, p).ok_or(OutOfRange)?,
                    Cell::Bool(v) => {
                        scalars::rescale(u8::from(v).into(), 0, s, p).ok_or(OutOfRange)?
                    }
                    Cell::Float(f) => scalars::decimal_from_f64(f, p, s).ok_or(OutOfRange)?,
                    Cell::Text(t) => scalars::parse_decimal(t, p, s).ok_or(Mismatch)?,
                    _ => return Err(Mismatch),
                })
            }
            ColumnBuilder::Boolean(b) => b.append_value(match cell {
                Cell::Bool(v) => v,
                Cell::Int(v) => v != 0,
                Cell::UInt(v) => v != 0,
                Cell::Text(t) => parse_bool(t).ok_or(Mismatch)?,
                _ => return Err(Mismatch),
            }),
            ColumnBuilder::Date32(b) => b.append_value(match cell {
                Cell::Date(d) => d,
                Cell::Timestamp(us) => {
                    i32::try_from(us.div_euclid(MICROS_PER_DAY)).map_err(|_| OutOfRange)?
                }
                Cell::Text(t) => scalars::parse_date(t).ok_or(Mismatch)?,
                _ => return Err(Mismatch),
            }),
            ColumnBuilder::Timestamp(b, _) => b.append_value(match cell {
                Cell::Timestamp(us) => us,
                Cell::Date(d) => i64::from(d) * MICROS_PER_DAY,
                Cell::Text(t) => scalars::parse_timestamp(t).ok_or(Mismatch)?,
                _ => return Err(Mismatch),
            }),
            ColumnBuilder::Time64(b) => b.append_value(match cell {
                Cell::Time(us) if (0..MICROS_PER_DAY).contains(&us) => us,
                Cell::Time(_) => return Err(OutOfRange),
                Cell::Text(t) => scalars::parse_time(t).ok_or(Mismatch)?,
                _ => return Err(Mismatch),
            }),
            ColumnBuilder::Binary(b) => match cell {
                Cell::Bytes(v) => b.append_value(v),
                Cell::Text(t) => b.append_value(t.as_bytes()),
                _ => return Err(Mismatch),
            },
            ColumnBuilder::Utf8(b) => match cell {
                Cell::Text(t) => b.append_value(t),
                Cell::Bytes(v) => b.append_value(std::str::from_utf8(v).map_err(|_| Mismatch)?),
                other => {
                    scratch.clear();
                    text_of(other, scratch).ok_or(OutOfRange)?;
                    // Only ASCII was written.
                    b.append_value(std::str::from_utf8(scratch).map_err(|_| Mismatch)?)
                }
            },
        }
        Ok(())
    }

    fn push_null(&mut self) {
        match self {
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Float64(b) => b.append_null(),
            ColumnBuilder::Decimal(b, ..) => b.append_null(),
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Date32(b) => b.append_null(),
            ColumnBuilder::Timestamp(b, _) => b.append_null(),
            ColumnBuilder::Time64(b) => b.append_null(),
            ColumnBuilder::Binary(b) => b.append_null(),
            ColumnBuilder::Utf8(b) => b.append_null(),
        }
    }
}

/// The text form of a non-text value, as SQL spells it.
fn text_of(cell: Cell<'_>, out: &mut Vec<u8>) -> Option<()> {
    use std::io::Write;
    match cell {
        Cell::Bool(v) => out.extend_from_slice(if v { b"true" } else { b"false" }),
        Cell::Int(v) => write!(out, "{v}").ok()?,
        Cell::UInt(v) => write!(out, "{v}").ok()?,
        Cell::Float(v) => write!(out, "{v}").ok()?,
        Cell::Decimal(v, s) => scalars::push_decimal(out, v, s),
        Cell::Date(d) => scalars::push_date(out, d)?,
        Cell::Timestamp(us) => scalars::push_timestamp(out, us, b' ')?,
        Cell::Time(us) => scalars::push_time(out, us)?,
        Cell::Null | Cell::Text(_) | Cell::Bytes(_) => return None,
    }
    Some(())
}

/// `true`/`false` as databases and people spell them.
pub fn parse_bool(t: &str) -> Option<bool> {
    match t.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "1" | "y" | "yes" | "on" => Some(true),
        "f" | "false" | "0" | "n" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Rows into batches of the requested schema, `batch_rows` at a time.
pub struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    rows: usize,
    batch_rows: usize,
    scratch: Vec<u8>,
}

impl BatchBuilder {
    /// Fails, naming the column, when the schema asks for a type reads cannot produce.
    pub fn new(schema: SchemaRef, batch_rows: usize) -> Result<Self> {
        let batch_rows = batch_rows.clamp(1, 1 << 20);
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                ColumnBuilder::new(f.data_type(), batch_rows).ok_or_else(|| {
                    DriverError::Query(format!(
                        "column `{}`: rows cannot be read as Arrow type {}; read it as {READABLE}",
                        f.name(),
                        f.data_type()
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(BatchBuilder {
            schema,
            columns,
            rows: 0,
            batch_rows,
            scratch: Vec::new(),
        })
    }

    pub fn width(&self) -> usize {
        self.columns.len()
    }

    /// The name of column `col`, for messages.
    pub fn name(&self, col: usize) -> &str {
        self.schema.field(col).name()
    }

    /// Appends the value of column `col` in the current row.
    pub fn push(&mut self, col: usize, cell: Cell<'_>) -> Result<()> {
        self.columns[col]
            .push(cell, &mut self.scratch)
            .map_err(|r| self.refused(col, cell, r))
    }

    fn refused(&self, col: usize, cell: Cell<'_>, r: Refusal) -> DriverError {
        let f = self.schema.field(col);
        match r {
            Refusal::Mismatch => DriverError::Query(format!(
                "column `{}`: a {} value cannot be read as {}; cast the column in the query or change the type the source expects",
                f.name(),
                cell.kind(),
                f.data_type()
            )),
            Refusal::OutOfRange => DriverError::Query(format!(
                "column `{}`: a {} value is out of range for {}; widen the type the source expects or cast the column in the query",
                f.name(),
                cell.kind(),
                f.data_type()
            )),
        }
    }

    /// Ends the current row; true when the batch is full.
    pub fn end_row(&mut self) -> bool {
        self.rows += 1;
        self.rows >= self.batch_rows
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The rows so far as one batch (empty builders are left for the next).
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let rows = self.batch_rows;
        let arrays = self.columns.iter_mut().map(|c| c.finish(rows)).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays).map_err(|e| {
            DriverError::Query(format!(
                "the rows do not fit the expected columns: {e}; make the column nullable or filter out its nulls"
            ))
        })
    }
}

/// Hands batches from a reader task to its stream.
pub struct Producer {
    tx: mpsc::Sender<Result<RecordBatch>>,
}

impl Producer {
    /// Sends one batch; false when the stream was dropped (the reader should stop).
    pub async fn send(&self, batch: RecordBatch) -> bool {
        self.tx.send(Ok(batch)).await.is_ok()
    }
}

/// Runs `read` in its own task and streams what it sends. An error it returns is the
/// stream's last item; dropping the stream aborts the task (dropping its connection).
pub fn spawn_reader<F, Fut>(read: F) -> BatchStream
where
    F: FnOnce(Producer) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    // Two batches in flight: one being consumed, one ready; a third being built.
    let (tx, rx) = mpsc::channel(2);
    let fut = read(Producer { tx: tx.clone() });
    let handle = tokio::spawn(async move {
        if let Err(e) = fut.await {
            let _ = tx.send(Err(e)).await;
        }
    });
    Box::pin(ReaderStream {
        rx,
        handle: Some(handle),
    })
}

struct ReaderStream {
    rx: mpsc::Receiver<Result<RecordBatch>>,
    handle: Option<JoinHandle<()>>,
}

impl Stream for ReaderStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(item)) => Poll::Ready(Some(item)),
            Poll::Pending => Poll::Pending,
            // Every sender is gone: the task ended. A panic must not pass for the end of
            // the rows.
            Poll::Ready(None) => match self.handle.as_mut() {
                None => Poll::Ready(None),
                Some(h) => match Pin::new(h).poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(done) => {
                        self.handle = None;
                        match done {
                            Ok(()) => Poll::Ready(None),
                            Err(_) => Poll::Ready(Some(Err(DriverError::Query(
                                "reading the rows stopped unexpectedly; try again".into(),
                            )))),
                        }
                    }
                },
            },
        }
    }
}

impl Drop for ReaderStream {
    fn drop(&mut self) {
        if let Some(h) = &self.handle {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::{
        array::{Array, AsArray},
        datatypes::{Field, Schema},
    };
    use futures_util::StreamExt;

    fn schema(types: &[DataType]) -> SchemaRef {
        Arc::new(Schema::new(
            types
                .iter()
                .enumerate()
                .map(|(i, t)| Field::new(format!("c{i}"), t.clone(), true))
                .collect::<Vec<_>>(),
        ))
    }

    #[test]
    fn cells_convert_to_the_requested_type() {
        let s = schema(&[
            DataType::Int64,
            DataType::Decimal128(38, 10),
            DataType::Utf8,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            DataType::Boolean,
        ]);
        let mut b = BatchBuilder::new(s, 10).unwrap();
        for (c, v) in [
            Cell::Text(" 42 "),
            Cell::Text("12345678901234567890.0123456789"),
            Cell::Decimal(-12345, 2),
            Cell::Text("2024-02-29 13:45:56.5+01:00"),
            Cell::Int(1),
        ]
        .into_iter()
        .enumerate()
        {
            b.push(c, v).unwrap();
        }
        b.end_row();
        for c in 0..5 {
            b.push(c, Cell::Null).unwrap();
        }
        b.end_row();
        let batch = b.finish().unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(
            batch
                .column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(0),
            42
        );
        assert_eq!(
            batch
                .column(1)
                .as_primitive::<arrow::datatypes::Decimal128Type>()
                .value(0),
            123456789012345678900123456789
        );
        assert_eq!(batch.column(2).as_string::<i32>().value(0), "-123.45");
        assert_eq!(
            batch
                .column(3)
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(0),
            scalars::parse_timestamp("2024-02-29 12:45:56.5").unwrap()
        );
        assert!(batch.column(4).as_boolean().value(0));
        assert!((0..5).all(|c| batch.column(c).is_null(1)));
    }

    #[test]
    fn refusals_name_the_column_not_the_value() {
        let mut b = BatchBuilder::new(schema(&[DataType::Int64]), 10).unwrap();
        let e = b
            .push(0, Cell::Text("Secret-Value"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`c0`") && e.contains("text"), "{e}");
        assert!(!e.contains("Secret-Value"), "{e}");
        let e = b.push(0, Cell::UInt(u64::MAX)).unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
        let e = BatchBuilder::new(schema(&[DataType::Int32]), 10)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("`c0`") && e.contains("Int32"), "{e}");
    }

    #[tokio::test]
    async fn a_reader_error_ends_the_stream_and_a_dropped_stream_stops_the_reader() {
        let mut s = spawn_reader(|p| async move {
            let mut b = BatchBuilder::new(schema(&[DataType::Int64]), 1)?;
            b.push(0, Cell::Int(7))?;
            b.end_row();
            p.send(b.finish()?).await;
            Err(DriverError::Query("boom".into()))
        });
        assert_eq!(s.next().await.unwrap().unwrap().num_rows(), 1);
        assert!(s.next().await.unwrap().is_err());
        assert!(s.next().await.is_none());

        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let s = spawn_reader(|_p| async move {
            let _guard = done_tx;
            std::future::pending::<()>().await;
            Ok(())
        });
        drop(s);
        // The task was aborted, so its guard is dropped and the channel closes.
        assert!(done_rx.await.is_err());
    }
}
