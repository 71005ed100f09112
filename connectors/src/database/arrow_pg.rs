//! PostgreSQL's binary wire format, between Arrow columns and `COPY … (FORMAT binary)`:
//! the column types a read asks the server for ([`ReadPlan`]), the COPY stream parsed into
//! batches ([`CopyParser`]), batches encoded for `COPY … FROM STDIN` ([`CopyEncoder`]; text
//! COPY when a table column has a type whose binary form we do not write), NUMERIC both
//! ways, and a query's parameters encoded for the types the server inferred.
//!
//! Binary COPY skips the server's text parsing and printing, which is most of the cost of
//! a bulk copy; encoding whole batches into one buffer keeps the client's share small.

use arrow::{
    array::{
        Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array, Decimal128Array,
        Float32Array, Float64Array, Int16Array, Int32Array, Int64Array, StringArray,
        Time64MicrosecondArray, TimestampMicrosecondArray,
    },
    datatypes::{DataType, SchemaRef, TimeUnit},
};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_postgres::types::{Kind, Type};

use super::{
    arrow_values::{conform, unfit},
    batches::{BatchBuilder, Cell},
    scalars::{self, POW10},
    sql,
    transfer::Param,
};
use crate::{
    error::{DriverError, Result},
    sanitize::Dialect,
};

/// 2000-01-01, PostgreSQL's epoch, in days and microseconds since 1970-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const COPY_SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

// ------------------------------------------------------------------------------ reading

/// What the bytes of one result column are.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Wire {
    /// int2, int4 or int8, told apart by length.
    Int,
    /// float4 or float8, by length.
    Float,
    /// numeric, read at this precision and scale.
    Numeric(u8, i8),
    Bool,
    Date,
    /// timestamp or timestamptz (the same microseconds since 2000).
    Timestamp,
    Time,
    Bytes,
    Text,
}

/// How a read's result columns come over the wire: each as a type whose binary form
/// decodes straight into the requested Arrow type, cast on the server where it is not.
pub struct ReadPlan {
    wires: Vec<Wire>,
    casts: Vec<Option<&'static str>>,
}

impl ReadPlan {
    /// From the statement's result columns and the schema the read must produce.
    pub fn new(schema: &SchemaRef, columns: &[tokio_postgres::Column]) -> Result<Self> {
        if columns.len() != schema.fields().len() {
            return Err(DriverError::Query(format!(
                "the query returns {} columns where {} were expected; list the columns the source describes, in its order",
                columns.len(),
                schema.fields().len()
            )));
        }
        let mut wires = Vec::with_capacity(columns.len());
        let mut casts = Vec::with_capacity(columns.len());
        for (f, c) in schema.fields().iter().zip(columns) {
            let ty = base_type(c.type_());
            let (wire, native, cast): (Wire, &[Type], &'static str) = match f.data_type() {
                DataType::Int64 => (Wire::Int, &[Type::INT2, Type::INT4, Type::INT8], "int8"),
                DataType::Float64 => (Wire::Float, &[Type::FLOAT4, Type::FLOAT8], "float8"),
                DataType::Decimal128(p, s) => (Wire::Numeric(*p, *s), &[Type::NUMERIC], "numeric"),
                DataType::Boolean => (Wire::Bool, &[Type::BOOL], "bool"),
                DataType::Date32 => (Wire::Date, &[Type::DATE], "date"),
                DataType::Timestamp(TimeUnit::Microsecond, _) => (
                    Wire::Timestamp,
                    &[Type::TIMESTAMP, Type::TIMESTAMPTZ],
                    "timestamp",
                ),
                DataType::Time64(TimeUnit::Microsecond) => (Wire::Time, &[Type::TIME], "time"),
                DataType::Binary => (Wire::Bytes, &[Type::BYTEA], "bytea"),
                DataType::Utf8 => (
                    Wire::Text,
                    &[
                        Type::TEXT,
                        Type::VARCHAR,
                        Type::NAME,
                        Type::JSON,
                        Type::UNKNOWN,
                    ],
                    "text",
                ),
                other => {
                    return Err(DriverError::Query(format!(
                        "column `{}`: rows cannot be read as Arrow type {other}; read it as {}",
                        f.name(),
                        super::batches::READABLE
                    )))
                }
            };
            wires.push(wire);
            casts.push((!native.contains(&ty)).then_some(cast));
        }
        Ok(ReadPlan { wires, casts })
    }

