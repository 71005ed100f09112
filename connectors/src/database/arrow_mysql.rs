//! MySQL and MariaDB values to and from Arrow: each value of a result row as a [`Cell`],
//! and batches as the text `LOAD DATA LOCAL INFILE` reads ([`LoadEncoder`]): fields
//! separated by tabs, rows by newlines, backslash escapes, `\N` for NULL, binary columns
//! as hex (unhexed by the statement itself, so no byte is ever read as text).

use mysql_async::{
    consts::{ColumnFlags, ColumnType},
    Column, Value as MyValue,
};

use super::{
    arrow_values::{unfit, Values},
    batches::Cell,
    scalars::{self, MICROS_PER_DAY, MICROS_PER_SECOND},
    sql,
};
use crate::{
    error::{DriverError, Result},
    sanitize::Dialect,
};

/// The "binary" character set: BLOB and BINARY columns carry bytes, not text.
const BINARY_CHARSET: u16 = 63;

/// One value of a result row. Zero and impossible dates (`0000-00-00`) read as NULL, as
/// MySQL clients conventionally do; a TIME beyond a day reads as its text.
pub fn cell<'a>(v: &'a MyValue, col: &Column, scratch: &'a mut Vec<u8>) -> Cell<'a> {
    match v {
        MyValue::NULL => Cell::Null,
        MyValue::Int(i) => Cell::Int(*i),
        MyValue::UInt(u) => Cell::UInt(*u),
        MyValue::Float(f) => Cell::Float((*f).into()),
        MyValue::Double(f) => Cell::Float(*f),
        MyValue::Date(y, mo, d, h, mi, s, us) => {
            let Some(days) = scalars::days_from_ymd((*y).into(), (*mo).into(), (*d).into()) else {
                return Cell::Null;
            };
            if col.column_type() == ColumnType::MYSQL_TYPE_DATE {
                Cell::Date(days)
            } else {
                let secs = i64::from(*h) * 3600 + i64::from(*mi) * 60 + i64::from(*s);
                Cell::Timestamp(
                    i64::from(days) * MICROS_PER_DAY + secs * MICROS_PER_SECOND + i64::from(*us),
                )
            }
        }
        MyValue::Time(neg, days, h, mi, s, us) => {
            let secs = (i64::from(*days) * 24 + i64::from(*h)) * 3600
                + i64::from(*mi) * 60
                + i64::from(*s);
            let micros = secs * MICROS_PER_SECOND + i64::from(*us);
            if !*neg && micros < MICROS_PER_DAY {
                return Cell::Time(micros);
            }
            use std::io::Write;
            scratch.clear();
            let sign = if *neg { "-" } else { "" };
            let _ = write!(
                scratch,
                "{sign}{:02}:{mi:02}:{s:02}",
                i64::from(*days) * 24 + i64::from(*h)
            );
            if *us > 0 {
                let _ = write!(scratch, ".{us:06}");
            }
            Cell::Text(std::str::from_utf8(scratch).unwrap_or_default())
        }
        MyValue::Bytes(b) => {
            let binary = col.character_set() == BINARY_CHARSET
                && !matches!(
                    col.column_type(),
                    ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL
                )
                && !col.flags().contains(ColumnFlags::NUM_FLAG);
            match (binary, std::str::from_utf8(b)) {
                (false, Ok(t)) => Cell::Text(t),
                _ => Cell::Bytes(b),
            }
        }
    }
}

/// A query parameter as a MySQL value.
pub fn param(p: &super::Param) -> MyValue {
    match p {
        super::Param::Null => MyValue::NULL,
        super::Param::Bool(b) => MyValue::Int((*b).into()),
        super::Param::Int(i) => MyValue::Int(*i),
        super::Param::Float(f) => MyValue::Double(*f),
        super::Param::Text(s) => MyValue::Bytes(s.as_bytes().to_vec()),
    }
}

/// A table column a load writes: its name and information_schema `DATA_TYPE`.
pub struct LoadColumn {
    pub name: String,
    pub data_type: String,
}

impl LoadColumn {
    fn binary(&self) -> bool {
        matches!(
            self.data_type.as_str(),
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob"
        )
    }

