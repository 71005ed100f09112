//! Bulk reads and writes on SQL Server through tiberius (see [`super::transfer`] for what
//! every backend promises). A read streams the query's rows into batches in the reader's
//! task. A write is one transaction (`XACT_ABORT` on) on one pooled connection: create
//! the table if asked, DELETE (overwrite) or stage into a `#temp` table (merge), bulk
//! load (`INSERT BULK`, each value typed as its table column), merge, commit. A
//! connection left by an error or a dropped future is closed, never pooled, and the
//! server rolls its transaction back.
//!
//! No SQL Server runs where this is built: the type mapping and the statements are
//! unit-tested below; the bulk path itself runs only against a real server.

use std::borrow::Cow;

use arrow::{
    array::{Array, ArrayRef, AsArray},
    datatypes::{DataType, TimeUnit},
};
use futures_util::{StreamExt, TryStreamExt};
use tiberius::{
    numeric::Numeric, time, ColumnData, FromSql, SqlBulkCopyOption, SqlBulkCopyOptions, ToSql,
    TokenRow, Uuid,
};

use super::{
    arrow_values::{conform, unfit},
    batches::{spawn_reader, BatchBuilder, Cell},
    mssql::{error, MsSql},
    plan, scalars, sql,
    transfer::{BatchStream, Param, ReadRequest, WriteMode, WriteRequest, WriteSummary},
};
use crate::{
    error::{DriverError, Result},
    sanitize::Dialect,
};

const MS: Dialect = Dialect::MsSql;

/// A query parameter as tiberius sends it.
struct MsParam(Param);

impl ToSql for MsParam {
    fn to_sql(&self) -> ColumnData<'_> {
        match &self.0 {
            Param::Null => ColumnData::String(None),
            Param::Bool(v) => ColumnData::Bit(Some(*v)),
            Param::Int(v) => ColumnData::I64(Some(*v)),
            Param::Float(v) => ColumnData::F64(Some(*v)),
            Param::Text(v) => ColumnData::String(Some(Cow::Borrowed(v.as_str()))),
        }
    }
}

/// Days from 0001-01-01 (SQL Server's day 0) to 1970-01-01.
const DAYS_0001_TO_1970: i64 = 719_162;

/// One value as tiberius decoded it (`scratch` holds the text of GUIDs and XML).
pub fn cell<'a>(data: &'a ColumnData<'static>, scratch: &'a mut Vec<u8>) -> Cell<'a> {
    use std::io::Write;
    let text = |scratch: &'a mut Vec<u8>, f: &dyn Fn(&mut Vec<u8>)| {
        scratch.clear();
        f(scratch);
        Cell::Text(std::str::from_utf8(scratch).unwrap_or_default())
    };
    match data {
        ColumnData::U8(v) => v.map_or(Cell::Null, |v| Cell::Int(v.into())),
        ColumnData::I16(v) => v.map_or(Cell::Null, |v| Cell::Int(v.into())),
        ColumnData::I32(v) => v.map_or(Cell::Null, |v| Cell::Int(v.into())),
        ColumnData::I64(v) => v.map_or(Cell::Null, Cell::Int),
        ColumnData::F32(v) => v.map_or(Cell::Null, |v| Cell::Float(v.into())),
        ColumnData::F64(v) => v.map_or(Cell::Null, Cell::Float),
        ColumnData::Bit(v) => v.map_or(Cell::Null, Cell::Bool),
        ColumnData::String(v) => v.as_deref().map_or(Cell::Null, Cell::Text),
        ColumnData::Binary(v) => v.as_deref().map_or(Cell::Null, Cell::Bytes),
        ColumnData::Numeric(v) => {
            v.map_or(Cell::Null, |n| Cell::Decimal(n.value(), n.scale() as i8))
        }
        ColumnData::Guid(Some(g)) => text(scratch, &|s| {
            let _ = write!(s, "{g}");
        }),
        ColumnData::Xml(Some(x)) => text(scratch, &|s| {
            let _ = write!(s, "{x}");
        }),
        ColumnData::Guid(None) | ColumnData::Xml(None) => Cell::Null,
        ColumnData::Date(_) => chrono::NaiveDate::from_sql(data)
            .ok()
            .flatten()
            .map_or(Cell::Null, |d| Cell::Date(scalars::days_from_date(d))),
        ColumnData::Time(_) => {
            chrono::NaiveTime::from_sql(data)
                .ok()
                .flatten()
                .map_or(Cell::Null, |t| {
                    use chrono::Timelike;
                    Cell::Time(
                        i64::from(t.num_seconds_from_midnight()) * scalars::MICROS_PER_SECOND
                            + i64::from(t.nanosecond() / 1000),
                    )
                })
        }
        ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
            chrono::NaiveDateTime::from_sql(data)
                .ok()
                .flatten()
                .map_or(Cell::Null, |d| {
                    Cell::Timestamp(d.and_utc().timestamp_micros())
                })
        }
        ColumnData::DateTimeOffset(_) => chrono::DateTime::<chrono::FixedOffset>::from_sql(data)
            .ok()
            .flatten()
            .map_or(Cell::Null, |d| Cell::Timestamp(d.timestamp_micros())),
    }
}