    /// The query to run: `sql` itself, or wrapped to cast the columns that need it.
    pub fn sql(&self, sql: &str) -> String {
        let sql = sql.trim_end_matches(|c: char| c == ';' || c.is_whitespace());
        if self.casts.iter().all(Option::is_none) {
            return sql.to_string();
        }
        let names: Vec<String> = (1..=self.casts.len()).map(|i| format!("c{i}")).collect();
        let select: Vec<String> = names
            .iter()
            .zip(&self.casts)
            .map(|(n, cast)| {
                let q = format!("q.{}", sql::quote(Dialect::Postgres, n));
                match cast {
                    Some(t) => format!("{q}::{t}"),
                    None => q,
                }
            })
            .collect();
        // Newlines, so a trailing line comment in `sql` cannot swallow the closing paren.
        format!(
            "SELECT {} FROM (\n{sql}\n) AS q({})",
            select.join(", "),
            sql::column_list(Dialect::Postgres, &names)
        )
    }

    /// Decodes one value of column `col` into the batch.
    #[inline]
    pub fn push(&self, b: &mut BatchBuilder, col: usize, raw: Option<&[u8]>) -> Result<()> {
        let Some(raw) = raw else {
            return b.push(col, Cell::Null);
        };
        let cell = match self.wires[col] {
            Wire::Int => match raw.len() {
                2 => Cell::Int(i16::from_be_bytes([raw[0], raw[1]]).into()),
                4 => Cell::Int(i32::from_be_bytes(raw.try_into().map_err(|_| malformed())?).into()),
                8 => Cell::Int(i64::from_be_bytes(raw.try_into().map_err(|_| malformed())?)),
                _ => return Err(malformed()),
            },
            Wire::Float => match raw.len() {
                4 => Cell::Float(f32::from_be_bytes(raw.try_into().map_err(|_| malformed())?).into()),
                8 => Cell::Float(f64::from_be_bytes(raw.try_into().map_err(|_| malformed())?)),
                _ => return Err(malformed()),
            },
            Wire::Numeric(p, s) => match numeric_value(raw, p, s) {
                Ok(v) => Cell::Decimal(v, s),
                Err(why) => {
                    return Err(DriverError::Query(format!(
                        "column `{}`: a numeric value {why} for Decimal128({p}, {s}); read it as text, or round it in the query",
                        b.name(col)
                    )))
                }
            },
            Wire::Bool => Cell::Bool(raw.first().is_some_and(|v| *v != 0)),
            Wire::Date => {
                let d = i32::from_be_bytes(raw.try_into().map_err(|_| malformed())?);
                match d.checked_add(PG_EPOCH_DAYS) {
                    Some(d) if d != i32::MAX && d != i32::MIN => Cell::Date(d),
                    _ => return Err(infinite(b.name(col))),
                }
            }
            Wire::Timestamp => {
                let t = i64::from_be_bytes(raw.try_into().map_err(|_| malformed())?);
                if t == i64::MAX || t == i64::MIN {
                    return Err(infinite(b.name(col)));
                }
                Cell::Timestamp(t.checked_add(PG_EPOCH_MICROS).ok_or_else(|| infinite(b.name(col)))?)
            }
            Wire::Time => Cell::Time(i64::from_be_bytes(raw.try_into().map_err(|_| malformed())?)),
            Wire::Bytes => Cell::Bytes(raw),
            Wire::Text => Cell::Text(std::str::from_utf8(raw).map_err(|_| {
                DriverError::Query(format!(
                    "column `{}`: the server sent text that is not UTF-8",
                    b.name(col)
                ))
            })?),
        };
        b.push(col, cell)
    }
}

/// Domains are read as their base type.
fn base_type(t: &Type) -> Type {
    match t.kind() {
        Kind::Domain(inner) => base_type(inner),
        _ => t.clone(),
    }
}

fn malformed() -> DriverError {
    DriverError::Query("the server sent a value in an unexpected binary form".into())
}

fn infinite(column: &str) -> DriverError {
    DriverError::Query(format!(
        "column `{column}`: an infinite date or timestamp has no Arrow value; filter it out or read the column as text"
    ))
}

/// A NUMERIC's binary form as an integer scaled by 10^`scale`, rounded half away from
/// zero; the error says why it does not fit.
fn numeric_value(raw: &[u8], precision: u8, scale: i8) -> std::result::Result<i128, &'static str> {
    let mut r = raw;
    if r.len() < 8 {
        return Err("is malformed");
    }
    let ndigits = r.get_i16();
    let weight = i32::from(r.get_i16());
    let sign = r.get_u16();
    let _dscale = r.get_u16();
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Err("is NaN, which has no value"),
        _ => return Err("is infinite, which has no value"),
    }
    if ndigits < 0 || r.len() < ndigits as usize * 2 {
        return Err("is malformed");
    }
    let scale = i32::from(scale);
    let mut acc: i128 = 0;
    for i in 0..ndigits as i32 {
        let d = i128::from(r.get_u16());
        let e = 4 * (weight - i) + scale;
        if e >= 0 {
            if d == 0 {
                continue;
            }
            let p = POW10.get(e as usize).ok_or("is too large")?;
            acc = d
                .checked_mul(*p)
                .and_then(|v| acc.checked_add(v))
                .ok_or("is too large")?;
        } else {
            if e > -4 {
                let div = POW10[(-e) as usize];
                acc += d / div;
                if (d % div) * 2 >= div {
                    acc += 1;
                }
            } else if e == -4 && d >= 5000 {
                acc += 1;
            }
            break;
        }
    }
    if acc >= POW10[usize::from(precision.min(38))] {
        return Err("is too large");
    }
    Ok(if sign == 0x4000 { -acc } else { acc })
}

