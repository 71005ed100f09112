//! Column types from text values: integer, decimal (with `.` or `,` as the decimal
//! separator), boolean, date and timestamp (with their format), else string. A column
//! takes the narrowest type every non-null value fits; the confidence grows with the
//! number of values that agree.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Integer,
    Decimal,
    Boolean,
    Date,
    Timestamp,
    String,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Decimal => "decimal",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Timestamp => "timestamp",
            ColumnType::String => "string",
        }
    }
}

/// Values that mean "no value".
pub fn is_null(v: &str) -> bool {
    let t = v.trim();
    t.is_empty()
        || matches!(
            t,
            "NULL" | "null" | "Null" | "NA" | "N/A" | "n/a" | "\\N" | "NaN" | "nan" | "None"
        )
}

/// Date layouts, in the order a tie is broken (ISO first, then day-first, then US).
pub const DATE_FORMATS: &[&str] = &[
    "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y",
];

fn all_digits(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(u8::is_ascii_digit)
}

fn num(s: &[u8]) -> u32 {
    s.iter().fold(0u32, |a, d| {
        a.saturating_mul(10).saturating_add((d - b'0') as u32)
    })
}

/// Which [`DATE_FORMATS`] a value fits, as a bit mask.
pub fn date_mask(v: &str) -> u16 {
    let b = v.as_bytes();
    if b.len() < 8 || b.len() > 10 {
        return 0;
    }
    let sep = match b.iter().find(|c| !c.is_ascii_digit()) {
        Some(&c) if c == b'-' || c == b'/' || c == b'.' => c,
        _ => return 0,
    };
    let parts: Vec<&[u8]> = b.split(|&c| c == sep).collect();
    if parts.len() != 3 || !parts.iter().all(|p| all_digits(p)) {
        return 0;
    }
    let (a, m, c) = (parts[0], parts[1], parts[2]);
    let day_ok = |d: u32, mo: u32| (1..=12).contains(&mo) && (1..=days_in(mo)).contains(&d);
    let mut mask = 0u16;
    for (i, f) in DATE_FORMATS.iter().enumerate() {
        let fsep = f.as_bytes()[2];
        if fsep != sep {
            continue;
        }
        let ok = match &f[..2] {
            "%Y" => a.len() == 4 && m.len() <= 2 && c.len() <= 2 && day_ok(num(c), num(m)),
            "%d" => c.len() == 4 && a.len() <= 2 && m.len() <= 2 && day_ok(num(a), num(m)),
            _ => c.len() == 4 && a.len() <= 2 && m.len() <= 2 && day_ok(num(m), num(a)),
        };
        if ok {
            mask |= 1 << i;
        }
    }
    mask
}

