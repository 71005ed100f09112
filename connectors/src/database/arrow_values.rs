//! Arrow columns on their way into a database. A write receives whatever DataFusion
//! produced; before a backend encodes a column it is brought to one type the backend
//! knows: [`conform`] casts it to the type a table column needs (PostgreSQL, SQL Server),
//! [`Values`] to a small canonical set read value by value as [`Cell`]s (MySQL, SQLite).
//! Types a database cannot take are refused up front, naming the column
//! ([`check_writable`]).
//!
//! Zoned timestamps are written as the UTC instant they hold: the zone is dropped, never
//! applied, so no time-zone database is needed and every backend agrees.

use arrow::{
    array::{
        make_array, Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Date32Array,
        Decimal128Array, Float64Array, Int64Array, StringArray, Time64MicrosecondArray,
        TimestampMicrosecondArray, UInt64Array,
    },
    compute::{cast_with_options, CastOptions},
    datatypes::{DataType, Schema, TimeUnit},
};

use super::batches::Cell;
use crate::error::{DriverError, Result};

/// Whether a column of this type can be written to a database at all.
fn writable(dt: &DataType) -> bool {
    use DataType::*;
    match dt {
        Null | Boolean | Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
        | Float16 | Float32 | Float64 | Decimal128(..) | Utf8 | LargeUtf8 | Utf8View | Binary
        | LargeBinary | BinaryView | FixedSizeBinary(_) | Date32 | Date64 | Timestamp(..)
        | Time32(_) | Time64(_) => true,
        Dictionary(_, v) => writable(v),
        _ => false,
    }
}

/// Refuses, naming the column, a schema with a type no database column takes.
pub fn check_writable(schema: &Schema) -> Result<()> {
    for f in schema.fields() {
        if !writable(f.data_type()) {
            return Err(DriverError::Query(format!(
                "column `{}` has Arrow type {}, which cannot be written to a database table; cast it to text, a number, a date or a timestamp first",
                f.name(),
                f.data_type()
            )));
        }
    }
    Ok(())
}

/// The error for a column whose values do not convert to what its table column needs.
pub fn unfit(column: &str, from: &DataType, target: &str) -> DriverError {
    DriverError::Query(format!(
        "column `{column}`: values of Arrow type {from} cannot be written to a {target} column (a value is malformed or out of range); cast the column to a fitting type first"
    ))
}

/// `array` as `wanted`: dictionaries unpacked, zones dropped (see the module doc), then
/// cast strictly (a value that does not convert is an error, never a silent null).
pub fn conform(array: &ArrayRef, wanted: &DataType) -> std::result::Result<ArrayRef, ()> {
    let array = unzoned(array)?;
    if array.data_type() == wanted {
        return Ok(array);
    }
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(&array, wanted, &options).map_err(|_| ())
}

/// Timestamps with a zone as the same instants without one (the values are UTC already).
fn unzoned(array: &ArrayRef) -> std::result::Result<ArrayRef, ()> {
    let array = match array.data_type() {
        DataType::Dictionary(_, v) => {
            let options = CastOptions {
                safe: false,
                ..Default::default()
            };
            cast_with_options(array, v, &options).map_err(|_| ())?
        }
        _ => array.clone(),
    };
    match array.data_type() {
        DataType::Timestamp(unit, Some(_)) => {
            let data = array
                .to_data()
                .into_builder()
                .data_type(DataType::Timestamp(*unit, None))
                .build()
                .map_err(|_| ())?;
            Ok(make_array(data))
        }
        _ => Ok(array),
    }
}

/// The canonical type a column of `dt` is read back as by [`Values`].
pub fn canonical(dt: &DataType) -> DataType {
    use DataType::*;
    match dt {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 => Int64,
        Float16 | Float32 | Float64 => Float64,
        Utf8 | LargeUtf8 | Utf8View => Utf8,
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => Binary,
        Date32 | Date64 => Date32,
        Timestamp(..) => Timestamp(TimeUnit::Microsecond, None),
        Time32(_) | Time64(_) => Time64(TimeUnit::Microsecond),
        Dictionary(_, v) => canonical(v),
        other => other.clone(),
    }
}

/// One column in canonical form, read value by value.
pub enum Values {
    Null,
    Bool(BooleanArray),
    Int(Int64Array),
    UInt(UInt64Array),
    Float(Float64Array),
    Decimal(Decimal128Array, i8),
    Text(StringArray),
    Bytes(BinaryArray),
    Date(Date32Array),
    Timestamp(TimestampMicrosecondArray),
    Time(Time64MicrosecondArray),
}

