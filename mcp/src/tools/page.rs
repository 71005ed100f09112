//! Limits shared by the list tools.

use catalog::PageRequest;

use crate::error::ToolError;

pub const DEFAULT_LIMIT: i64 = 25;
pub const MAX_LIMIT: i64 = 100;

pub fn page(limit: Option<i64>, offset: Option<i64>) -> Result<PageRequest, ToolError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ToolError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT} (got {limit})"),
        )
        .with_hint("ask for fewer items and page through the rest with `offset`"));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ToolError::invalid(
            "offset",
            format!("offset must be 0 or more (got {offset})"),
        ));
    }
    Ok(PageRequest::new(limit, offset))
}