fn days_in(month: u32) -> u32 {
    match month {
        2 => 29,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The shape of a time of day and zone after a date: separator, seconds, fraction, zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeShape {
    sep: u8,
    seconds: bool,
    fraction: bool,
    zone: Zone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    None,
    Z,
    Offset,
}

fn time_of_day(b: &[u8]) -> Option<(bool, bool, &[u8])> {
    // HH:MM[:SS[.fff]] then the rest
    if b.len() < 5 || b[2] != b':' || !all_digits(&b[..2]) || !all_digits(&b[3..5]) {
        return None;
    }
    if num(&b[..2]) > 23 || num(&b[3..5]) > 59 {
        return None;
    }
    let mut rest = &b[5..];
    let mut seconds = false;
    let mut fraction = false;
    if rest.len() >= 3 && rest[0] == b':' && all_digits(&rest[1..3]) {
        if num(&rest[1..3]) > 60 {
            return None;
        }
        seconds = true;
        rest = &rest[3..];
        if rest.len() >= 2 && (rest[0] == b'.' || rest[0] == b',') && rest[1].is_ascii_digit() {
            fraction = true;
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            rest = &rest[1 + n..];
        }
    }
    Some((seconds, fraction, rest))
}

/// A timestamp: a date, `T` or a space, a time of day, and an optional zone.
pub fn timestamp_shape(v: &str) -> Option<(u16, TimeShape)> {
    let b = v.as_bytes();
    let cut = b.iter().position(|&c| c == b'T' || c == b' ')?;
    let mask = date_mask(std::str::from_utf8(&b[..cut]).ok()?);
    if mask == 0 {
        return None;
    }
    let (seconds, fraction, rest) = time_of_day(&b[cut + 1..])?;
    let zone = match rest {
        [] => Zone::None,
        [b'Z'] | b" UTC" | b"UTC" => Zone::Z,
        [s, h1, h2, b':', m1, m2] | [s, h1, h2, m1, m2]
            if (*s == b'+' || *s == b'-') && all_digits(&[*h1, *h2, *m1, *m2]) =>
        {
            Zone::Offset
        }
        [s, h1, h2] if (*s == b'+' || *s == b'-') && all_digits(&[*h1, *h2]) => Zone::Offset,
        _ => return None,
    };
    Some((
        mask,
        TimeShape {
            sep: b[cut],
            seconds,
            fraction,
            zone,
        },
    ))
}

pub fn is_time(v: &str) -> bool {
    matches!(time_of_day(v.as_bytes()), Some((_, _, rest)) if rest.is_empty())
}

pub fn is_integer(v: &str) -> bool {
    let b = v.as_bytes();
    let d = match b.first() {
        Some(b'-') | Some(b'+') => &b[1..],
        _ => b,
    };
    // Leading zeros (zip codes, account numbers) would be lost as numbers: text.
    all_digits(d) && d.len() <= 18 && !(d.len() > 1 && d[0] == b'0')
}

/// A decimal with `sep` as the decimal separator (and an optional exponent with `.`).
pub fn is_decimal(v: &str, sep: u8) -> bool {
    let b = v.as_bytes();
    let d = match b.first() {
        Some(b'-') | Some(b'+') => &b[1..],
        _ => b,
    };
    let (mantissa, exp) = match d.iter().position(|&c| c == b'e' || c == b'E') {
        Some(i) if sep == b'.' => (&d[..i], Some(&d[i + 1..])),
        _ => (d, None),
    };
    if let Some(e) = exp {
        let e = match e.first() {
            Some(b'-') | Some(b'+') => &e[1..],
            _ => e,
        };
        if !all_digits(e) {
            return false;
        }
    }
    match mantissa.iter().position(|&c| c == sep) {
        Some(i) => {
            let (int, frac) = (&mantissa[..i], &mantissa[i + 1..]);
            (all_digits(int) || (int.is_empty() && !frac.is_empty()))
                && (frac.is_empty() && !int.is_empty() || all_digits(frac))
                && !(int.len() > 1 && int[0] == b'0')
        }
        None => exp.is_some() && all_digits(mantissa),
    }
}

/// A number with thousands separators: `1,234,567.89` (`thousands` `,`, decimal `.`) or
/// `1.234.567,89`.
pub fn is_grouped(v: &str, thousands: u8) -> bool {
    let decimal = if thousands == b',' { b'.' } else { b',' };
    let b = v.as_bytes();
    let b = match b.first() {
        Some(b'-') | Some(b'+') => &b[1..],
        _ => b,
    };
    let (int, frac) = match b.iter().position(|&c| c == decimal) {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    let mut groups = int.split(|&c| c == thousands);
    let lead = groups.next().unwrap_or_default();
    if !(1..=3).contains(&lead.len()) || lead[0] == b'0' || !all_digits(lead) {
        return false;
    }
    let mut n = 1;
    for g in groups {
        if g.len() != 3 || !all_digits(g) {
            return false;
        }
        n += 1;
    }
    n >= 2 && frac.is_none_or(all_digits)
}

pub fn is_boolean(v: &str) -> bool {
    v.len() <= 5
        && ["true", "false", "yes", "no", "t", "f", "y", "n"]
            .iter()
            .any(|w| w.eq_ignore_ascii_case(v))
}

/// Whether a cell looks like data of some kind (number, date, word, email, …) rather
/// than a fragment of a badly split line. Drives dialect scoring.
pub fn is_known(cell: &str) -> bool {
    let v = cell.trim();
    if is_null(v) {
        return true;
    }
    // words and phrases: letters, digits, spaces, underscores
    v.chars()
        .all(|c| c.is_alphanumeric() || c == ' ' || c == '_')
        || is_typed(v)
}

/// A value with a shape beyond words: a number (with a currency sign, `%` or thousands
/// separators), a date, timestamp or time, an e-mail address or a URL. Their dots, dashes,
/// commas and at signs belong to the value, so a line holding one is one field.
pub fn is_typed(cell: &str) -> bool {
    let v = cell.trim();
    let Some(&first) = v.as_bytes().first() else {
        return false;
    };
    let core = v
        .trim_start_matches(['$', '€', '£', '¥'])
        .trim_end_matches(['%', '€', '$'])
        .trim();
    if is_decimal(core, b'.')
        || is_decimal(core, b',')
        || is_integer(core)
        || is_grouped(core, b',')
        || is_grouped(core, b'.')
    {
        return true;
    }
    if first.is_ascii_digit() && (date_mask(v) != 0 || timestamp_shape(v).is_some() || is_time(v)) {
        return true;
    }
    // Beyond numbers and dates, a value holds no delimiter a file would use.
    if v.contains([' ', ',', ';', '"', '\t', '|']) || v.chars().any(char::is_control) {
        return false;
    }
    if let Some(at) = v.find('@') {
        let (user, host) = (&v[..at], &v[at + 1..]);
        if !user.is_empty() && host.contains('.') {
            return true;
        }
    }
    is_url(v) || is_uuid(v) || is_ipv4(v) || is_path(v)
}

/// `scheme://…`: http, https, s3, sftp, file, …
fn is_url(v: &str) -> bool {
    v.split_once("://").is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.len() <= 16
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
    })
}

/// `550e8400-e29b-41d4-a716-446655440000`
fn is_uuid(v: &str) -> bool {
    let groups: Vec<&str> = v.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `10.0.0.1`, `10.0.0.0/8`, `127.0.0.1:5432`
fn is_ipv4(v: &str) -> bool {
    let addr = v.split(['/', ':']).next().unwrap_or(v);
    let rest = &v[addr.len()..];
    let octets: Vec<&str> = addr.split('.').collect();
    octets.len() == 4
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.len() <= 3 && o.parse::<u8>().is_ok())
        && (rest.is_empty() || rest.len() > 1 && rest[1..].bytes().all(|b| b.is_ascii_digit()))
}

/// An absolute file path: `/var/log/app.log`, `C:\\data\\in.csv`.
fn is_path(v: &str) -> bool {
    let b = v.as_bytes();
    let unix = b.len() > 1 && b[0] == b'/' && b[1] != b'/';
    let windows = b.len() > 3 && b[0].is_ascii_alphabetic() && &b[1..3] == b":\\";
    unix || windows
}

/// What a column's values support, accumulated value by value.
#[derive(Debug, Clone)]
pub struct ColumnStats {
    pub values: usize,
    pub nulls: usize,
    integer: usize,
    decimal_dot: usize,
    decimal_comma: usize,
    comma_seen: bool,
    /// Values that fit `1,234.5` (or are plain dot decimals), and whether any needed it.
    grouped_dot: usize,
    grouped_dot_seen: bool,
    grouped_comma: usize,
    grouped_comma_seen: bool,
    fraction_always: bool,
    boolean: usize,
    date: usize,
    date_mask: u16,
    timestamp: usize,
    ts_mask: u16,
    ts_shape: Option<TimeShape>,
    ts_mixed: bool,
}

impl Default for ColumnStats {
    fn default() -> Self {
        ColumnStats {
            values: 0,
            nulls: 0,
            integer: 0,
            decimal_dot: 0,
            decimal_comma: 0,
            comma_seen: false,
            grouped_dot: 0,
            grouped_dot_seen: false,
            grouped_comma: 0,
            grouped_comma_seen: false,
            fraction_always: true,
            boolean: 0,
            date: 0,
            date_mask: u16::MAX,
            timestamp: 0,
            ts_mask: u16::MAX,
            ts_shape: None,
            ts_mixed: false,
        }
    }
}

/// The type chosen for a column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inferred {
    #[serde(rename = "type")]
    pub kind: ColumnType,
    /// For dates and timestamps, the strftime-style layout; for comma decimals `,`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    pub confidence: f64,
    pub nullable: bool,
}