/// Splits `u` by `d`, in 64-bit arithmetic whenever `u` fits (u128 division is slow).
#[inline]
fn divmod(u: u128, d: u64) -> (u128, u64) {
    match u64::try_from(u) {
        Ok(w) => ((w / d).into(), w % d),
        Err(_) => (u / u128::from(d), (u % u128::from(d)) as u64),
    }
}

/// `v` × 10^-`scale` in NUMERIC's binary form (without the length prefix); `None` when a
/// negative scale overflows.
pub fn put_numeric(out: &mut BytesMut, v: i128, scale: i8) -> Option<()> {
    let (v, scale) = if scale < 0 {
        (
            v.checked_mul(*POW10.get(scale.unsigned_abs() as usize)?)?,
            0u32,
        )
    } else {
        (v, scale as u32)
    };
    let neg = v < 0;
    let mut u = v.unsigned_abs();
    // Base-10000 groups, least significant first, aligned on the decimal point: the
    // lowest group holds the last (4 - pad) digits, shifted up by pad.
    let pad = (4 - scale % 4) % 4;
    let frac_groups = ((scale + pad) / 4) as i32;
    let mut groups = [0u16; 12];
    let (rest, low) = divmod(u, 10u64.pow(4 - pad));
    groups[0] = (low * 10u64.pow(pad)) as u16;
    u = rest;
    let mut n = 1;
    while u > 0 {
        let (rest, g) = divmod(u, 10_000);
        groups[n] = g as u16;
        u = rest;
        n += 1;
    }
    let dscale = scale as u16;
    let Some(low) = groups[..n].iter().position(|g| *g != 0) else {
        out.put_i16(0);
        out.put_i16(0);
        out.put_u16(0);
        out.put_u16(dscale);
        return Some(());
    };
    out.put_i16((n - low) as i16);
    out.put_i16((n as i32 - 1 - frac_groups) as i16);
    out.put_u16(if neg { 0x4000 } else { 0 });
    out.put_u16(dscale);
    for g in groups[low..n].iter().rev() {
        out.put_u16(*g);
    }
    Some(())
}

/// Decimal text as NUMERIC (`NaN` included); `None` when it is no number.
fn put_numeric_text(out: &mut BytesMut, text: &str) -> Option<()> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("nan") {
        out.put_i16(0);
        out.put_i16(0);
        out.put_u16(0xC000);
        out.put_u16(0);
        return Some(());
    }
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let frac = mantissa.split_once('.').map_or(0, |(_, f)| f.len() as i32);
    let scale = (frac - exp).clamp(0, 38) as i8;
    let v = scalars::parse_decimal(t, 38, scale)?;
    put_numeric(out, v, scale)
}

/// A UUID's 16 bytes from its text (hyphens and braces allowed).
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let mut out = [0u8; 16];
    let mut n = 0;
    for c in text
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}')
        .chars()
    {
        if c == '-' {
            continue;
        }
        let v = c.to_digit(16)? as u8;
        if n >= 32 {
            return None;
        }
        out[n / 2] = (out[n / 2] << 4) | v;
        n += 1;
    }
    (n == 32).then_some(out)
}

/// `COPY (…) TO STDOUT (FORMAT binary)`, parsed as it arrives.
#[derive(Default)]
pub struct CopyParser {
    pending: BytesMut,
    header_done: bool,
    ended: bool,
}