pub(super) async fn read(ms: &MsSql, r: ReadRequest) -> Result<BatchStream> {
    let mut builder = BatchBuilder::new(r.schema.clone(), r.batch_rows)?;
    let (sql, _) = sql::placeholders(MS, &r.sql);
    let params: Vec<MsParam> = r.params.into_iter().map(MsParam).collect();
    let mut lease = ms.lease().await?;
    let cfg = ms.cfg.clone();
    Ok(spawn_reader(move |out| async move {
        let err = |e| error(&cfg, e);
        {
            let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
            let stream = lease.query(sql, &refs).await.map_err(err)?;
            let mut rows = stream.into_row_stream();
            let mut scratch = Vec::new();
            while let Some(row) = rows.try_next().await.map_err(err)? {
                if row.len() != builder.width() {
                    return Err(DriverError::Query(format!(
                        "the query returns {} columns where {} were expected; list the columns the source describes, in its order",
                        row.len(),
                        builder.width()
                    )));
                }
                for (i, (_, data)) in row.cells().enumerate() {
                    builder.push(i, cell(data, &mut scratch))?;
                }
                if builder.end_row() && !out.send(builder.finish()?).await {
                    return Ok(());
                }
            }
        }
        if builder.rows() > 0 {
            out.send(builder.finish()?).await;
        }
        lease.release();
        Ok(())
    }))
}

/// How values of a table column are sent in a bulk load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsTarget {
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Bit,
    Real,
    Float,
    /// decimal, numeric: the column's scale.
    Numeric(u8),
    Money,
    Text,
    Binary,
    Guid,
    Date,
    /// time: the fractional-second digits.
    Time(u8),
    /// datetime2, datetime: the fractional-second digits (tiberius converts to datetime).
    DateTime(u8),
    DateTimeOffset(u8),
}

impl MsTarget {
    /// From `TYPE_NAME(system_type_id)` and `sys.columns.scale`; `None` for columns a
    /// bulk load cannot fill (rowversion, sql_variant, spatial, smalldatetime, …).
    pub fn of(type_name: &str, scale: u8) -> Option<MsTarget> {
        Some(match type_name {
            "tinyint" => MsTarget::TinyInt,
            "smallint" => MsTarget::SmallInt,
            "int" => MsTarget::Int,
            "bigint" => MsTarget::BigInt,
            "bit" => MsTarget::Bit,
            "real" => MsTarget::Real,
            "float" => MsTarget::Float,
            "decimal" | "numeric" => MsTarget::Numeric(scale),
            "money" | "smallmoney" => MsTarget::Money,
            "char" | "varchar" | "text" | "nchar" | "nvarchar" | "ntext" => MsTarget::Text,
            "binary" | "varbinary" | "image" => MsTarget::Binary,
            "uniqueidentifier" => MsTarget::Guid,
            "date" => MsTarget::Date,
            "time" => MsTarget::Time(scale),
            "datetime2" => MsTarget::DateTime(scale),
            "datetime" => MsTarget::DateTime(3),
            "datetimeoffset" => MsTarget::DateTimeOffset(scale),
            _ => return None,
        })
    }

