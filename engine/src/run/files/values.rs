//! Text columns (as the CSV and JSON decoders hand them over, untyped) typed as the
//! source declares them, in the layouts file discovery recognises: integers; decimals with
//! a `.` or `,` separator, grouped or not; booleans (`true`, `yes`, `t`, `y`, `1`, …);
//! dates in ISO or day-first or month-first forms; timestamps with `T` or a space, with
//! or without seconds, fractions and a zone. Discovery's null words (`NULL`, `NA`, `\N`,
//! an empty cell, …) are nulls in typed columns; text columns keep every value but the
//! empty one.
//!
//! Why not Arrow's typed CSV parsing: it knows ISO dates only, and its errors quote the
//! value (a run log must not). Here a value that does not fit is reported by column and
//! record, never shown.
//!
//! Where a form is ambiguous (`01/02/2024`), a column keeps one form for all its values:
//! each batch narrows the forms the column's values so far fit, and the first left wins
//! (ISO, then day-first, then month-first, as discovery breaks ties).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanBuilder, PrimitiveBuilder, RecordBatch, StringArray,
};
use arrow::compute::kernels::cast_utils::{parse_decimal, string_to_datetime, Parser};
use arrow::compute::{cast_with_options, CastOptions};
use arrow::datatypes::{
    DataType, Date32Type, Decimal128Type, Int64Type, SchemaRef, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use discovery::types::{date_mask, is_decimal, is_grouped, is_null, DATE_FORMATS};

/// A value that does not fit its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadValue {
    /// The column, as downstream components name it.
    pub column: String,
    /// The row in the batch.
    pub row: usize,
    /// What the column's values must be ("an integer", …).
    pub expected: String,
}

/// Types the text columns of one file's batches.
pub(crate) struct Typing {
    schema: SchemaRef,
    /// Per column: the forms (bits) its values still fit.
    forms: Vec<u16>,
}

const ALL: u16 = u16::MAX;

/// Decimal forms, in the order discovery prefers them.
const DOT: u16 = 1;
const COMMA: u16 = 2;
const GROUPED_DOT: u16 = 4; // 1,234.5
const GROUPED_COMMA: u16 = 8; // 1.234,5

impl Typing {
    pub fn new(schema: SchemaRef) -> Typing {
        let forms = vec![ALL; schema.fields().len()];
        Typing { schema, forms }
    }