impl CopyParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next chunk of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.pending.extend_from_slice(chunk);
    }

    /// Decodes whole rows from what has arrived into `b` until the batch is full (true)
    /// or no whole row is left (false).
    pub fn rows(&mut self, plan: &ReadPlan, b: &mut BatchBuilder) -> Result<bool> {
        let buf = &self.pending[..];
        let mut pos = 0;
        if !self.header_done {
            if buf.len() < COPY_SIGNATURE.len() + 8 {
                return Ok(false);
            }
            if !buf.starts_with(COPY_SIGNATURE) {
                return Err(malformed());
            }
            let mut h = &buf[COPY_SIGNATURE.len() + 4..];
            let ext = h.get_u32() as usize;
            pos = COPY_SIGNATURE.len() + 8 + ext;
            if buf.len() < pos {
                return Ok(false);
            }
            self.header_done = true;
        }
        let width = b.width();
        let mut full = false;
        while !self.ended && buf.len() >= pos + 2 {
            let fields = i16::from_be_bytes([buf[pos], buf[pos + 1]]);
            if fields == -1 {
                self.ended = true;
                pos += 2;
                break;
            }
            if fields as usize != width {
                return Err(malformed());
            }
            let Some(end) = row_end(buf, pos + 2, width) else {
                break;
            };
            let mut p = pos + 2;
            for col in 0..width {
                let len = i32::from_be_bytes([buf[p], buf[p + 1], buf[p + 2], buf[p + 3]]);
                p += 4;
                let raw = if len < 0 {
                    None
                } else {
                    let v = &buf[p..p + len as usize];
                    p += len as usize;
                    Some(v)
                };
                plan.push(b, col, raw)?;
            }
            debug_assert_eq!(p, end);
            pos = end;
            if b.end_row() {
                full = true;
                break;
            }
        }
        self.pending.advance(pos);
        Ok(full)
    }

    /// Checks, once the stream has ended, that it ended where a COPY ends.
    pub fn finish(&self) -> Result<()> {
        if self.ended && self.pending.is_empty() {
            Ok(())
        } else {
            Err(DriverError::Query(
                "the server ended the copy in the middle of a row; try again".into(),
            ))
        }
    }
}

/// Where the row whose fields start at `p` ends, if all of it has arrived.
fn row_end(buf: &[u8], mut p: usize, width: usize) -> Option<usize> {
    for _ in 0..width {
        let len = buf.get(p..p + 4)?;
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        p += 4;
        if len > 0 {
            p += len as usize;
        }
    }
    (p <= buf.len()).then_some(p)
}

// ------------------------------------------------------------------------------ writing

/// How one table column's values are sent in binary COPY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PgTarget {
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Bool,
    Text,
    Jsonb,
    Bytea,
    Date,
    Timestamp,
    Time,
    Uuid,
}

impl PgTarget {
    /// The binary form we write for a column of type `ty`; `None` for the types we send
    /// as text (enums, intervals, arrays, network addresses, extensions, …).
    pub fn of(ty: &Type) -> Option<PgTarget> {
        Some(match *ty {
            Type::INT2 => PgTarget::Int2,
            Type::INT4 => PgTarget::Int4,
            Type::INT8 => PgTarget::Int8,
            Type::FLOAT4 => PgTarget::Float4,
            Type::FLOAT8 => PgTarget::Float8,
            Type::NUMERIC => PgTarget::Numeric,
            Type::BOOL => PgTarget::Bool,
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON => PgTarget::Text,
            Type::JSONB => PgTarget::Jsonb,
            Type::BYTEA => PgTarget::Bytea,
            Type::DATE => PgTarget::Date,
            Type::TIMESTAMP | Type::TIMESTAMPTZ => PgTarget::Timestamp,
            Type::TIME => PgTarget::Time,
            Type::UUID => PgTarget::Uuid,
            _ => return None,
        })
    }

    /// The Arrow type a column of `from` is cast to before it is encoded for this target.
    fn wanted(self, from: &DataType) -> DataType {
        use DataType as D;
        let from = match from {
            D::Dictionary(_, v) => v.as_ref(),
            other => other,
        };
        match self {
            PgTarget::Int2 => D::Int16,
            PgTarget::Int4 => D::Int32,
            PgTarget::Int8 => D::Int64,
            PgTarget::Float4 => D::Float32,
            PgTarget::Float8 => D::Float64,
            PgTarget::Numeric => match from {
                D::Decimal128(p, s) => D::Decimal128(*p, *s),
                f if f.is_integer() || f == &D::Null => D::Decimal128(38, 0),
                _ => D::Utf8,
            },
            PgTarget::Bool => D::Boolean,
            PgTarget::Text | PgTarget::Jsonb => D::Utf8,
            PgTarget::Bytea => D::Binary,
            PgTarget::Date => D::Date32,
            PgTarget::Timestamp => D::Timestamp(TimeUnit::Microsecond, None),
            PgTarget::Time => D::Time64(TimeUnit::Microsecond),
            PgTarget::Uuid => match from {
                D::Binary | D::LargeBinary | D::BinaryView | D::FixedSizeBinary(_) => D::Binary,
                _ => D::Utf8,
            },
        }
    }
}

/// One batch column, cast and ready to encode.
enum Out {
    I16(Int16Array),
    I32(Int32Array),
    I64(Int64Array),
    F32(Float32Array),
    F64(Float64Array),
    Decimal(Decimal128Array, i8),
    NumericText(StringArray),
    Bool(BooleanArray),
    Text(StringArray),
    Jsonb(StringArray),
    Bytes(BinaryArray),
    Date(Date32Array),
    Timestamp(TimestampMicrosecondArray),
    Time(Time64MicrosecondArray),
    UuidText(StringArray),
    UuidBytes(BinaryArray),
    /// Text COPY: every value as text (`Bytes` as bytea's hex form).
    AsText(StringArray),
    ByteaText(BinaryArray),
}