    /// The Arrow type a column of `from` is cast to before its values are sent.
    pub fn wanted(self, from: &DataType) -> DataType {
        match self {
            MsTarget::TinyInt => DataType::UInt8,
            MsTarget::SmallInt => DataType::Int16,
            MsTarget::Int => DataType::Int32,
            MsTarget::BigInt => DataType::Int64,
            MsTarget::Bit => DataType::Boolean,
            MsTarget::Real => DataType::Float32,
            MsTarget::Float | MsTarget::Money => DataType::Float64,
            MsTarget::Numeric(s) => DataType::Decimal128(38, s as i8),
            MsTarget::Text => DataType::Utf8,
            MsTarget::Binary => DataType::Binary,
            MsTarget::Guid => match from {
                DataType::Binary | DataType::LargeBinary | DataType::FixedSizeBinary(_) => {
                    DataType::Binary
                }
                _ => DataType::Utf8,
            },
            MsTarget::Date => DataType::Date32,
            MsTarget::Time(_) => DataType::Time64(TimeUnit::Microsecond),
            MsTarget::DateTime(_) | MsTarget::DateTimeOffset(_) => {
                DataType::Timestamp(TimeUnit::Microsecond, None)
            }
        }
    }
}

/// A time of day in `scale` fractional digits, from microseconds.
fn time_of(micros: i64, scale: u8) -> time::Time {
    let scale = scale.min(7);
    let increments = if scale >= 6 {
        micros * 10i64.pow(u32::from(scale - 6))
    } else {
        micros / 10i64.pow(u32::from(6 - scale))
    };
    time::Time::new(increments.max(0) as u64, scale)
}

fn date_of(days: i64) -> Option<time::Date> {
    u32::try_from(days + DAYS_0001_TO_1970)
        .ok()
        .map(time::Date::new)
}

fn datetime2_of(micros: i64, scale: u8) -> Option<time::DateTime2> {
    let days = micros.div_euclid(scalars::MICROS_PER_DAY);
    let of_day = micros.rem_euclid(scalars::MICROS_PER_DAY);
    Some(time::DateTime2::new(date_of(days)?, time_of(of_day, scale)))
}

/// The value at `row` of a column already cast to `target.wanted(..)`; `None` when it has
/// no SQL Server form (an unparsable GUID, a date before year 1).
pub fn value(target: MsTarget, a: &ArrayRef, row: usize) -> Option<ColumnData<'static>> {
    let null = a.is_null(row);
    macro_rules! prim {
        ($t:ty, $variant:ident) => {
            ColumnData::$variant((!null).then(|| a.as_primitive::<$t>().value(row)))
        };
    }
    use arrow::datatypes as t;
    Some(match target {
        MsTarget::TinyInt => prim!(t::UInt8Type, U8),
        MsTarget::SmallInt => prim!(t::Int16Type, I16),
        MsTarget::Int => prim!(t::Int32Type, I32),
        MsTarget::BigInt => prim!(t::Int64Type, I64),
        MsTarget::Real => prim!(t::Float32Type, F32),
        MsTarget::Float | MsTarget::Money => prim!(t::Float64Type, F64),
        MsTarget::Bit => ColumnData::Bit((!null).then(|| a.as_boolean().value(row))),
        MsTarget::Numeric(s) => {
            ColumnData::Numeric((!null).then(|| {
                Numeric::new_with_scale(a.as_primitive::<t::Decimal128Type>().value(row), s)
            }))
        }
        MsTarget::Text => ColumnData::String(
            (!null).then(|| Cow::Owned(a.as_string::<i32>().value(row).to_string())),
        ),
        MsTarget::Binary => ColumnData::Binary(
            (!null).then(|| Cow::Owned(a.as_binary::<i32>().value(row).to_vec())),
        ),
        MsTarget::Guid if null => ColumnData::Guid(None),
        MsTarget::Guid => ColumnData::Guid(Some(match a.data_type() {
            DataType::Binary => Uuid::from_slice(a.as_binary::<i32>().value(row)).ok()?,
            _ => Uuid::parse_str(a.as_string::<i32>().value(row).trim()).ok()?,
        })),
        MsTarget::Date if null => ColumnData::Date(None),
        MsTarget::Date => ColumnData::Date(Some(date_of(
            a.as_primitive::<t::Date32Type>().value(row).into(),
        )?)),
        MsTarget::Time(s) => ColumnData::Time(
            (!null).then(|| time_of(a.as_primitive::<t::Time64MicrosecondType>().value(row), s)),
        ),
        MsTarget::DateTime(_) | MsTarget::DateTimeOffset(_) if null => match target {
            MsTarget::DateTime(_) => ColumnData::DateTime2(None),
            _ => ColumnData::DateTimeOffset(None),
        },
        MsTarget::DateTime(s) => ColumnData::DateTime2(Some(datetime2_of(
            a.as_primitive::<t::TimestampMicrosecondType>().value(row),
            s,
        )?)),
        MsTarget::DateTimeOffset(s) => ColumnData::DateTimeOffset(Some(time::DateTimeOffset::new(
            datetime2_of(
                a.as_primitive::<t::TimestampMicrosecondType>().value(row),
                s,
            )?,
            0,
        ))),
    })
}

