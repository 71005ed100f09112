//! Workers: the processes that serve clusters' queues. Each registers itself, heartbeats
//! while alive, and removes itself when it stops; `list_clusters` counts the live ones.

use crate::{time::now_ms, CatalogError, Result, Store};

/// A worker process. `cluster` is the name of the cluster whose queue it serves; `None`
/// serves every cluster (and runs submitted without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerInfo {
    pub id: String,
    pub cluster: Option<String>,
    pub hostname: String,
    pub pid: u32,
}

/// A worker is live while its last heartbeat is younger than this.
pub const LIVE_FOR_MS: i64 = 30_000;

impl Store {
    /// Registers a worker (or refreshes its registration), with a heartbeat now.
    pub async fn register_worker(&self, w: &WorkerInfo) -> Result<()> {
        if w.id.trim().is_empty() {
            return Err(CatalogError::invalid("worker_id", "give the worker an id"));
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO workers (id, cluster, hostname, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $5) \
             ON CONFLICT (id) DO UPDATE SET cluster = excluded.cluster, hostname = excluded.hostname, \
             pid = excluded.pid, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
        )
        .bind(&w.id)
        .bind(w.cluster.as_deref())
        .bind(&w.hostname)
        .bind(i64::from(w.pid))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// Marks the worker alive now. Not found when it is not registered (removed, or
    /// pruned after a long silence): register it again.
    pub async fn heartbeat_worker(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let done = sqlx::query("UPDATE workers SET heartbeat_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return tx.finish(Err(CatalogError::not_found("worker", id))).await;
        }
        tx.commit().await
    }

    /// Forgets a worker (it is stopping). Runs it still holds are left to the reaper.
    pub async fn remove_worker(&self, id: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM workers WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}