    /// `raw` has one text column per column of the schema, in order.
    pub fn apply(&mut self, raw: &RecordBatch) -> Result<RecordBatch, BadValue> {
        let mut columns = Vec::with_capacity(raw.num_columns());
        let schema = Arc::clone(&self.schema);
        for (i, field) in schema.fields().iter().enumerate() {
            let text = raw
                .column(i)
                .as_any()
                .downcast_ref::<StringArray>()
                .ok_or_else(|| BadValue {
                    column: field.name().clone(),
                    row: 0,
                    expected: "text".into(),
                })?;
            let typed = self
                .column(i, text, field.data_type())
                .map_err(|(row, expected)| BadValue {
                    column: field.name().clone(),
                    row,
                    expected,
                })?;
            columns.push(typed);
        }
        RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|_| BadValue {
            column: String::new(),
            row: 0,
            expected: "a row with every column".into(),
        })
    }

    fn column(
        &mut self,
        i: usize,
        text: &StringArray,
        to: &DataType,
    ) -> Result<ArrayRef, (usize, String)> {
        match to {
            DataType::Utf8 => Ok(Arc::new(text.clone())),
            DataType::Int64 => {
                typed::<Int64Type>(text, to, |v| v.strip_prefix('+').unwrap_or(v).parse().ok())
                    .map_err(|row| (row, "an integer".into()))
            }
            DataType::Boolean => boolean(text).map_err(|row| (row, "true or false".into())),
            DataType::Decimal128(precision, scale) => {
                let form = self.narrow(i, text, decimal_forms, "a decimal number")?;
                let (p, s) = (*precision, *scale);
                typed::<Decimal128Type>(text, to, |v| {
                    parse_decimal::<Decimal128Type>(&plain_decimal(v, form), p, s).ok()
                })
                .map_err(|row| (row, "a decimal number".into()))
            }
            DataType::Date32 => {
                let form = self.narrow(i, text, date_forms, "a date")?;
                let format = DATE_FORMATS[form.trailing_zeros() as usize];
                typed::<Date32Type>(text, to, |v| date(v, format))
                    .map_err(|row| (row, format!("a date like {}", example(format))))
            }
            DataType::Timestamp(unit, _) => {
                let form = self.narrow(i, text, |v| date_forms(date_part(v)), "a timestamp")?;
                let format = DATE_FORMATS[form.trailing_zeros() as usize];
                let scale = |micros: i64| match unit {
                    TimeUnit::Second => Some(micros.div_euclid(1_000_000)),
                    TimeUnit::Millisecond => Some(micros.div_euclid(1000)),
                    TimeUnit::Microsecond => Some(micros),
                    TimeUnit::Nanosecond => micros.checked_mul(1000),
                };
                let parse = |v: &str| timestamp_micros(v, format).and_then(scale);
                let expected = |row| (row, "a timestamp (a date and a time of day)".to_string());
                match unit {
                    TimeUnit::Second => typed::<TimestampSecondType>(text, to, parse),
                    TimeUnit::Millisecond => typed::<TimestampMillisecondType>(text, to, parse),
                    TimeUnit::Microsecond => typed::<TimestampMicrosecondType>(text, to, parse),
                    TimeUnit::Nanosecond => typed::<TimestampNanosecondType>(text, to, parse),
                }
                .map_err(expected)
            }
            other => cast(text, other),
        }
    }

    /// Narrows column `i`'s forms by this batch's values; the form to read them in. A
    /// value that fits none of the forms left is reported.
    fn narrow(
        &mut self,
        i: usize,
        text: &StringArray,
        forms_of: impl Fn(&str) -> u16,
        expected: &str,
    ) -> Result<u16, (usize, String)> {
        let mut left = self.forms[i];
        for row in 0..text.len() {
            if text.is_null(row) {
                continue;
            }
            let v = text.value(row).trim();
            if is_null(v) {
                continue;
            }
            let fits = left & forms_of(v);
            if fits == 0 {
                let why = if forms_of(v) == 0 {
                    expected.to_string()
                } else {
                    format!("{expected} written the way the column's other values are")
                };
                return Err((row, why));
            }
            left = fits;
        }
        self.forms[i] = left;
        // The lowest form left (ISO, day-first, month-first; `.` before `,`).
        Ok(left & left.wrapping_neg())
    }
}

/// A primitive column from text, each value through `parse`; the first row that does
/// not parse is the error.
fn typed<T: ArrowPrimitiveType>(
    text: &StringArray,
    to: &DataType,
    mut parse: impl FnMut(&str) -> Option<T::Native>,
) -> Result<ArrayRef, usize> {
    let mut b = PrimitiveBuilder::<T>::with_capacity(text.len()).with_data_type(to.clone());
    for row in 0..text.len() {
        if text.is_null(row) {
            b.append_null();
            continue;
        }
        let v = text.value(row).trim();
        if is_null(v) {
            b.append_null();
            continue;
        }
        b.append_value(parse(v).ok_or(row)?);
    }
    Ok(Arc::new(b.finish()))
}

fn boolean(text: &StringArray) -> Result<ArrayRef, usize> {
    let mut b = BooleanBuilder::with_capacity(text.len());
    for row in 0..text.len() {
        if text.is_null(row) {
            b.append_null();
            continue;
        }
        let v = text.value(row).trim();
        if is_null(v) {
            b.append_null();
            continue;
        }
        let word = |w: &str| v.eq_ignore_ascii_case(w);
        if ["true", "t", "yes", "y", "1"].into_iter().any(word) {
            b.append_value(true);
        } else if ["false", "f", "no", "n", "0"].into_iter().any(word) {
            b.append_value(false);
        } else {
            return Err(row);
        }
    }
    Ok(Arc::new(b.finish()))
}