const TABLE_COLUMNS: &str =
    "SELECT c.name, TYPE_NAME(c.system_type_id), CAST(c.scale AS int), c.is_nullable \
    FROM sys.columns c WHERE c.object_id = OBJECT_ID(@P1) ORDER BY c.column_id";

/// A table column: name, type name, scale, nullable.
struct TableColumn {
    name: String,
    type_name: String,
    scale: u8,
    nullable: bool,
}

pub(super) async fn write(
    ms: &MsSql,
    w: WriteRequest,
    batches: BatchStream,
) -> Result<WriteSummary> {
    let keys = plan::merge_keys(&w)?;
    let mut lease = ms.lease().await?;
    let summary = write_on(ms, &mut lease, &w, &keys, batches).await?;
    lease.release();
    Ok(summary)
}

async fn table_columns(
    ms: &MsSql,
    c: &mut super::mssql::Conn,
    table: &str,
) -> Result<Vec<TableColumn>> {
    let rows = c
        .query(TABLE_COLUMNS, &[&table])
        .await
        .map_err(|e| ms.error(e))?
        .into_first_result()
        .await
        .map_err(|e| ms.error(e))?;
    Ok(rows
        .iter()
        .map(|r| TableColumn {
            name: r.get::<&str, _>(0).unwrap_or_default().to_string(),
            type_name: r.get::<&str, _>(1).unwrap_or_default().to_string(),
            scale: r.get::<i32, _>(2).unwrap_or(0).clamp(0, 38) as u8,
            nullable: r.get::<bool, _>(3).unwrap_or(true),
        })
        .collect())
}

async fn exec(ms: &MsSql, c: &mut super::mssql::Conn, statement: String) -> Result<()> {
    c.simple_query(statement)
        .await
        .map_err(|e| ms.error(e))?
        .into_results()
        .await
        .map(|_| ())
        .map_err(|e| ms.error(e))
}

/// The statements of a merge from `stage` into `table` on `keys` (quoted, with whether
/// each may be NULL): delete the matching rows, insert the staged ones, drop the stage.
pub fn merge_statements(
    table: &str,
    stage: &str,
    list: &str,
    keys: &[(String, bool)],
) -> [String; 3] {
    let same: Vec<String> = keys
        .iter()
        .map(|(k, nullable)| {
            if *nullable {
                format!("(t.{k} = s.{k} OR (t.{k} IS NULL AND s.{k} IS NULL))")
            } else {
                format!("t.{k} = s.{k}")
            }
        })
        .collect();
    [
        format!(
            "DELETE t FROM {table} AS t WHERE EXISTS (SELECT 1 FROM {stage} AS s WHERE {})",
            same.join(" AND ")
        ),
        format!("INSERT INTO {table} ({list}) SELECT {list} FROM {stage}"),
        format!("DROP TABLE {stage}"),
    ]
}

