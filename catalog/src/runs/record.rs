//! Finished runs written whole, with their log: how the demo seeds run history without
//! executing anything. Real runs go through the queue (`control`, `queue`).

use crate::{time::now_ms, Result, Store};

/// A run that already ended, as the demo records it.
pub struct NewRun<'a> {
    pub account_id: i64,
    pub package_id: i64,
    pub cluster_id: Option<i64>,
    pub status: &'a str,
    pub rows_read: i64,
    pub rows_written: i64,
    pub last_error: Option<&'a str>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub log: Vec<(&'a str, String)>,
}

impl Store {
    /// Records a finished run with its log in one transaction.
    pub async fn record_run(&self, r: NewRun<'_>) -> Result<i64> {
        let mut tx = self.begin().await?;
        let created = r.started_at.unwrap_or_else(now_ms);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO runs (account_id, package_id, cluster_id, status, rows_read, rows_written, last_error, created_at, started_at, completed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(r.account_id)
        .bind(r.package_id)
        .bind(r.cluster_id)
        .bind(r.status)
        .bind(r.rows_read)
        .bind(r.rows_written)
        .bind(r.last_error)
        .bind(created)
        .bind(r.started_at)
        .bind(r.completed_at)
        .fetch_one(&mut *tx)
        .await?;
        for (seq, (level, message)) in r.log.iter().enumerate() {
            sqlx::query("INSERT INTO run_logs (run_id, seq, at, level, message) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(seq as i64)
                .bind(created + seq as i64 * 1000)
                .bind(*level)
                .bind(message.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }
}
