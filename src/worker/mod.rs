//! The worker: this process's share of a cluster's worker pool. It claims queued runs
//! from the store (never two workers the same run: the claim is one atomic update, with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL), runs each with the engine, and while it runs
//! heartbeats the run (progress, log lines, and whether someone asked to cancel it). Any
//! worker fails the runs of a worker that stopped heartbeating; nothing is run twice on
//! its own, a lost run is retried by asking (`retry_job`).

mod inventory;
mod run;

use std::sync::Arc;
use std::time::Duration;

use catalog::{runs::WorkerInfo, seal::Sealer, Store};
use connectors::Connections;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// How this process works through the queue.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `None`: runs of every cluster and runs placed on none.
    pub cluster: Option<String>,
    pub concurrency: usize,
    /// Heartbeat (and cancellation check) interval.
    pub heartbeat: Duration,
    /// How often an idle worker looks for queued runs.
    pub poll: Duration,
    pub lost_after: Duration,
    pub batch_rows: usize,
    pub memory_limit: usize,
}

impl Settings {
    pub fn from_config(cfg: &Config) -> Self {
        Settings {
            cluster: Some(cfg.worker_cluster.trim().to_string()).filter(|c| !c.is_empty()),
            concurrency: cfg.worker_concurrency.max(1),
            heartbeat: Duration::from_millis(500),
            poll: Duration::from_millis(250),
            lost_after: Duration::from_secs(cfg.run_lost_after_secs.max(2)),
            batch_rows: cfg.batch_rows.clamp(64, 1 << 20),
            memory_limit: cfg.run_memory_mb.clamp(16, 1 << 20) << 20,
        }
    }
}

/// What a worker works with.
#[derive(Clone)]
pub struct Worker {
    pub store: Store,
    pub sealer: Arc<Sealer>,
    pub connections: Arc<Connections>,
    pub settings: Settings,
    pub info: Arc<WorkerInfo>,
}

impl Worker {
    pub fn new(
        store: Store,
        sealer: Arc<Sealer>,
        connections: Arc<Connections>,
        settings: Settings,
    ) -> Self {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let pid = std::process::id();
        let info = WorkerInfo {
            id: format!("{hostname}:{pid}:{}", random_suffix()),
            cluster: settings.cluster.clone(),
            hostname,
            pid,
        };
        Worker {
            store,
            sealer,
            connections,
            settings,
            info: Arc::new(info),
        }
    }

    /// Works until `stop` fires; then cancels the runs in hand (they end as failed with
    /// the reason) and leaves the pool.
    pub async fn run(self, stop: CancellationToken) {
        if let Err(e) = self.store.register_worker(&self.info).await {
            tracing::error!(error = %e, "the worker could not register; no runs will be taken");
            return;
        }
        tracing::info!(worker = %self.info.id, cluster = ?self.info.cluster, "worker started");
        let mut running: JoinSet<()> = JoinSet::new();
        let mut beat = tokio::time::interval(self.settings.heartbeat * 2);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            while running.try_join_next().is_some() {}
            let mut claimed = false;
            if running.len() < self.settings.concurrency && !stop.is_cancelled() {
                match self.store.claim_run(&self.info).await {
                    Ok(Some(run)) => {
                        claimed = true;
                        let w = self.clone();
                        let stop = stop.child_token();
                        running.spawn(async move { run::execute(w, run, stop).await });
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "claiming a run failed; retrying"),
                }
            }
            if claimed {
                continue;
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = beat.tick() => {
                    if let Err(e) = self.store.heartbeat_worker(&self.info.id).await {
                        // Pruned after a long silence (a suspended machine): join again.
                        tracing::warn!(error = %e, "worker heartbeat failed; registering again");
                        let _ = self.store.register_worker(&self.info).await;
                    }
                    match self.store.reap_lost_runs(self.settings.lost_after).await {
                        Ok(ids) if !ids.is_empty() => {
                            tracing::warn!(runs = ?ids, "failed runs whose worker stopped heartbeating");
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "reaping lost runs failed"),
                    }
                }
                _ = tokio::time::sleep(self.settings.poll) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
        }
        // Runs in hand see `stop` and finish as cancelled; wait for them briefly.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while running.join_next().await.is_some() {}
        })
        .await;
        let _ = self.store.remove_worker(&self.info.id).await;
        tracing::info!(worker = %self.info.id, "worker stopped");
    }
}

/// Starts this process's worker beside the server (`worker_concurrency` 0: none).
pub fn spawn(
    cfg: &Config,
    shared: &mcp::Shared,
    stop: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    if cfg.worker_concurrency == 0 {
        return None;
    }
    let worker = Worker::new(
        shared.store.clone(),
        shared.sealer.clone(),
        shared.connections.clone(),
        Settings::from_config(cfg),
    );
    Some(tokio::spawn(worker.run(stop)))
}

/// `pipewright worker`: a worker and nothing else, until SIGTERM or Ctrl-C.
pub async fn serve_alone(cfg: Config) -> anyhow::Result<()> {
    let (store, sealer) = crate::cli::open_store(&cfg).await?;
    let connections = crate::app::connections(&store, &sealer);
    connections.spawn_sweeper();
    let worker = Worker::new(
        store.clone(),
        sealer,
        connections,
        Settings::from_config(&cfg),
    );
    let serves = match cfg.worker_cluster.trim() {
        "" => "every cluster".to_string(),
        name => format!("cluster `{name}`"),
    };
    eprintln!(
        "pipewright worker {} taking runs of {serves}",
        worker.info.id
    );
    let stop = CancellationToken::new();
    let task = tokio::spawn(worker.run(stop.clone()));
    crate::http::shutdown_signal().await;
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    store.close().await;
    Ok(())
}

fn random_suffix() -> String {
    use rand::Rng;
    let n: u32 = rand::rng().random();
    format!("{n:08x}")
}