/// A table column a COPY writes: its name (for messages), type name and binary form
/// (`None`: the whole COPY goes as text).
pub struct CopyColumn {
    pub name: String,
    pub type_name: String,
    pub target: Option<PgTarget>,
}

/// Batches into `COPY … FROM STDIN` data: binary when every column has a binary form we
/// write, text otherwise.
pub struct CopyEncoder {
    columns: Vec<CopyColumn>,
    binary: bool,
}

impl CopyEncoder {
    pub fn new(columns: Vec<CopyColumn>) -> Self {
        let binary = columns.iter().all(|c| c.target.is_some());
        CopyEncoder { columns, binary }
    }

    /// The COPY statement's options.
    pub fn format(&self) -> &'static str {
        if self.binary {
            "(FORMAT binary)"
        } else {
            "(FORMAT text)"
        }
    }

    /// What goes before the first row.
    pub fn header(&self) -> Bytes {
        if !self.binary {
            return Bytes::new();
        }
        let mut b = BytesMut::with_capacity(19);
        b.put_slice(COPY_SIGNATURE);
        b.put_u32(0);
        b.put_u32(0);
        b.freeze()
    }

    /// What goes after the last row.
    pub fn trailer(&self) -> Bytes {
        if self.binary {
            Bytes::from_static(&[0xff, 0xff])
        } else {
            Bytes::new()
        }
    }

    /// One batch's rows; `columns` in the order of the encoder's columns.
    pub fn encode(&self, columns: &[&ArrayRef], rows: usize) -> Result<Bytes> {
        let outs = self
            .columns
            .iter()
            .zip(columns)
            .map(|(c, a)| self.prepare(c, a))
            .collect::<Result<Vec<_>>>()?;
        let estimate: usize = columns
            .iter()
            .map(|a| a.get_buffer_memory_size())
            .sum::<usize>()
            + rows * (2 + 4 * columns.len());
        let mut buf = BytesMut::with_capacity(estimate);
        let width = outs.len() as i16;
        for row in 0..rows {
            if self.binary {
                buf.put_i16(width);
            }
            for (i, (out, c)) in outs.iter().zip(&self.columns).enumerate() {
                if !self.binary && i > 0 {
                    buf.put_u8(b'\t');
                }
                put_value(&mut buf, out, row).ok_or_else(|| {
                    DriverError::Query(format!(
                        "column `{}`: a value does not fit the table's {} column; fix or cast the values first",
                        c.name, c.type_name
                    ))
                })?;
            }
            if !self.binary {
                buf.put_u8(b'\n');
            }
        }
        Ok(buf.freeze())
    }

    fn prepare(&self, c: &CopyColumn, a: &ArrayRef) -> Result<Out> {
        let fail = || unfit(&c.name, a.data_type(), &c.type_name);
        let (target, wanted) = match (self.binary, c.target) {
            (true, Some(t)) => (Some(t), t.wanted(a.data_type())),
            (_, Some(PgTarget::Bytea)) => (None, DataType::Binary),
            _ => (None, DataType::Utf8),
        };
        let v = conform(a, &wanted).map_err(|_| fail())?;
        Ok(match (target, &wanted) {
            (None, DataType::Binary) => Out::ByteaText(v.as_binary::<i32>().clone()),
            (None, _) => Out::AsText(v.as_string::<i32>().clone()),
            (Some(t), w) => match (t, w) {
                (PgTarget::Int2, _) => Out::I16(v.as_primitive().clone()),
                (PgTarget::Int4, _) => Out::I32(v.as_primitive().clone()),
                (PgTarget::Int8, _) => Out::I64(v.as_primitive().clone()),
                (PgTarget::Float4, _) => Out::F32(v.as_primitive().clone()),
                (PgTarget::Float8, _) => Out::F64(v.as_primitive().clone()),
                (PgTarget::Numeric, DataType::Decimal128(_, s)) => {
                    Out::Decimal(v.as_primitive().clone(), *s)
                }
                (PgTarget::Numeric, _) => Out::NumericText(v.as_string::<i32>().clone()),
                (PgTarget::Bool, _) => Out::Bool(v.as_boolean().clone()),
                (PgTarget::Text, _) => Out::Text(v.as_string::<i32>().clone()),
                (PgTarget::Jsonb, _) => Out::Jsonb(v.as_string::<i32>().clone()),
                (PgTarget::Bytea, _) => Out::Bytes(v.as_binary::<i32>().clone()),
                (PgTarget::Date, _) => Out::Date(v.as_primitive().clone()),
                (PgTarget::Timestamp, _) => Out::Timestamp(v.as_primitive().clone()),
                (PgTarget::Time, _) => Out::Time(v.as_primitive().clone()),
                (PgTarget::Uuid, DataType::Binary) => Out::UuidBytes(v.as_binary::<i32>().clone()),
                (PgTarget::Uuid, _) => Out::UuidText(v.as_string::<i32>().clone()),
            },
        })
    }
}