impl ColumnStats {
    pub fn add(&mut self, raw: &str) {
        let v = raw.trim();
        if is_null(v) {
            self.nulls += 1;
            return;
        }
        self.values += 1;
        let b0 = v.as_bytes()[0];
        if !matches!(b0, b'0'..=b'9' | b'+' | b'-' | b'.' | b',') {
            // Not a number nor a date: only a boolean could fit.
            if is_boolean(v) {
                self.boolean += 1;
            }
            return;
        }
        let int = is_integer(v);
        if int {
            self.integer += 1;
            self.fraction_always = false;
        }
        let dot = int || is_decimal(v, b'.');
        if dot {
            self.decimal_dot += 1;
        }
        let comma = int || is_decimal(v, b',');
        if comma {
            self.decimal_comma += 1;
            self.comma_seen |= !int;
        }
        // A grouped number holds its separator; most values hold neither.
        let (has_comma, has_dot) = (v.contains(','), v.contains('.'));
        let g = has_comma && is_grouped(v, b',');
        if dot || g {
            self.grouped_dot += 1;
            // `1,234` alone could be a comma decimal; a second group or a `.` settles it.
            self.grouped_dot_seen |= g && (v.contains('.') || v.matches(',').count() > 1);
        }
        let g = has_dot && is_grouped(v, b'.');
        if comma || g {
            self.grouped_comma += 1;
            self.grouped_comma_seen |= g && (v.contains(',') || v.matches('.').count() > 1);
        }
        if is_boolean(v) {
            self.boolean += 1;
        }
        if v.as_bytes()[0].is_ascii_digit() {
            let m = date_mask(v);
            if m != 0 {
                self.date += 1;
                self.date_mask &= m;
                self.timestamp += 1;
                self.ts_mask &= m;
            } else if let Some((m, shape)) = timestamp_shape(v) {
                self.timestamp += 1;
                self.ts_mask &= m;
                match self.ts_shape {
                    None => self.ts_shape = Some(shape),
                    Some(s) if s != shape => self.ts_mixed = true,
                    _ => {}
                }
            }
        }
    }

