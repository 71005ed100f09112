//! Typing values for JSON faithfully: 64-bit integers beyond JavaScript's safe range and
//! decimals as strings, binary as base64 with a length cap, long text truncated with a
//! marker.

use base64::Engine;
use serde_json::Value;

/// Longest text value returned, in characters.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest binary value returned, in bytes (before base64).
pub const MAX_BINARY_BYTES: usize = 1024;
/// Appended to a truncated text value.
pub const TRUNCATED: &str = "…[truncated]";

const SAFE_INTEGER: i64 = (1 << 53) - 1;

pub fn int(v: i64) -> Value {
    if (-SAFE_INTEGER..=SAFE_INTEGER).contains(&v) {
        Value::from(v)
    } else {
        Value::String(v.to_string())
    }
}

pub fn uint(v: u64) -> Value {
    if v <= SAFE_INTEGER as u64 {
        Value::from(v)
    } else {
        Value::String(v.to_string())
    }
}

pub fn float(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(v.to_string()))
}

pub fn text(s: &str) -> Value {
    match s.char_indices().nth(MAX_TEXT_CHARS) {
        None => Value::String(s.to_string()),
        Some((cut, _)) => Value::String(format!("{}{TRUNCATED}", &s[..cut])),
    }
}

pub fn binary(b: &[u8]) -> Value {
    let shown = &b[..b.len().min(MAX_BINARY_BYTES)];
    let mut s = base64::engine::general_purpose::STANDARD.encode(shown);
    if b.len() > MAX_BINARY_BYTES {
        s.push_str(TRUNCATED);
    }
    Value::String(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_integers_keep_their_digits() {
        assert_eq!(int(42), Value::from(42));
        assert_eq!(int(i64::MAX), Value::from("9223372036854775807"));
        assert_eq!(uint(u64::MAX), Value::from("18446744073709551615"));
    }

    #[test]
    fn long_values_are_capped_with_a_marker() {
        let t = text(&"é".repeat(MAX_TEXT_CHARS + 5));
        assert!(t.as_str().unwrap().ends_with(TRUNCATED));
        assert_eq!(
            t.as_str().unwrap().chars().count(),
            MAX_TEXT_CHARS + TRUNCATED.chars().count()
        );
        let b = binary(&[1u8; 2000]);
        assert!(b.as_str().unwrap().ends_with(TRUNCATED));
    }
}
