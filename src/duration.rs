//! Human durations for `--expires-in`: `90d`, `12h`, `30m`, `45s`, `2w`, `1y`.

pub fn parse_ms(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; use e.g. 90d, 12h, 30m or 1y"))?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "y" => 365 * 86_400_000,
        _ => {
            return Err(format!(
                "`{s}` has an unknown unit; use s, m, h, d, w or y (e.g. 90d)"
            ))
        }
    };
    if n <= 0 {
        return Err(format!("`{s}` must be positive"));
    }
    n.checked_mul(unit_ms)
        .ok_or_else(|| format!("`{s}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_reject_nonsense() {
        assert_eq!(parse_ms("90d"), Ok(90 * 86_400_000));
        assert_eq!(parse_ms("2s"), Ok(2000));
        assert!(parse_ms("10").unwrap_err().contains("unknown unit"));
        assert!(parse_ms("abc").is_err());
        assert!(parse_ms("0d").is_err());
    }
}