async fn write_on(
    ms: &MsSql,
    c: &mut super::mssql::Conn,
    w: &WriteRequest,
    keys: &[usize],
    mut batches: BatchStream,
) -> Result<WriteSummary> {
    exec(ms, c, "SET XACT_ABORT ON; BEGIN TRANSACTION".into()).await?;
    let table = sql::table(MS, &w.table);
    let mut columns = table_columns(ms, c, &table).await?;
    let created = columns.is_empty();
    if created {
        if !w.create_table {
            return Err(DriverError::TableNotFound(w.table.display()));
        }
        exec(ms, c, sql::create_table(MS, &w.table, &w.schema)?).await?;
        columns = table_columns(ms, c, &table).await?;
    }
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    let targets: Vec<&TableColumn> = plan::match_columns(&w.schema, &names)?
        .into_iter()
        .map(|i| &columns[i])
        .collect();
    let kinds = w
        .schema
        .fields()
        .iter()
        .zip(&targets)
        .map(|(f, t)| {
            MsTarget::of(&t.type_name, t.scale).ok_or_else(|| {
                DriverError::Query(format!(
                    "column `{}`: a bulk load cannot fill the table's {} column; leave the column out",
                    f.name(),
                    t.type_name
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let quoted: Vec<String> = targets.iter().map(|t| sql::quote(MS, &t.name)).collect();
    let list = quoted.join(", ");
    let into = match &w.mode {
        WriteMode::Append => table.clone(),
        WriteMode::Overwrite => {
            if !created {
                exec(ms, c, format!("DELETE FROM {table}")).await?;
            }
            table.clone()
        }
        WriteMode::Merge { .. } => {
            let stage = sql::quote(MS, &format!("#{}", plan::staging_name(&w.run_tag)));
            exec(
                ms,
                c,
                format!("SELECT TOP 0 {list} INTO {stage} FROM {table}"),
            )
            .await?;
            stage
        }
    };
    let column_refs: Vec<&str> = quoted.iter().map(String::as_str).collect();
    let mut req = c
        .bulk_insert_with_options(
            &into,
            &column_refs,
            SqlBulkCopyOptions::from(SqlBulkCopyOption::KeepIdentity),
            &[],
        )
        .await
        .map_err(|e| ms.error(e))?;
    while let Some(batch) = batches.next().await {
        let batch = batch?;
        let arrays = plan::columns(&batch, &w.schema)?;
        let cast = arrays
            .iter()
            .zip(&kinds)
            .zip(w.schema.fields())
            .zip(&targets)
            .map(|(((a, k), f), t)| {
                conform(a, &k.wanted(a.data_type()))
                    .map_err(|_| unfit(f.name(), a.data_type(), &t.type_name))
            })
            .collect::<Result<Vec<_>>>()?;
        for row in 0..batch.num_rows() {
            let mut token = TokenRow::with_capacity(cast.len());
            for (i, (a, k)) in cast.iter().zip(&kinds).enumerate() {
                token.push(value(*k, a, row).ok_or_else(|| {
                    unfit(
                        w.schema.field(i).name(),
                        arrays[i].data_type(),
                        &targets[i].type_name,
                    )
                })?);
            }
            req.send(token).await.map_err(|e| error(&ms.cfg, e))?;
        }
    }
    let rows = req.finalize().await.map_err(|e| ms.error(e))?.total();
    if let WriteMode::Merge { .. } = &w.mode {
        let key_columns: Vec<(String, bool)> = keys
            .iter()
            .map(|k| (sql::quote(MS, &targets[*k].name), targets[*k].nullable))
            .collect();
        for statement in merge_statements(&table, &into, &list, &key_columns) {
            exec(ms, c, statement).await?;
        }
    }
    exec(ms, c, "COMMIT TRANSACTION".into()).await?;
    Ok(WriteSummary { rows })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BooleanArray, Date32Array, Decimal128Array, Int64Array, StringArray,
        TimestampMicrosecondArray,
    };
    use std::sync::Arc;

    #[test]
    fn table_types_map_to_bulk_values() {
        assert_eq!(MsTarget::of("nvarchar", 0), Some(MsTarget::Text));
        assert_eq!(MsTarget::of("datetime2", 6), Some(MsTarget::DateTime(6)));
        assert_eq!(MsTarget::of("decimal", 10), Some(MsTarget::Numeric(10)));
        assert_eq!(
            MsTarget::of("timestamp", 0),
            None,
            "rowversion is not writable"
        );

        let ints: ArrayRef = Arc::new(Int64Array::from(vec![Some(70_000), None]));
        let to_int = conform(&ints, &MsTarget::Int.wanted(ints.data_type())).unwrap();
        assert_eq!(
            value(MsTarget::Int, &to_int, 0),
            Some(ColumnData::I32(Some(70_000)))
        );
        assert_eq!(
            value(MsTarget::Int, &to_int, 1),
            Some(ColumnData::I32(None))
        );
        assert!(conform(&ints, &MsTarget::SmallInt.wanted(ints.data_type())).is_err());

        let dec: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(12_345_678_900)])
                .with_precision_and_scale(38, 10)
                .unwrap(),
        );
        let d2 = conform(&dec, &MsTarget::Numeric(2).wanted(dec.data_type())).unwrap();
        assert_eq!(
            value(MsTarget::Numeric(2), &d2, 0),
            Some(ColumnData::Numeric(Some(Numeric::new_with_scale(123, 2))))
        );

        let ts: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![Some(
            1_709_214_356_123_456,
        )]));
        let Some(ColumnData::DateTime2(Some(dt))) = value(MsTarget::DateTime(7), &ts, 0) else {
            panic!("a datetime2")
        };
        assert_eq!(dt.time().scale(), 7);
        assert_eq!(dt.time().increments(), 495_561_234_560);
        assert_eq!(
            chrono::NaiveDateTime::from_sql(&ColumnData::DateTime2(Some(dt))).unwrap(),
            chrono::DateTime::from_timestamp_micros(1_709_214_356_123_456).map(|d| d.naive_utc())
        );
        let day: ArrayRef = Arc::new(Date32Array::from(vec![Some(0)]));
        let Some(ColumnData::Date(Some(d))) = value(MsTarget::Date, &day, 0) else {
            panic!("a date")
        };
        assert_eq!(d.days(), 719_162);

        let guid: ArrayRef = Arc::new(StringArray::from(vec![
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "nope",
        ]));
        assert!(matches!(
            value(MsTarget::Guid, &guid, 0),
            Some(ColumnData::Guid(Some(_)))
        ));
        assert_eq!(value(MsTarget::Guid, &guid, 1), None);
        let flags: ArrayRef = Arc::new(BooleanArray::from(vec![true]));
        assert_eq!(
            value(MsTarget::Bit, &flags, 0),
            Some(ColumnData::Bit(Some(true)))
        );
    }

    #[test]
    fn read_values_become_cells() {
        let mut s = Vec::new();
        assert_eq!(cell(&ColumnData::I32(Some(-5)), &mut s), Cell::Int(-5));
        assert_eq!(
            cell(
                &ColumnData::Numeric(Some(Numeric::new_with_scale(12345, 2))),
                &mut s
            ),
            Cell::Decimal(12345, 2)
        );
        let d = chrono::NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        use tiberius::IntoSql;
        assert_eq!(
            cell(&d.into_sql(), &mut s),
            Cell::Date(scalars::days_from_ymd(2024, 2, 29).unwrap())
        );
        let g = Uuid::parse_str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap();
        assert_eq!(
            cell(&ColumnData::Guid(Some(g)), &mut s),
            Cell::Text("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
        assert_eq!(cell(&ColumnData::String(None), &mut s), Cell::Null);
    }

    #[test]
    fn merges_match_keys_null_safely() {
        let [delete, insert, drop] = merge_statements(
            "[dbo].[t]",
            "[#pw_stage_r1]",
            "[id], [k]",
            &[("[id]".into(), false), ("[k]".into(), true)],
        );
        assert_eq!(
            delete,
            "DELETE t FROM [dbo].[t] AS t WHERE EXISTS (SELECT 1 FROM [#pw_stage_r1] AS s WHERE t.[id] = s.[id] AND (t.[k] = s.[k] OR (t.[k] IS NULL AND s.[k] IS NULL)))"
        );
        assert_eq!(
            insert,
            "INSERT INTO [dbo].[t] ([id], [k]) SELECT [id], [k] FROM [#pw_stage_r1]"
        );
        assert_eq!(drop, "DROP TABLE [#pw_stage_r1]");
    }
}