impl Values {
    /// `array` (column `name`) in canonical form.
    pub fn of(array: &ArrayRef, name: &str) -> Result<Values> {
        let wanted = canonical(array.data_type());
        let a = conform(array, &wanted).map_err(|_| unfit(name, array.data_type(), "database"))?;
        Ok(match a.data_type() {
            DataType::Null => Values::Null,
            DataType::Boolean => Values::Bool(a.as_boolean().clone()),
            DataType::Int64 => Values::Int(a.as_primitive().clone()),
            DataType::UInt64 => Values::UInt(a.as_primitive().clone()),
            DataType::Float64 => Values::Float(a.as_primitive().clone()),
            DataType::Decimal128(_, s) => Values::Decimal(a.as_primitive().clone(), *s),
            DataType::Utf8 => Values::Text(a.as_string::<i32>().clone()),
            DataType::Binary => Values::Bytes(a.as_binary::<i32>().clone()),
            DataType::Date32 => Values::Date(a.as_primitive().clone()),
            DataType::Timestamp(TimeUnit::Microsecond, None) => {
                Values::Timestamp(a.as_primitive().clone())
            }
            DataType::Time64(TimeUnit::Microsecond) => Values::Time(a.as_primitive().clone()),
            other => {
                return Err(DriverError::Query(format!(
                    "column `{name}` has Arrow type {other}, which cannot be written to a database table; cast it first"
                )))
            }
        })
    }

    /// The value at `row`.
    #[inline]
    pub fn cell(&self, row: usize) -> Cell<'_> {
        macro_rules! get {
            ($a:expr, $cell:expr) => {
                if $a.is_null(row) {
                    Cell::Null
                } else {
                    $cell
                }
            };
        }
        match self {
            Values::Null => Cell::Null,
            Values::Bool(a) => get!(a, Cell::Bool(a.value(row))),
            Values::Int(a) => get!(a, Cell::Int(a.value(row))),
            Values::UInt(a) => get!(a, Cell::UInt(a.value(row))),
            Values::Float(a) => get!(a, Cell::Float(a.value(row))),
            Values::Decimal(a, s) => get!(a, Cell::Decimal(a.value(row), *s)),
            Values::Text(a) => get!(a, Cell::Text(a.value(row))),
            Values::Bytes(a) => get!(a, Cell::Bytes(a.value(row))),
            Values::Date(a) => get!(a, Cell::Date(a.value(row))),
            Values::Timestamp(a) => get!(a, Cell::Timestamp(a.value(row))),
            Values::Time(a) => get!(a, Cell::Time(a.value(row))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::{
        array::{
            DictionaryArray, Int8Array, LargeStringArray, StringViewArray, TimestampNanosecondArray,
        },
        datatypes::{Field, Int32Type},
    };
    use std::sync::Arc;

    #[test]
    fn every_listed_type_reads_back_in_canonical_form() {
        let ts = TimestampNanosecondArray::from(vec![Some(1_500_000_123_456_789), None])
            .with_timezone("+02:00");
        let v = Values::of(&(Arc::new(ts) as ArrayRef), "ts").unwrap();
        assert_eq!(v.cell(0), Cell::Timestamp(1_500_000_123_456));
        assert_eq!(v.cell(1), Cell::Null);
        let v = Values::of(&(Arc::new(Int8Array::from(vec![-3])) as ArrayRef), "i").unwrap();
        assert_eq!(v.cell(0), Cell::Int(-3));
        let v = Values::of(
            &(Arc::new(StringViewArray::from(vec!["Zoë"])) as ArrayRef),
            "s",
        )
        .unwrap();
        assert_eq!(v.cell(0), Cell::Text("Zoë"));
        let v = Values::of(
            &(Arc::new(LargeStringArray::from(vec!["x"])) as ArrayRef),
            "s",
        )
        .unwrap();
        assert_eq!(v.cell(0), Cell::Text("x"));
        let dict: DictionaryArray<Int32Type> = vec!["a", "b", "a"].into_iter().collect();
        let v = Values::of(&(Arc::new(dict) as ArrayRef), "d").unwrap();
        assert_eq!(v.cell(2), Cell::Text("a"));
        let null = arrow::array::new_null_array(&DataType::Null, 2);
        assert_eq!(Values::of(&null, "n").unwrap().cell(1), Cell::Null);
    }

    #[test]
    fn unwritable_types_are_refused_by_column() {
        let s = Schema::new(vec![
            Field::new("ok", DataType::Utf8, true),
            Field::new(
                "tags",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]);
        let e = check_writable(&s).unwrap_err().to_string();
        assert!(e.contains("`tags`") && e.contains("List"), "{e}");
    }

    #[test]
    fn strict_casts_refuse_instead_of_nulling() {
        let a: ArrayRef = Arc::new(StringArray::from(vec!["12", "x"]));
        assert!(conform(&a, &DataType::Int64).is_err());
        let a: ArrayRef = Arc::new(Int64Array::from(vec![70_000]));
        assert!(conform(&a, &DataType::Int16).is_err());
        assert!(conform(&a, &DataType::Int32).is_ok());
    }
}
