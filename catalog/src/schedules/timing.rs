//! When a schedule fires: its cron expression read in its time zone. Pure: no store, no
//! clock. Cron is croner's (five fields, or six with seconds first, or seven with a year
//! last; `@daily` and friends; `L`, `W`, `#`), and daylight-saving changes are handled as
//! croner documents them: a fixed time that falls in a spring-forward gap fires at the
//! first valid time after the gap, one in a fall-back overlap fires once (its first
//! pass); wildcard and step fields skip the gap and fire in both passes.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::{errors::CronError, Cron};

use crate::CatalogError;

/// The most fire times a caller may ask for at once ([`Timing::fire_times`]).
pub const MAX_FIRE_TIMES: usize = 1_000;

/// A parsed cron expression and the time zone its wall clock is read in.
#[derive(Debug, Clone)]
pub struct Timing {
    cron: Cron,
    zone: Tz,
}

const FIVE: [&str; 5] = ["minute", "hour", "day-of-month", "month", "day-of-week"];

/// What each field accepts, for the message that names the one that cannot be read.
fn accepts(field: &str) -> &'static str {
    match field {
        "second" | "minute" => "0-59",
        "hour" => "0-23",
        "day-of-month" => "1-31, L or W",
        "month" => "1-12 or JAN-DEC",
        "day-of-week" => "0-7 or SUN-SAT, # or L",
        _ => "a year",
    }
}

/// The fields of an expression with `count` parts, in order.
fn field_names(count: usize) -> Vec<&'static str> {
    let mut names = Vec::with_capacity(7);
    if count >= 6 {
        names.push("second");
    }
    names.extend(FIVE);
    if count == 7 {
        names.push("year");
    }
    names
}

impl Timing {
    /// Reads `cron` in `time_zone` (an IANA name such as `Europe/Berlin`, or `UTC`).
    /// Refuses, naming the field it cannot read (never echoing the expression), an
    /// expression croner cannot parse, and one that never fires.
    pub fn parse(cron: &str, time_zone: &str) -> Result<Self, CatalogError> {
        let zone = Tz::from_str(time_zone.trim()).map_err(|_| {
            CatalogError::invalid(
                "time_zone",
                "not a time zone name croner knows; use an IANA name such as Europe/Berlin, America/New_York or UTC",
            )
        })?;
        let expression = cron.trim();
        if expression.len() > 200 {
            return Err(CatalogError::invalid(
                "cron",
                "too long for a cron expression (at most 200 characters)",
            ));
        }
        let parsed = Cron::from_str(expression).map_err(|e| refusal(expression, &e))?;
        let timing = Timing { cron: parsed, zone };
        if timing.next_after(0).is_none() {
            return Err(CatalogError::invalid(
                "cron",
                "this expression never fires (a date that does not exist, such as 30 February); check its day-of-month and month",
            ));
        }
        Ok(timing)
    }

    /// The first fire time strictly after `after_ms` (milliseconds since the epoch), or
    /// none when the expression never fires again.
    pub fn next_after(&self, after_ms: i64) -> Option<i64> {
        let start = DateTime::<Utc>::from_timestamp_millis(after_ms)?.with_timezone(&self.zone);
        self.cron
            .find_next_occurrence(&start, false)
            .ok()
            .map(|t| t.timestamp_millis())
    }

    /// Up to `count` fire times strictly after `after_ms`, in order (at most
    /// [`MAX_FIRE_TIMES`]).
    pub fn fire_times(&self, after_ms: i64, count: usize) -> Vec<i64> {
        let mut out = Vec::with_capacity(count.min(MAX_FIRE_TIMES));
        let mut at = after_ms;
        while out.len() < count.min(MAX_FIRE_TIMES) {
            match self.next_after(at) {
                Some(next) => {
                    out.push(next);
                    at = next;
                }
                None => break,
            }
        }
        out
    }

    /// The last fire time at or before `at_ms`, if any.
    pub fn last_at_or_before(&self, at_ms: i64) -> Option<i64> {
        let start = DateTime::<Utc>::from_timestamp_millis(at_ms)?.with_timezone(&self.zone);
        self.cron
            .find_previous_occurrence(&start, true)
            .ok()
            .map(|t| t.timestamp_millis())
    }

    /// The fire times from `from_ms` (included) to `to_ms` (included), at most `max`.
    pub fn fire_times_between(&self, from_ms: i64, to_ms: i64, max: usize) -> Vec<i64> {
        let mut out = Vec::new();
        let mut at = from_ms - 1;
        while out.len() < max {
            match self.next_after(at) {
                Some(next) if next <= to_ms => {
                    out.push(next);
                    at = next;
                }
                _ => break,
            }
        }
        out
    }

    /// A fire time as the schedule's wall clock shows it, with its offset
    /// (`2026-03-29T03:00:00+02:00`).
    pub fn local(&self, at_ms: i64) -> String {
        DateTime::<Utc>::from_timestamp_millis(at_ms)
            .map(|t| t.with_timezone(&self.zone).to_rfc3339())
            .unwrap_or_default()
    }
}