    /// The narrowest type every value fits.
    pub fn infer(&self) -> Inferred {
        let n = self.values;
        let nullable = self.nulls > 0;
        if n == 0 {
            return Inferred {
                kind: ColumnType::String,
                format: None,
                confidence: 0.0,
                nullable: true,
            };
        }
        let agree = 1.0 - 0.5f64.powi(n.min(30) as i32);
        let pick = |kind, format: Option<String>, confidence| Inferred {
            kind,
            format,
            confidence: round(confidence),
            nullable,
        };
        if self.boolean == n {
            return pick(ColumnType::Boolean, None, agree);
        }
        if self.integer == n {
            return pick(ColumnType::Integer, None, agree);
        }
        if self.decimal_dot == n {
            return pick(ColumnType::Decimal, None, agree);
        }
        if self.decimal_comma == n && self.comma_seen {
            return pick(
                ColumnType::Decimal,
                Some("decimal_separator=,".into()),
                agree * 0.95,
            );
        }
        if self.grouped_dot == n && self.grouped_dot_seen {
            return pick(
                ColumnType::Decimal,
                Some("decimal_separator=. thousands_separator=,".into()),
                agree * 0.95,
            );
        }
        if self.grouped_comma == n && self.grouped_comma_seen {
            return pick(
                ColumnType::Decimal,
                Some("decimal_separator=, thousands_separator=.".into()),
                agree * 0.95,
            );
        }
        if self.date == n && self.date_mask != 0 {
            let (fmt, ambiguous) = first_format(self.date_mask);
            return pick(
                ColumnType::Date,
                Some(fmt.into()),
                agree * if ambiguous { 0.6 } else { 1.0 },
            );
        }
        if self.timestamp == n && self.ts_mask != 0 && self.timestamp > self.date {
            let (fmt, ambiguous) = first_format(self.ts_mask);
            let format = match (self.ts_shape, self.ts_mixed) {
                (Some(s), false) => format!(
                    "{fmt}{}%H:%M{}{}{}",
                    s.sep as char,
                    if s.seconds { ":%S" } else { "" },
                    if s.fraction { "%.f" } else { "" },
                    match s.zone {
                        Zone::None => "",
                        Zone::Z => "Z",
                        Zone::Offset => "%:z",
                    }
                ),
                _ => format!("{fmt} %H:%M:%S (mixed)"),
            };
            return pick(
                ColumnType::Timestamp,
                Some(format),
                agree * if ambiguous { 0.6 } else { 1.0 },
            );
        }
        let best_other = [
            self.boolean,
            self.decimal_dot,
            self.decimal_comma,
            self.date,
            self.timestamp,
        ]
        .into_iter()
        .max()
        .unwrap_or(0) as f64
            / n as f64;
        pick(ColumnType::String, None, 1.0 - best_other * 0.5)
    }

