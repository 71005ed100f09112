//! Dates, times, timestamps and decimals as Arrow holds them (days and microseconds since
//! 1970-01-01, scaled `i128`s) and as databases spell them in text, both ways. Every
//! backend that moves rows as text (MySQL's LOAD DATA, SQLite, PostgreSQL's text COPY) and
//! every reader of text values uses these, so one value reads and writes the same
//! everywhere.

use chrono::{Datelike, NaiveDate};

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const UNIX_DAYS_FROM_CE: i32 = 719_163;
pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// 10^0 ..= 10^38: every power a 38-digit decimal needs.
pub const POW10: [i128; 39] = {
    let mut t = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

pub fn date_from_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_DAYS_FROM_CE)?)
}

pub fn days_from_date(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_DAYS_FROM_CE
}

/// Days since 1970 from a calendar date, `None` when it is no date.
pub fn days_from_ymd(y: i32, m: u32, d: u32) -> Option<i32> {
    NaiveDate::from_ymd_opt(y, m, d).map(days_from_date)
}

/// `YYYY-MM-DD`.
pub fn push_date(out: &mut Vec<u8>, days: i32) -> Option<()> {
    let d = date_from_days(days)?;
    push_ymd(out, d.year(), d.month(), d.day());
    Some(())
}

fn push_ymd(out: &mut Vec<u8>, y: i32, m: u32, d: u32) {
    if (0..=9999).contains(&y) {
        push_digits(out, y as u64, 4);
    } else {
        out.extend_from_slice(y.to_string().as_bytes());
    }
    out.push(b'-');
    push_digits(out, m.into(), 2);
    out.push(b'-');
    push_digits(out, d.into(), 2);
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` (`sep` between date and time).
pub fn push_timestamp(out: &mut Vec<u8>, micros: i64, sep: u8) -> Option<()> {
    let days = micros.div_euclid(MICROS_PER_DAY);
    let of_day = micros.rem_euclid(MICROS_PER_DAY);
    push_date(out, i32::try_from(days).ok()?)?;
    out.push(sep);
    push_time(out, of_day)
}

/// `HH:MM:SS[.ffffff]` for a time of day.
pub fn push_time(out: &mut Vec<u8>, micros: i64) -> Option<()> {
    if !(0..MICROS_PER_DAY).contains(&micros) {
        return None;
    }
    let secs = micros / MICROS_PER_SECOND;
    let frac = micros % MICROS_PER_SECOND;
    push_digits(out, (secs / 3600) as u64, 2);
    out.push(b':');
    push_digits(out, (secs / 60 % 60) as u64, 2);
    out.push(b':');
    push_digits(out, (secs % 60) as u64, 2);
    if frac > 0 {
        out.push(b'.');
        push_digits(out, frac as u64, 6);
    }
    Some(())
}

/// `v` in decimal with exactly `width` digits (zero-padded; `v` must fit).
fn push_digits(out: &mut Vec<u8>, mut v: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for i in (start..start + width).rev() {
        out[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// A scaled integer as decimal text: `-123.4500` for (-1234500, 4).
pub fn push_decimal(out: &mut Vec<u8>, v: i128, scale: i8) {
    let digits = v.unsigned_abs().to_string();
    if v < 0 {
        out.push(b'-');
    }
    if scale <= 0 {
        out.extend_from_slice(digits.as_bytes());
        if v != 0 {
            out.resize(out.len() + scale.unsigned_abs() as usize, b'0');
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.extend_from_slice(int.as_bytes());
        out.push(b'.');
        out.extend_from_slice(frac.as_bytes());
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + scale - digits.len(), b'0');
        out.extend_from_slice(digits.as_bytes());
    }
}

/// Decimal text (`-12.5`, `1e3`, `+.5`) as an integer scaled by 10^`scale`, rounded half
/// away from zero; `None` when it is no number or has more than `precision` digits.
pub fn parse_decimal(s: &str, precision: u8, scale: i8) -> Option<i128> {
    let s = s.trim();
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // value = digits × 10^(exp - frac.len()); we want value × 10^scale.
    let shift = exp - frac.len() as i32 + i32::from(scale);
    let mut acc: i128 = 0;
    let mut dropped_first: Option<u8> = None;
    let digits = int.bytes().chain(frac.bytes());
    let total = (int.len() + frac.len()) as i64;
    // Digits past position `unit` fall below the result's last digit: the first of them
    // (when it is right after that digit) rounds.
    let unit = total + i64::from(shift.min(0));
    for (i, b) in digits.enumerate() {
        let i = i as i64;
        if i < unit {
            acc = acc.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        } else {
            if i == unit {
                dropped_first = Some(b - b'0');
            }
            break;
        }
    }
    if shift > 0 {
        acc = acc.checked_mul(*POW10.get(shift as usize)?)?;
    }
    if dropped_first.is_some_and(|d| d >= 5) {
        acc = acc.checked_add(1)?;
    }
    if acc >= *POW10.get(usize::from(precision))? {
        return None;
    }
    Some(if neg { -acc } else { acc })
}

/// A float as a scaled decimal (through its shortest exact text), as [`parse_decimal`].
pub fn decimal_from_f64(f: f64, precision: u8, scale: i8) -> Option<i128> {
    if !f.is_finite() {
        return None;
    }
    parse_decimal(&format!("{f}"), precision, scale)
}

/// Rescales `v` from scale `from` to scale `to`, rounding half away from zero; `None` on
/// overflow or when the result has more than `precision` digits.
pub fn rescale(v: i128, from: i8, to: i8, precision: u8) -> Option<i128> {
    let out = match i16::from(to) - i16::from(from) {
        0 => v,
        up if up > 0 => v.checked_mul(*POW10.get(up as usize)?)?,
        down => {
            let f = *POW10.get(down.unsigned_abs() as usize)?;
            let (q, r) = (v / f, v % f);
            if r.unsigned_abs() * 2 >= f.unsigned_abs() {
                q + v.signum()
            } else {
                q
            }
        }
    };
    (out.unsigned_abs() < POW10.get(usize::from(precision))?.unsigned_abs()).then_some(out)
}

/// `YYYY-MM-DD`, or the date of a timestamp's text.
pub fn parse_date(s: &str) -> Option<i32> {
    let (days, rest) = parse_ymd(s.trim())?;
    (rest.is_empty() || rest.starts_with([' ', 'T'])).then_some(days)
}

fn parse_ymd(s: &str) -> Option<(i32, &str)> {
    let mut parts = s.splitn(3, '-');
    let (y, m, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let d = rest.get(..2)?;
    if y.len() < 4 || m.len() != 2 {
        return None;
    }
    let days = days_from_ymd(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)?;
    Some((days, &rest[2..]))
}

/// `YYYY-MM-DD[( |T)HH:MM[:SS[.f…]]][Z|±HH[:MM]]` as microseconds since 1970 (an offset
/// brings the time to UTC; without one the text is taken as it stands).
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let (days, rest) = parse_ymd(s.trim())?;
    let mut micros = i64::from(days) * MICROS_PER_DAY;
    if rest.is_empty() {
        return Some(micros);
    }
    let rest = rest.strip_prefix([' ', 'T'])?;
    let cut = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (time, zone) = rest.split_at(cut);
    micros += parse_time(time.trim_end())?;
    let offset = match zone {
        "" => 0,
        "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let z = &z[1..];
            let (h, m) = match z.split_once(':') {
                Some((h, m)) => (h, m),
                None if z.len() == 4 => z.split_at(2),
                None => (z, "0"),
            };
            let secs = h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60;
            sign * secs * MICROS_PER_SECOND
        }
    };
    micros.checked_sub(offset)
}

/// `HH:MM[:SS[.f…]]` as microseconds since midnight.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    let mut parts = s.splitn(3, ':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let (sec, frac) = match parts.next() {
        None => (0, 0),
        Some(sf) => {
            let (sec, frac) = sf.split_once('.').unwrap_or((sf, ""));
            if frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let f = frac
                .bytes()
                .chain(std::iter::repeat(b'0'))
                .take(6)
                .fold(0i64, |f, b| f * 10 + i64::from(b - b'0'));
            (sec.parse::<i64>().ok()?, f)
        }
    };
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..60).contains(&sec) {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * MICROS_PER_SECOND + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut v = Vec::new();
        f(&mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn dates_and_times_read_back_as_written() {
        let leap = days_from_ymd(2024, 2, 29).unwrap();
        assert_eq!(text(|o| push_date(o, leap).unwrap()), "2024-02-29");
        assert_eq!(text(|o| push_date(o, 0).unwrap()), "1970-01-01");
        assert_eq!(parse_date("2024-02-29"), Some(leap));
        assert_eq!(parse_date("2024-02-30"), None);
        let ts =
            i64::from(leap) * MICROS_PER_DAY + 13 * 3_600_000_000 + 45 * 60_000_000 + 56_123_456;
        assert_eq!(
            text(|o| push_timestamp(o, ts, b' ').unwrap()),
            "2024-02-29 13:45:56.123456"
        );
        assert_eq!(parse_timestamp("2024-02-29 13:45:56.123456"), Some(ts));
        assert_eq!(
            parse_timestamp("2024-02-29T15:45:56.123456+02:00"),
            Some(ts)
        );
        assert_eq!(parse_timestamp("2024-02-29T13:45:56.123456Z"), Some(ts));
        assert_eq!(parse_timestamp("2024-02-29 11:45:56.123456-02"), Some(ts));
        assert_eq!(
            parse_timestamp("2024-02-29"),
            Some(i64::from(leap) * MICROS_PER_DAY)
        );
        assert_eq!(
            text(|o| push_timestamp(o, -1, b'T').unwrap()),
            "1969-12-31T23:59:59.999999"
        );
        assert_eq!(parse_time("23:59:58"), Some(86_398_000_000));
        assert_eq!(parse_time("00:00:00.5"), Some(500_000));
        assert_eq!(parse_time("24:00:00"), None);
        assert_eq!(text(|o| push_time(o, 500_000).unwrap()), "00:00:00.500000");
        assert_eq!(push_time(&mut Vec::new(), MICROS_PER_DAY), None);
    }

    #[test]
    fn decimals_keep_every_digit_and_round_half_away_from_zero() {
        assert_eq!(text(|o| push_decimal(o, -1234500, 4)), "-123.4500");
        assert_eq!(text(|o| push_decimal(o, 5, 3)), "0.005");
        assert_eq!(text(|o| push_decimal(o, 12, -2)), "1200");
        assert_eq!(text(|o| push_decimal(o, 0, 2)), "0.00");
        let big = "12345678901234567890.0123456789";
        assert_eq!(
            parse_decimal(big, 38, 10),
            Some(123456789012345678900123456789)
        );
        assert_eq!(parse_decimal("1.25", 38, 1), Some(13));
        assert_eq!(parse_decimal("-1.25", 38, 1), Some(-13));
        assert_eq!(parse_decimal("1.24", 38, 1), Some(12));
        assert_eq!(parse_decimal("1e3", 38, 2), Some(100_000));
        assert_eq!(parse_decimal("-.5", 38, 0), Some(-1));
        assert_eq!(parse_decimal("1000", 3, 0), None);
        assert_eq!(parse_decimal("abc", 38, 0), None);
        assert_eq!(parse_decimal("", 38, 0), None);
        assert_eq!(parse_decimal("9e-40", 38, 10), Some(0));
        assert_eq!(parse_decimal("5e-11", 38, 10), Some(1));
        assert_eq!(decimal_from_f64(2.25, 38, 10), Some(22_500_000_000));
        assert_eq!(decimal_from_f64(f64::NAN, 38, 10), None);
        assert_eq!(rescale(125, 2, 1, 38), Some(13));
        assert_eq!(rescale(-125, 2, 1, 38), Some(-13));
        assert_eq!(rescale(5, 0, 3, 38), Some(5000));
        assert_eq!(rescale(5, 0, 3, 3), None);
    }
}