/// Writes one value: binary (a length, then the bytes; -1 for NULL) or text COPY's form
/// (`\N` for NULL, special characters escaped). `None` when the value has no form there.
#[inline]
fn put_value(buf: &mut BytesMut, out: &Out, row: usize) -> Option<()> {
    macro_rules! fixed {
        ($a:expr, $len:expr, $put:ident, $v:expr) => {{
            if $a.is_null(row) {
                buf.put_i32(-1);
            } else {
                buf.put_i32($len);
                buf.$put($v);
            }
        }};
    }
    macro_rules! sized {
        ($a:expr, |$b:ident| $body:expr) => {{
            if $a.is_null(row) {
                buf.put_i32(-1);
            } else {
                let at = buf.len();
                buf.put_i32(0);
                {
                    let $b = &mut *buf;
                    $body;
                }
                let len = (buf.len() - at - 4) as i32;
                buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
            }
        }};
    }
    match out {
        Out::I16(a) => fixed!(a, 2, put_i16, a.value(row)),
        Out::I32(a) => fixed!(a, 4, put_i32, a.value(row)),
        Out::I64(a) => fixed!(a, 8, put_i64, a.value(row)),
        Out::F32(a) => fixed!(a, 4, put_f32, a.value(row)),
        Out::F64(a) => fixed!(a, 8, put_f64, a.value(row)),
        Out::Bool(a) => fixed!(a, 1, put_u8, u8::from(a.value(row))),
        Out::Date(a) => fixed!(a, 4, put_i32, a.value(row).checked_sub(PG_EPOCH_DAYS)?),
        Out::Timestamp(a) => fixed!(a, 8, put_i64, a.value(row).checked_sub(PG_EPOCH_MICROS)?),
        Out::Time(a) => fixed!(a, 8, put_i64, a.value(row)),
        Out::Decimal(a, s) => sized!(a, |b| put_numeric(b, a.value(row), *s)?),
        Out::NumericText(a) => sized!(a, |b| put_numeric_text(b, a.value(row))?),
        Out::Text(a) => sized!(a, |b| b.put_slice(a.value(row).as_bytes())),
        Out::Jsonb(a) => sized!(a, |b| {
            b.put_u8(1);
            b.put_slice(a.value(row).as_bytes())
        }),
        Out::Bytes(a) => sized!(a, |b| b.put_slice(a.value(row))),
        Out::UuidText(a) => sized!(a, |b| b.put_slice(&parse_uuid(a.value(row))?)),
        Out::UuidBytes(a) => sized!(a, |b| {
            let v = a.value(row);
            if v.len() != 16 {
                return None;
            }
            b.put_slice(v)
        }),
        Out::AsText(a) => {
            if a.is_null(row) {
                buf.put_slice(b"\\N");
            } else {
                put_copy_text(buf, a.value(row).as_bytes());
            }
        }
        Out::ByteaText(a) => {
            if a.is_null(row) {
                buf.put_slice(b"\\N");
            } else {
                // bytea's hex form, its backslash escaped for COPY.
                buf.put_slice(b"\\\\x");
                for byte in a.value(row) {
                    buf.put_slice(&hex(*byte));
                }
            }
        }
    }
    Some(())
}

fn hex(b: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]
}

/// Text COPY's escaping: backslash, tab, newline and carriage return.
fn put_copy_text(buf: &mut BytesMut, v: &[u8]) {
    for &c in v {
        match c {
            b'\\' => buf.put_slice(b"\\\\"),
            b'\t' => buf.put_slice(b"\\t"),
            b'\n' => buf.put_slice(b"\\n"),
            b'\r' => buf.put_slice(b"\\r"),
            c => buf.put_u8(c),
        }
    }
}

// --------------------------------------------------------------------------- parameters

/// A query parameter already in the binary form of the type the server inferred for it.
#[derive(Debug)]
pub struct EncodedParam(Option<Vec<u8>>);