    /// Whether every value had a fractional part (so an integer header is not data).
    pub fn all_fractional(&self) -> bool {
        self.values > 0 && self.fraction_always
    }
}

fn first_format(mask: u16) -> (&'static str, bool) {
    let i = mask.trailing_zeros() as usize;
    (DATE_FORMATS[i], mask.count_ones() > 1)
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Whether `v` fits a column typed `t` (used to tell a header row from data).
pub fn fits(v: &str, t: &Inferred) -> bool {
    let v = v.trim();
    if is_null(v) {
        return true;
    }
    match t.kind {
        ColumnType::Integer => is_integer(v),
        ColumnType::Decimal => {
            let comma = t
                .format
                .as_deref()
                .is_some_and(|f| f.starts_with("decimal_separator=,"));
            is_integer(v)
                || is_decimal(v, if comma { b',' } else { b'.' })
                || is_grouped(v, if comma { b'.' } else { b',' })
        }
        ColumnType::Boolean => is_boolean(v),
        ColumnType::Date => date_mask(v) != 0,
        ColumnType::Timestamp => date_mask(v) != 0 || timestamp_shape(v).is_some(),
        ColumnType::String => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infer(values: &[&str]) -> Inferred {
        let mut s = ColumnStats::default();
        values.iter().for_each(|v| s.add(v));
        s.infer()
    }

    #[test]
    fn types_and_formats() {
        assert_eq!(infer(&["1", "-2", ""]).kind, ColumnType::Integer);
        assert!(infer(&["1", "-2", ""]).nullable);
        assert_eq!(infer(&["1.5", "2", "3e4"]).kind, ColumnType::Decimal);
        let c = infer(&["12,50", "3", "0,5"]);
        assert_eq!(
            (c.kind, c.format.as_deref()),
            (ColumnType::Decimal, Some("decimal_separator=,"))
        );
        assert_eq!(infer(&["1,234.50", "12"]).kind, ColumnType::Decimal);
        assert_eq!(infer(&["1.234,50", "12,5"]).kind, ColumnType::Decimal);
        assert_eq!(infer(&["1,2,3"]).kind, ColumnType::String);
        assert_eq!(infer(&["yes", "No"]).kind, ColumnType::Boolean);
        assert_eq!(infer(&["007", "12"]).kind, ColumnType::String);
        let d = infer(&["01/03/2024", "25/03/2024"]);
        assert_eq!(
            (d.kind, d.format.as_deref()),
            (ColumnType::Date, Some("%d/%m/%Y"))
        );
        let d = infer(&["03/25/2024", "01/03/2024"]);
        assert_eq!(d.format.as_deref(), Some("%m/%d/%Y"));
        let t = infer(&["2024-01-01T10:00:00Z", "2024-02-29T23:59:59Z"]);
        assert_eq!(
            (t.kind, t.format.as_deref()),
            (ColumnType::Timestamp, Some("%Y-%m-%dT%H:%M:%SZ"))
        );
        let t = infer(&["2024-01-01 10:00:00.123+02:00"]);
        assert_eq!(t.format.as_deref(), Some("%Y-%m-%d %H:%M:%S%.f%:z"));
        assert_eq!(infer(&["2024-13-01"]).kind, ColumnType::String);
        assert_eq!(infer(&["abc", "1"]).kind, ColumnType::String);
    }

    #[test]
    fn known_cells() {
        for v in [
            "",
            "hello world",
            "12.5",
            "€12,50",
            "2024-01-01",
            "a@b.io",
            "45%",
        ] {
            assert!(is_known(v), "{v}");
        }
        for v in ["\"quoted\"", "a,b", "10:00:00Z\"x"] {
            assert!(!is_known(v), "{v}");
        }
        for v in [
            "550e8400-e29b-41d4-a716-446655440000",
            "10.1.2.3",
            "10.0.0.0/8",
            "127.0.0.1:5432",
            "s3://bucket/key.csv",
            "/var/log/app.log",
            "C:\\data\\in.csv",
            "1,234.50",
        ] {
            assert!(is_typed(v), "{v}");
        }
        for v in [
            "word",
            "a.b",
            "10.1.2",
            "300.1.2.3",
            "//x",
            "/a b",
            "x://",
            "1-2-3-4-5",
            "1\tann@example.com",
            "ann@example.com|x",
            "/data/a.csv\x01123",
        ] {
            assert!(!is_typed(v), "{v}");
        }
    }
}