/// Any other type: Arrow's cast of the trimmed values, nulls kept; a value the cast
/// turns into a null does not fit.
fn cast(text: &StringArray, to: &DataType) -> Result<ArrayRef, (usize, String)> {
    let clean: StringArray = text
        .iter()
        .map(|v| v.map(str::trim).filter(|v| !is_null(v)))
        .collect();
    let options = CastOptions {
        safe: true,
        ..Default::default()
    };
    let out = cast_with_options(&clean, to, &options).map_err(|_| (0, format!("{to}")))?;
    match (0..clean.len()).find(|&r| clean.is_valid(r) && out.is_null(r)) {
        Some(row) => Err((row, format!("{to}"))),
        None => Ok(out),
    }
}

fn decimal_forms(v: &str) -> u16 {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return DOT | COMMA | GROUPED_DOT | GROUPED_COMMA;
    }
    // A plain decimal also fits the grouped form with the same separator (`12.25` beside
    // `1,234.5`).
    let mut m = 0;
    if is_decimal(v, b'.') {
        m |= DOT | GROUPED_DOT;
    }
    if is_decimal(v, b',') {
        m |= COMMA | GROUPED_COMMA;
    }
    if is_grouped(v, b',') {
        m |= GROUPED_DOT;
    }
    if is_grouped(v, b'.') {
        m |= GROUPED_COMMA;
    }
    m
}

/// A decimal in `form` written as Arrow parses it (`.` separator, no grouping).
fn plain_decimal(v: &str, form: u16) -> std::borrow::Cow<'_, str> {
    match form {
        COMMA => v.replace(',', ".").into(),
        GROUPED_DOT => v.replace(',', "").into(),
        GROUPED_COMMA => v.replace('.', "").replace(',', ".").into(),
        _ => v.into(),
    }
}

const ISO_DATE: &str = "%Y-%m-%d";

/// The date forms a value fits, as bits of [`DATE_FORMATS`]. The common case first and
/// cheaply: `YYYY-MM-DD` fits ISO alone (a day out of range fails when it is parsed).
fn date_forms(v: &str) -> u16 {
    let b = v.as_bytes();
    let iso = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if iso {
        1
    } else {
        date_mask(v)
    }
}