impl tokio_postgres::types::ToSql for EncodedParam {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>>
    {
        match &self.0 {
            None => Ok(tokio_postgres::types::IsNull::Yes),
            Some(b) => {
                out.put_slice(b);
                Ok(tokio_postgres::types::IsNull::No)
            }
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// A raw result value, whatever its type: decoded by [`ReadPlan::push`].
pub struct RawValue<'a>(pub &'a [u8]);

impl<'a> tokio_postgres::types::FromSql<'a> for RawValue<'a> {
    fn from_sql(
        _ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(RawValue(raw))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// The query's parameters encoded for the types the server inferred (`types`), or an
/// error naming the parameter whose value does not fit its type.
pub fn encode_params(params: &[Param], types: &[Type]) -> Result<Vec<EncodedParam>> {
    if params.len() != types.len() {
        return Err(DriverError::Query(format!(
            "the query has {} parameters but {} values were given; give one value per $n",
            types.len(),
            params.len()
        )));
    }
    params
        .iter()
        .zip(types)
        .enumerate()
        .map(|(i, (p, t))| {
            encode_param(p, &base_type(t)).map(EncodedParam).ok_or_else(|| {
                DriverError::Query(format!(
                    "parameter ${}: its value cannot be sent as type {}; cast the parameter in the query (for example ${}::text)",
                    i + 1,
                    t.name(),
                    i + 1
                ))
            })
        })
        .collect()
}

/// Whether values of `t` travel as plain text in binary form.
fn text_like(t: &Type) -> bool {
    matches!(
        *t,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON
    ) || matches!(t.kind(), Kind::Enum(_))
        || t.name() == "citext"
}

fn encode_param(p: &Param, t: &Type) -> Option<Option<Vec<u8>>> {
    let mut b = BytesMut::new();
    let text: std::borrow::Cow<'_, str> = match p {
        Param::Null => return Some(None),
        Param::Bool(v) => match *t {
            Type::BOOL => {
                b.put_u8(u8::from(*v));
                return Some(Some(b.to_vec()));
            }
            _ => (if *v { "true" } else { "false" }).into(),
        },
        Param::Int(v) => match *t {
            Type::INT2 => return Some(Some(i16::try_from(*v).ok()?.to_be_bytes().to_vec())),
            Type::INT4 => return Some(Some(i32::try_from(*v).ok()?.to_be_bytes().to_vec())),
            Type::INT8 => return Some(Some(v.to_be_bytes().to_vec())),
            _ => v.to_string().into(),
        },
        Param::Float(v) => match *t {
            Type::FLOAT4 => return Some(Some((*v as f32).to_be_bytes().to_vec())),
            Type::FLOAT8 => return Some(Some(v.to_be_bytes().to_vec())),
            _ => v.to_string().into(),
        },
        Param::Text(s) => s.as_str().into(),
    };
    let text = text.as_ref();
    if text_like(t) {
        b.put_slice(text.as_bytes());
        return Some(Some(b.to_vec()));
    }
    match *t {
        Type::JSONB => {
            b.put_u8(1);
            b.put_slice(text.as_bytes());
        }
        Type::BYTEA => b.put_slice(text.as_bytes()),
        Type::INT2 => b.put_i16(text.trim().parse().ok()?),
        Type::INT4 => b.put_i32(text.trim().parse().ok()?),
        Type::INT8 => b.put_i64(text.trim().parse().ok()?),
        Type::FLOAT4 => b.put_f32(text.trim().parse().ok()?),
        Type::FLOAT8 => b.put_f64(text.trim().parse().ok()?),
        Type::NUMERIC => put_numeric_text(&mut b, text)?,
        Type::BOOL => b.put_u8(u8::from(super::batches::parse_bool(text)?)),
        Type::DATE => b.put_i32(scalars::parse_date(text)?.checked_sub(PG_EPOCH_DAYS)?),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            b.put_i64(scalars::parse_timestamp(text)?.checked_sub(PG_EPOCH_MICROS)?)
        }
        Type::TIME => b.put_i64(scalars::parse_time(text)?),
        Type::UUID => b.put_slice(&parse_uuid(text)?),
        _ => return None,
    }
    Some(Some(b.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn numeric_bytes(v: i128, scale: i8) -> Vec<u8> {
        let mut b = BytesMut::new();
        put_numeric(&mut b, v, scale).unwrap();
        b.to_vec()
    }

    #[test]
    fn numeric_round_trips_through_the_binary_form() {
        // 12345678901234567890.0123456789: PostgreSQL's own bytes for it.
        let b = numeric_bytes(123456789012345678900123456789, 10);
        let words: Vec<u16> = b
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(
            words,
            [8, 4, 0, 10, 1234, 5678, 9012, 3456, 7890, 123, 4567, 8900]
        );
        for (v, s) in [
            (0i128, 2i8),
            (1, 0),
            (-1, 0),
            (5, 3),
            (-123456, 2),
            (10_000, 0),
            (9_999_999_999_999_999_999_999_999_999_999_999_999, 10),
            (-1, 38),
            (7, -3),
        ] {
            let raw = numeric_bytes(v, s);
            let back = numeric_value(&raw, 38, s.max(0)).unwrap();
            let expected = if s < 0 { v * 1000 } else { v };
            assert_eq!(back, expected, "{v} scale {s}");
        }
        // Rounded half away from zero to the target scale; too many digits refused.
        assert_eq!(numeric_value(&numeric_bytes(125, 2), 38, 1), Ok(13));
        assert_eq!(numeric_value(&numeric_bytes(-125, 2), 38, 1), Ok(-13));
        assert_eq!(numeric_value(&numeric_bytes(12_345_678, 8), 38, 2), Ok(12));
        assert_eq!(numeric_value(&numeric_bytes(5_000, 8), 38, 4), Ok(1));
        assert!(numeric_value(&numeric_bytes(1000, 0), 3, 0).is_err());
        let mut nan = BytesMut::new();
        put_numeric_text(&mut nan, "NaN").unwrap();
        assert!(numeric_value(&nan, 38, 0).is_err());
        let mut t = BytesMut::new();
        put_numeric_text(&mut t, "-1.5e2").unwrap();
        assert_eq!(numeric_value(&t, 38, 0), Ok(-150));
    }

    #[test]
    fn uuids_parse_in_every_spelling() {
        let want = parse_uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap();
        assert_eq!(want[0], 0xa0);
        assert_eq!(want[15], 0x11);
        assert_eq!(parse_uuid("{A0EEBC999C0B4EF8BB6D6BB9BD380A11}"), Some(want));
        assert_eq!(parse_uuid("a0eebc99"), None);
        assert_eq!(parse_uuid("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1100"), None);
    }

    #[test]
    fn copy_rows_split_across_chunks_decode_whole() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
        ]));
        let cols = vec![
            CopyColumn {
                name: "a".into(),
                type_name: "bigint".into(),
                target: Some(PgTarget::Int8),
            },
            CopyColumn {
                name: "b".into(),
                type_name: "text".into(),
                target: Some(PgTarget::Text),
            },
        ];
        let enc = CopyEncoder::new(cols);
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), None, Some(3)]));
        let b: ArrayRef = Arc::new(StringArray::from(vec![Some("x\ty"), Some("Zoë"), None]));
        let mut wire = enc.header().to_vec();
        wire.extend_from_slice(&enc.encode(&[&a, &b], 3).unwrap());
        wire.extend_from_slice(&enc.trailer());
        let plan = ReadPlan {
            wires: vec![Wire::Int, Wire::Text],
            casts: vec![None, None],
        };
        let mut builder = BatchBuilder::new(schema, 2).unwrap();
        let mut parser = CopyParser::new();
        let mut batches = Vec::new();
        for chunk in wire.chunks(5) {
            parser.feed(chunk);
            while parser.rows(&plan, &mut builder).unwrap() {
                batches.push(builder.finish().unwrap());
            }
        }
        parser.finish().unwrap();
        batches.push(builder.finish().unwrap());
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            [2, 1]
        );
        let a = batches[0]
            .column(0)
            .as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!((a.value(0), a.is_null(1)), (1, true));
        assert_eq!(batches[0].column(1).as_string::<i32>().value(1), "Zoë");
        assert_eq!(batches[0].column(1).as_string::<i32>().value(0), "x\ty");
        assert!(batches[1].column(1).is_null(0));
    }

    #[test]
    fn text_copy_escapes_what_text_copy_must() {
        let enc = CopyEncoder::new(vec![
            CopyColumn {
                name: "a".into(),
                type_name: "mood".into(),
                target: None,
            },
            CopyColumn {
                name: "b".into(),
                type_name: "bytea".into(),
                target: Some(PgTarget::Bytea),
            },
        ]);
        assert_eq!(enc.format(), "(FORMAT text)");
        let a: ArrayRef = Arc::new(StringArray::from(vec![Some("a\\b\tc\nd"), None]));
        let b: ArrayRef = Arc::new(BinaryArray::from(vec![Some(&[0u8, 255][..]), None]));
        let out = enc.encode(&[&a, &b], 2).unwrap();
        assert_eq!(&out[..], b"a\\\\b\\tc\\nd\t\\\\x00ff\n\\N\t\\N\n");
    }

    #[test]
    fn reads_cast_on_the_server_only_what_does_not_decode_natively() {
        let plan = ReadPlan {
            wires: vec![Wire::Int, Wire::Text],
            casts: vec![None, Some("text")],
        };
        assert_eq!(
            plan.sql("SELECT id, tags FROM t -- all;\n;"),
            "SELECT q.\"c1\", q.\"c2\"::text FROM (\nSELECT id, tags FROM t -- all\n) AS q(\"c1\", \"c2\")"
        );
    }

    #[test]
    fn params_take_the_inferred_type_or_name_themselves() {
        let out = encode_params(
            &[Param::Int(7), Param::Text("2024-02-29".into()), Param::Null],
            &[Type::INT4, Type::DATE, Type::TEXT],
        )
        .unwrap();
        assert_eq!(out[0].0.as_deref(), Some(&7i32.to_be_bytes()[..]));
        assert!(out[2].0.is_none());
        let e = encode_params(&[Param::Text("soon".into())], &[Type::DATE])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("$1") && e.contains("date") && !e.contains("soon"),
            "{e}"
        );
        assert!(encode_params(&[], &[Type::INT4]).is_err());
    }
}