    fn bit(&self) -> bool {
        self.data_type == "bit"
    }
}

/// The `LOAD DATA LOCAL INFILE` statement for `columns` of `table` (already quoted), in
/// the format [`LoadEncoder`] writes.
pub fn load_statement(table: &str, columns: &[LoadColumn]) -> String {
    let mut targets = Vec::with_capacity(columns.len());
    let mut sets = Vec::new();
    for (i, c) in columns.iter().enumerate() {
        let q = sql::quote(Dialect::MySql, &c.name);
        if c.binary() || c.bit() {
            let var = format!("@pw{i}");
            let value = if c.bit() {
                format!("CAST({var} AS UNSIGNED)")
            } else {
                format!("UNHEX({var})")
            };
            sets.push(format!("{q} = {value}"));
            targets.push(var);
        } else {
            targets.push(q);
        }
    }
    let mut s = format!(
        "LOAD DATA LOCAL INFILE 'pipewright' INTO TABLE {table} CHARACTER SET utf8mb4 \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
        targets.join(", ")
    );
    if !sets.is_empty() {
        s.push_str(" SET ");
        s.push_str(&sets.join(", "));
    }
    s
}

/// Batches as LOAD DATA text, for the columns of [`load_statement`].
pub struct LoadEncoder {
    columns: Vec<(String, bool)>,
}

impl LoadEncoder {
    /// `columns`: each written column's name and whether it goes to a binary column.
    pub fn new(names: Vec<String>, columns: &[LoadColumn]) -> Self {
        LoadEncoder {
            columns: names
                .into_iter()
                .zip(columns)
                .map(|(n, c)| (n, c.binary()))
                .collect(),
        }
    }

    /// One batch's rows; `arrays` in the order of the columns.
    pub fn encode(&self, arrays: &[&arrow::array::ArrayRef], rows: usize) -> Result<Vec<u8>> {
        let values = arrays
            .iter()
            .zip(&self.columns)
            .map(|(a, (name, _))| Values::of(a, name))
            .collect::<Result<Vec<_>>>()?;
        let estimate: usize = arrays.iter().map(|a| a.get_buffer_memory_size()).sum();
        let mut out = Vec::with_capacity(estimate + rows * arrays.len());
        for row in 0..rows {
            for (i, (v, (name, binary))) in values.iter().zip(&self.columns).enumerate() {
                if i > 0 {
                    out.push(b'\t');
                }
                put_field(&mut out, v.cell(row), *binary).ok_or_else(|| {
                    let dt = arrays[i].data_type();
                    unfit(name, dt, "MySQL")
                })?;
            }
            out.push(b'\n');
        }
        Ok(out)
    }
}

/// One field: its text, escaped, or `\N`; `None` when MySQL has no such value (NaN,
/// infinity, a date out of range).
fn put_field(out: &mut Vec<u8>, cell: Cell<'_>, binary: bool) -> Option<()> {
    use std::io::Write;
    match cell {
        Cell::Null => out.extend_from_slice(b"\\N"),
        Cell::Bytes(b) if binary => put_hex(out, b),
        Cell::Text(t) if binary => put_hex(out, t.as_bytes()),
        Cell::Bytes(b) => put_escaped(out, b),
        Cell::Text(t) => put_escaped(out, t.as_bytes()),
        Cell::Bool(b) => out.push(if b { b'1' } else { b'0' }),
        Cell::Int(v) => write!(out, "{v}").ok()?,
        Cell::UInt(v) => write!(out, "{v}").ok()?,
        Cell::Float(f) if !f.is_finite() => return None,
        Cell::Float(f) if f == 0.0 || (1e-5..1e16).contains(&f.abs()) => write!(out, "{f}").ok()?,
        Cell::Float(f) => write!(out, "{f:e}").ok()?,
        Cell::Decimal(v, s) => {
            let start = out.len();
            scalars::push_decimal(out, v, s);
            // Trailing zeros dropped, so a narrower column takes the value without a note.
            if out[start..].contains(&b'.') {
                while out.last() == Some(&b'0') {
                    out.pop();
                }
                if out.last() == Some(&b'.') {
                    out.pop();
                }
            }
        }
        Cell::Date(d) => scalars::push_date(out, d)?,
        Cell::Timestamp(us) => scalars::push_timestamp(out, us, b' ')?,
        Cell::Time(us) => scalars::push_time(out, us)?,
    }
    Some(())
}

