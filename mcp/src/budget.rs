//! Results capped by bytes as well as by rows (DESIGN.md: context is a budget). A tool
//! that returns rows keeps the leading ones whose JSON fits what is left of the budget
//! once the rest of its answer is counted: whole rows only, never a cut value. What it
//! drops, it says (`truncated: true`) with a hint on how to ask for less.

use serde::Serialize;

use crate::error::ToolError;

/// The budget of a result unless the call gives `max_bytes`.
pub const DEFAULT_MAX_BYTES: usize = 64 * 1024;
/// The largest budget a call may ask for.
pub const MAX_MAX_BYTES: usize = 1024 * 1024;
/// The smallest budget a call may ask for.
pub const MIN_MAX_BYTES: usize = 1024;

/// The budget a call's `max_bytes` asks for.
pub fn max_bytes(arg: Option<i64>) -> Result<usize, ToolError> {
    match arg {
        None => Ok(DEFAULT_MAX_BYTES),
        Some(n) if (MIN_MAX_BYTES as i64..=MAX_MAX_BYTES as i64).contains(&n) => Ok(n as usize),
        Some(_) => Err(ToolError::invalid(
            "max_bytes",
            format!(
                "max_bytes must be between {MIN_MAX_BYTES} and {MAX_MAX_BYTES} (default {DEFAULT_MAX_BYTES})"
            ),
        )),
    }
}

/// The size of `v` as JSON.
pub fn size<T: Serialize>(v: &T) -> usize {
    serde_json::to_vec(v).map_or(0, |b| b.len())
}

/// Keeps the leading `items` whose JSON (with a separating comma each) fits in `room`
/// bytes; true when any were dropped.
pub fn fit<T: Serialize>(items: &mut Vec<T>, room: usize) -> bool {
    let mut used = 0;
    let mut keep = 0;
    for item in items.iter() {
        let next = used + size(item) + 1;
        if next > room {
            break;
        }
        used = next;
        keep += 1;
    }
    let dropped = keep < items.len();
    items.truncate(keep);
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_items_only_and_says_when_it_dropped_some() {
        let mut rows = vec![vec!["a".repeat(10)]; 10];
        // Each row is `["aaaaaaaaaa"]`, 16 bytes, plus a comma.
        assert!(fit(&mut rows, 17 * 4 + 5));
        assert_eq!(rows.len(), 4);
        let mut all = vec![1, 2, 3];
        assert!(!fit(&mut all, 100));
        assert_eq!(all.len(), 3);
        let mut none = vec!["x".repeat(100)];
        assert!(fit(&mut none, 50));
        assert!(none.is_empty());
        assert!(max_bytes(Some(10)).is_err());
        assert_eq!(max_bytes(None).unwrap(), DEFAULT_MAX_BYTES);
        assert!(max_bytes(Some(2 * 1024 * 1024)).is_err());
    }
}
