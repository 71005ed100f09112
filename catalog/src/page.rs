//! Offset pagination shared by every list.

use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub offset: i64,
}

impl PageRequest {
    pub fn new(limit: i64, offset: i64) -> Self {
        Self { limit, offset }
    }

    /// ` LIMIT n OFFSET m` with the numbers written into the SQL rather than bound. SQLite
    /// (built with STAT4, as the bundled one is) expires a prepared statement whenever a
    /// bound LIMIT/OFFSET parameter is rebound, so a bound page was re-parsed and
    /// re-planned on every call; two integers cannot inject anything, and the few distinct
    /// page sizes stay in the statement cache.
    pub fn sql(&self) -> String {
        format!(" LIMIT {} OFFSET {}", self.limit, self.offset)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}