fn put_hex(out: &mut Vec<u8>, b: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for byte in b {
        out.push(DIGITS[usize::from(byte >> 4)]);
        out.push(DIGITS[usize::from(byte & 15)]);
    }
}

/// The escapes `ESCAPED BY '\\'` undoes: the escape itself, the field and line
/// terminators, carriage return and NUL.
fn put_escaped(out: &mut Vec<u8>, v: &[u8]) {
    for &c in v {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\0"),
            c => out.push(c),
        }
    }
}

/// The load's error when a value did not fit: MySQL reports it as a warning (LOAD DATA
/// LOCAL cannot stop the client mid-file), `code` and, when it names one, the column.
pub fn warning_error(count: usize, code: u16, message: &str) -> DriverError {
    // "… for column `db`.`t`.`c` at row 3": identifiers and a row number, never a value.
    let column = message
        .find("for column ")
        .map(|i| message[i..].to_string())
        .unwrap_or_default();
    DriverError::Query(format!(
        "loading the rows raised {count} warning(s) (MySQL code {code}{}{column}): a value did not fit its column (wrong type, out of range, too long, NULL in a NOT NULL column) or a key was duplicated; nothing was written",
        if column.is_empty() { "" } else { ", " }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, BinaryArray, Decimal128Array, Float64Array, StringArray};
    use std::sync::Arc;

    fn column(name: &str, data_type: &str) -> LoadColumn {
        LoadColumn {
            name: name.into(),
            data_type: data_type.into(),
        }
    }

    #[test]
    fn load_statement_quotes_and_unhexes() {
        let cols = [
            column("a`b", "varchar"),
            column("bin", "blob"),
            column("f", "bit"),
        ];
        assert_eq!(
            load_statement("`t`", &cols),
            "LOAD DATA LOCAL INFILE 'pipewright' INTO TABLE `t` CHARACTER SET utf8mb4 \
             FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' \
             (`a``b`, @pw1, @pw2) SET `bin` = UNHEX(@pw1), `f` = CAST(@pw2 AS UNSIGNED)"
        );
    }

    #[test]
    fn fields_escape_what_load_data_unescapes() {
        let cols = [
            column("s", "text"),
            column("b", "blob"),
            column("d", "decimal"),
            column("f", "double"),
        ];
        let enc = LoadEncoder::new(cols.iter().map(|c| c.name.clone()).collect(), &cols);
        let s: ArrayRef = Arc::new(StringArray::from(vec![Some("a\\b\tc\nd\re\0f"), None]));
        let b: ArrayRef = Arc::new(BinaryArray::from(vec![
            Some(&[0u8, 0xab][..]),
            Some(&[][..]),
        ]));
        let d: ArrayRef = Arc::new(
            Decimal128Array::from(vec![Some(12_300_000_000), Some(-5)])
                .with_precision_and_scale(38, 10)
                .unwrap(),
        );
        let f: ArrayRef = Arc::new(Float64Array::from(vec![Some(1e300), Some(0.25)]));
        let out = enc.encode(&[&s, &b, &d, &f], 2).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\\\b\\tc\\nd\\re\\0f\t00AB\t1.23\t1e300\n\\N\t\t-0.0000000005\t0.25\n"
        );
        let nan: ArrayRef = Arc::new(Float64Array::from(vec![f64::NAN]));
        let e = LoadEncoder::new(vec!["f".into()], &cols[3..])
            .encode(&[&nan], 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`f`"), "{e}");
    }

    #[test]
    fn warnings_name_the_column_never_the_value() {
        let e = warning_error(
            2,
            1366,
            "Incorrect integer value: 'Secret-Value' for column `db`.`t`.`qty` at row 1",
        )
        .to_string();
        assert!(e.contains("1366") && e.contains("`qty`"), "{e}");
        assert!(!e.contains("Secret-Value"), "{e}");
    }
}
