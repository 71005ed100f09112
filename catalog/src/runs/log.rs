//! A run's log: lines appended with increasing `seq`, of which the newest
//! [`MAX_LOG_LINES`] are kept. Workers redact lines before they get here; this module only
//! bounds them.

use sqlx::Row;

use super::MAX_LOG_LINES;
use crate::{store::Tx, time::now_ms, CatalogError, Result, Store};

/// The longest message kept, in bytes; longer ones are cut at a character boundary.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;
/// The longest level name kept (`INFO`, `ERROR`, …).
const MAX_LEVEL_BYTES: usize = 16;
/// Rows per INSERT: five values each stays under SQLite's bound-parameter limit.
const ROWS_PER_INSERT: usize = 200;

impl Store {
    /// Appends log lines (`(level, message)`, already redacted by the worker) to a run,
    /// keeping at most the newest [`MAX_LOG_LINES`]. Not found when the run does not exist.
    pub async fn append_run_log(&self, run_id: i64, lines: &[(String, String)]) -> Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        let r = async {
            // Lock the run so two writers (a worker and the reaper) never pick one `seq`.
            let found: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT id FROM runs WHERE id = $1{}",
                self.for_update()
            )))
            .bind(run_id)
            .fetch_optional(&mut *tx)
            .await?;
            if found.is_none() {
                return Err(CatalogError::not_found("run", run_id));
            }
            let lines: Vec<(&str, &str)> = lines
                .iter()
                .map(|(l, m)| (l.as_str(), m.as_str()))
                .collect();
            append(&mut tx, run_id, &lines).await
        }
        .await;
        tx.finish(r).await
    }
}

/// Appends `lines` to run `run_id` inside `tx` (whose caller holds the run's row lock) and
/// drops what falls beyond the cap.
pub(crate) async fn append(tx: &mut Tx, run_id: i64, lines: &[(&str, &str)]) -> Result<()> {
    let next: i64 =
        sqlx::query("SELECT COALESCE(MAX(seq), -1) + 1 AS next FROM run_logs WHERE run_id = $1")
            .bind(run_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get("next")?;
    let end = next + lines.len() as i64;
    // Lines that would be dropped at once are never written.
    let skip = lines.len().saturating_sub(MAX_LOG_LINES as usize);
    let at = now_ms();
    let numbered: Vec<(i64, &str, &str)> = lines
        .iter()
        .enumerate()
        .skip(skip)
        .map(|(i, (level, message))| (next + i as i64, *level, *message))
        .collect();
    for chunk in numbered.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO run_logs (run_id, seq, at, level, message) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (seq, level, message) in chunk {
            q = q
                .bind(run_id)
                .bind(*seq)
                .bind(at)
                .bind(cut(level, MAX_LEVEL_BYTES).to_string())
                .bind(cut(message, MAX_MESSAGE_BYTES).to_string());
        }
        q.execute(&mut **tx).await?;
    }
    if end > MAX_LOG_LINES {
        sqlx::query("DELETE FROM run_logs WHERE run_id = $1 AND seq < $2")
            .bind(run_id)
            .bind(end - MAX_LOG_LINES)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::cut;

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("abcdef", 3), "abc");
        assert_eq!(cut("ééé", 3), "é");
    }
}