/// The refusal for an expression croner cannot read: which field, and what it accepts.
fn refusal(expression: &str, e: &CronError) -> CatalogError {
    const SHAPE: &str = "write five fields (minute hour day-of-month month day-of-week), or six with a second first, e.g. `0 */15 * * * *` (every 15 minutes) or `0 30 2 * * MON-FRI`";
    if matches!(e, CronError::EmptyPattern) {
        return CatalogError::invalid("cron", format!("empty; {SHAPE}"));
    }
    let parts: Vec<&str> = expression.split_whitespace().collect();
    if expression.starts_with('@') {
        return CatalogError::invalid(
            "cron",
            "not a nickname croner knows; use @yearly, @monthly, @weekly, @daily or @hourly, or fields",
        );
    }
    if !(5..=7).contains(&parts.len()) {
        return CatalogError::invalid("cron", format!("has {} fields; {SHAPE}", parts.len()));
    }
    // The field at fault is the one whose replacement by `*` makes the rest readable.
    let names = field_names(parts.len());
    for (i, name) in names.iter().enumerate() {
        let mut probe = parts.clone();
        probe[i] = "*";
        if Cron::from_str(&probe.join(" ")).is_ok() {
            return CatalogError::invalid(
                "cron",
                format!(
                    "cannot read its {name} field (field {} of {}); that field takes {} with `*`, `,`, `-` and `/`",
                    i + 1,
                    parts.len(),
                    accepts(name)
                ),
            );
        }
    }
    CatalogError::invalid(
        "cron",
        format!("cannot read more than one of its fields; {SHAPE}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn message(e: CatalogError) -> String {
        match e {
            CatalogError::InvalidArgument { field, message } => format!("{field}: {message}"),
            other => panic!("expected an invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn seconds_are_optional_and_fire_times_are_in_order() {
        let t = Timing::parse("*/15 * * * * *", "UTC").unwrap();
        let from = ms("2026-01-01T00:00:00Z");
        assert_eq!(
            t.fire_times(from, 3),
            vec![from + 15_000, from + 30_000, from + 45_000]
        );
        let five = Timing::parse("0 6 * * MON", "UTC").unwrap();
        // 2026-01-05 is a Monday.
        assert_eq!(five.next_after(from), Some(ms("2026-01-05T06:00:00Z")));
        assert_eq!(
            t.fire_times_between(from, from + 30_000, 10),
            vec![from, from + 15_000, from + 30_000]
        );
        assert_eq!(t.last_at_or_before(from + 44_999), Some(from + 30_000));
        assert_eq!(t.last_at_or_before(from + 45_000), Some(from + 45_000));
    }

    #[test]
    fn berlin_spring_forward_fires_after_the_gap_as_croner_documents() {
        // 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
        let t = Timing::parse("0 30 2 * * *", "Europe/Berlin").unwrap();
        let times = t.fire_times(ms("2026-03-28T12:00:00Z"), 3);
        assert_eq!(
            times,
            vec![
                ms("2026-03-29T03:00:00+02:00"),
                ms("2026-03-30T02:30:00+02:00"),
                ms("2026-03-31T02:30:00+02:00"),
            ]
        );
        assert_eq!(t.local(times[0]), "2026-03-29T03:00:00+02:00");
    }

    #[test]
    fn berlin_fall_back_fires_once_on_the_first_pass() {
        // 25 October 2026: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let t = Timing::parse("0 30 2 * * *", "Europe/Berlin").unwrap();
        let times = t.fire_times(ms("2026-10-24T12:00:00Z"), 2);
        assert_eq!(
            times,
            vec![
                ms("2026-10-25T02:30:00+02:00"),
                ms("2026-10-26T02:30:00+01:00")
            ]
        );
        // A wildcard minute fires in both passes of the repeated hour.
        let every_half_hour = Timing::parse("0 0,30 2 * * *", "Europe/Berlin").unwrap();
        let both = every_half_hour.fire_times(ms("2026-10-25T01:59:00+02:00"), 4);
        assert_eq!(both.len(), 4);
        assert!(both.windows(2).all(|w| w[0] < w[1]), "forward in real time");
    }

    #[test]
    fn refusals_name_the_field_and_never_echo_the_expression() {
        let e = message(Timing::parse("0 30 25 * * *", "UTC").unwrap_err());
        assert!(e.contains("hour field (field 3 of 6)"), "{e}");
        assert!(!e.contains("25"), "{e}");
        let e = message(Timing::parse("*/5 * * * FUNDAY", "UTC").unwrap_err());
        assert!(e.contains("day-of-week field (field 5 of 5)"), "{e}");
        assert!(!e.to_lowercase().contains("funday"), "{e}");
        let e = message(Timing::parse("0 61 0 * * * *", "UTC").unwrap_err());
        assert!(e.contains("minute field (field 2 of 7)"), "{e}");
        let e = message(Timing::parse("* * *", "UTC").unwrap_err());
        assert!(e.contains("has 3 fields"), "{e}");
        let e = message(Timing::parse("", "UTC").unwrap_err());
        assert!(e.starts_with("cron: empty"), "{e}");
        let e = message(Timing::parse("0 0 30 2 *", "UTC").unwrap_err());
        assert!(e.contains("never fires"), "{e}");
        let e = message(Timing::parse("0 * * * *", "Mars/Olympus").unwrap_err());
        assert!(e.starts_with("time_zone:"), "{e}");
        let e = message(Timing::parse("0 0 99 99 *", "UTC").unwrap_err());
        assert!(e.contains("more than one"), "{e}");
        for nickname in ["@reboot", "@every 5m", "@daily x", "@"] {
            let e = message(Timing::parse(nickname, "UTC").unwrap_err());
            assert!(e.contains("not a nickname"), "{nickname}: {e}");
        }
        assert!(Timing::parse("@daily", "UTC").is_ok());
    }
}