fn date(v: &str, format: &str) -> Option<i32> {
    if format == ISO_DATE {
        if let Some(d) = Date32Type::parse(v) {
            return Some(d);
        }
    }
    let d = NaiveDate::parse_from_str(v, format).ok()?;
    Some((d - NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days() as i32)
}

/// An example date in `format`, for messages.
fn example(format: &str) -> String {
    NaiveDate::from_ymd_opt(2024, 1, 31)
        .map(|d| d.format(format).to_string())
        .unwrap_or_default()
}

/// The date at the start of a timestamp (before a `T` or a space).
fn date_part(v: &str) -> &str {
    match v.find(['T', ' ']) {
        Some(at) if at >= 8 => &v[..at],
        _ => v,
    }
}

/// Microseconds since the epoch (UTC) of a timestamp whose date is in `format`; a bare
/// date is its midnight.
fn timestamp_micros(v: &str, format: &str) -> Option<i64> {
    if format == ISO_DATE {
        if let Ok(t) = string_to_datetime(&chrono::Utc, v) {
            return Some(t.timestamp_micros());
        }
    }
    let day = v.get(..date_part(v).len())?;
    let d = NaiveDate::parse_from_str(day, format).ok()?;
    let rest = v[day.len()..].trim_start_matches(['T', ' ']);
    if rest.is_empty() {
        return Some(d.and_time(NaiveTime::MIN).and_utc().timestamp_micros());
    }
    let (time, offset) = zone(rest)?;
    let time = time.replace(',', ".");
    let t = ["%H:%M:%S%.f", "%H:%M"]
        .iter()
        .find_map(|f| NaiveTime::parse_from_str(&time, f).ok())?;
    let local = NaiveDateTime::new(d, t).and_utc().timestamp_micros();
    local.checked_sub(offset * 1_000_000)
}

/// A time of day and its zone (`Z`, `UTC`, `+02:00`, `+0200`, `+02`): the time and the
/// zone's offset in seconds.
fn zone(rest: &str) -> Option<(&str, i64)> {
    let rest = rest.trim();
    for utc in [" UTC", "UTC", "Z"] {
        if let Some(t) = rest.strip_suffix(utc) {
            return Some((t.trim_end(), 0));
        }
    }
    // A sign after the hours and minutes starts an offset.
    match rest.get(5..).and_then(|r| r.rfind(['+', '-'])) {
        None => Some((rest, 0)),
        Some(at) => {
            let at = at + 5;
            let (t, z) = (&rest[..at], &rest[at..]);
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let (h, m) = match digits.len() {
                2 => (digits.parse::<i64>().ok()?, 0),
                4 => (digits[..2].parse().ok()?, digits[2..].parse().ok()?),
                _ => return None,
            };
            Some((t.trim_end(), sign * (h * 3600 + m * 60)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Decimal128Array};
    use arrow::datatypes::{Field, Schema};

    fn typing(types: &[DataType]) -> Typing {
        Typing::new(Arc::new(Schema::new(
            types
                .iter()
                .enumerate()
                .map(|(i, t)| Field::new(format!("c{i}"), t.clone(), true))
                .collect::<Vec<_>>(),
        )))
    }

    fn batch(columns: &[&[Option<&str>]]) -> RecordBatch {
        let arrays: Vec<(String, ArrayRef)> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let a: StringArray = c.iter().copied().collect();
                (format!("c{i}"), Arc::new(a) as ArrayRef)
            })
            .collect();
        RecordBatch::try_from_iter(arrays).unwrap()
    }

    fn one(t: DataType, values: &[Option<&str>]) -> Result<ArrayRef, BadValue> {
        let mut ty = typing(&[t]);
        ty.apply(&batch(&[values])).map(|b| Arc::clone(b.column(0)))
    }

    fn days(y: i32, m: u32, d: u32) -> i32 {
        (NaiveDate::from_ymd_opt(y, m, d).unwrap() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
            .num_days() as i32
    }

    #[test]
    fn integers_booleans_and_null_words() {
        let a = one(
            DataType::Int64,
            &[
                Some(" 42 "),
                Some("+7"),
                Some("-3"),
                Some("NULL"),
                Some("NA"),
                None,
            ],
        )
        .unwrap();
        let a = a.as_primitive::<Int64Type>();
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            [Some(42), Some(7), Some(-3), None, None, None]
        );
        let b = one(
            DataType::Boolean,
            &[Some("Yes"), Some("f"), Some("TRUE"), Some("0"), Some("\\N")],
        )
        .unwrap();
        assert_eq!(
            b.as_boolean().iter().collect::<Vec<_>>(),
            [Some(true), Some(false), Some(true), Some(false), None]
        );
    }

    #[test]
    fn a_value_that_does_not_fit_is_reported_by_column_and_row_without_the_value() {
        let e = one(DataType::Int64, &[Some("1"), Some("2"), Some("SECRET-ish")]).unwrap_err();
        assert_eq!(
            e,
            BadValue {
                column: "c0".into(),
                row: 2,
                expected: "an integer".into()
            }
        );
        let e = one(DataType::Date32, &[Some("2024-01-31"), Some("tomorrow")]).unwrap_err();
        assert_eq!((e.row, e.expected.as_str()), (1, "a date"));
    }

    #[test]
    fn decimals_in_every_form_discovery_reports() {
        let t = DataType::Decimal128(38, 10);
        let scaled = |a: ArrayRef| {
            a.as_any()
                .downcast_ref::<Decimal128Array>()
                .unwrap()
                .iter()
                .map(|v| v.map(|v| v as f64 / 1e10))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            scaled(
                one(
                    t.clone(),
                    &[Some("10.5"), Some("-3.25"), Some("20"), Some("1e3")]
                )
                .unwrap()
            ),
            [Some(10.5), Some(-3.25), Some(20.0), Some(1000.0)]
        );
        assert_eq!(
            scaled(one(t.clone(), &[Some("10,5"), Some("7")]).unwrap()),
            [Some(10.5), Some(7.0)]
        );
        assert_eq!(
            scaled(one(t.clone(), &[Some("1,234.5"), Some("12.25")]).unwrap()),
            [Some(1234.5), Some(12.25)]
        );
        assert_eq!(
            scaled(one(t, &[Some("1.234,5"), Some("2,5")]).unwrap()),
            [Some(1234.5), Some(2.5)]
        );
    }

    #[test]
    fn dates_in_iso_day_first_and_month_first_forms_one_form_per_column() {
        let d = |values: &[Option<&str>]| {
            one(DataType::Date32, values)
                .map(|a| a.as_primitive::<Date32Type>().iter().collect::<Vec<_>>())
        };
        assert_eq!(
            d(&[Some("2024-01-31"), Some(""), Some("2024-02-29")]).unwrap(),
            [Some(days(2024, 1, 31)), None, Some(days(2024, 2, 29))]
        );
        // Ambiguous until 13/02: day-first for all.
        assert_eq!(
            d(&[Some("01/02/2024"), Some("13/02/2024")]).unwrap(),
            [Some(days(2024, 2, 1)), Some(days(2024, 2, 13))]
        );
        // Month-first once 02/13 shows it.
        assert_eq!(
            d(&[Some("01/02/2024"), Some("02/13/2024")]).unwrap(),
            [Some(days(2024, 1, 2)), Some(days(2024, 2, 13))]
        );
        assert_eq!(d(&[Some("31.01.2024")]).unwrap(), [Some(days(2024, 1, 31))]);
        // Two forms that exclude each other cannot be one column.
        let e = d(&[Some("13/02/2024"), Some("02/13/2024")]).unwrap_err();
        assert_eq!(e.row, 1);
        assert!(e.expected.contains("the way the column's other values are"));
    }

    #[test]
    fn timestamps_with_t_or_space_seconds_fractions_and_zones() {
        let t = DataType::Timestamp(TimeUnit::Microsecond, None);
        let micros = |s: &str| {
            NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f")
                .unwrap()
                .and_utc()
                .timestamp_micros()
        };
        let a = one(
            t.clone(),
            &[
                Some("2024-01-31 10:20:30"),
                Some("2024-01-31T10:20:30.123456"),
                Some("2024-01-31T10:20:30Z"),
                Some("2024-01-31 10:20:30+02:00"),
                Some("2024-01-31 10:20"),
                Some("2024-01-31"),
                Some("null"),
            ],
        )
        .unwrap();
        assert_eq!(
            a.as_primitive::<TimestampMicrosecondType>()
                .iter()
                .collect::<Vec<_>>(),
            [
                Some(micros("2024-01-31 10:20:30")),
                Some(micros("2024-01-31 10:20:30.123456")),
                Some(micros("2024-01-31 10:20:30")),
                Some(micros("2024-01-31 08:20:30")),
                Some(micros("2024-01-31 10:20:00")),
                Some(micros("2024-01-31 00:00:00")),
                None,
            ]
        );
        let a = one(
            t.clone(),
            &[
                Some("31/01/2024 10:20:30"),
                Some("13/02/2024 23:59"),
                Some("01/02/2024T06:00:00+0100"),
            ],
        )
        .unwrap();
        assert_eq!(
            a.as_primitive::<TimestampMicrosecondType>()
                .iter()
                .collect::<Vec<_>>(),
            [
                Some(micros("2024-01-31 10:20:30")),
                Some(micros("2024-02-13 23:59:00")),
                Some(micros("2024-02-01 05:00:00")),
            ]
        );
        let e = one(t, &[Some("2024-01-31 25:00:00")]).unwrap_err();
        assert_eq!(e.row, 0);
    }

    #[test]
    fn the_cheap_iso_check_agrees_with_discovery() {
        assert_eq!(DATE_FORMATS[0], ISO_DATE);
        for v in [
            "2024-01-31",
            "31/01/2024",
            "2024/01/31",
            "01-31-2024",
            "2024-1-5",
        ] {
            assert_eq!(date_forms(v), date_mask(v), "{v}");
        }
    }

    #[test]
    fn text_keeps_its_values_and_other_types_are_cast() {
        let a = one(DataType::Utf8, &[Some(" NA "), Some("x")]).unwrap();
        assert_eq!(
            a.as_string::<i32>().iter().collect::<Vec<_>>(),
            [Some(" NA "), Some("x")]
        );
        let f = one(DataType::Float64, &[Some("1.5"), Some("n/a")]).unwrap();
        assert_eq!(
            f.as_primitive::<arrow::datatypes::Float64Type>()
                .iter()
                .collect::<Vec<_>>(),
            [Some(1.5), None]
        );
        let e = one(DataType::Float64, &[Some("1.5"), Some("abc")]).unwrap_err();
        assert_eq!(e.row, 1);
    }
}
