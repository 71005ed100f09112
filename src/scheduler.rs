//! The scheduler inside `pipewright serve`: it sleeps until the earliest next fire time
//! of any enabled schedule (at most [`MAX_WAIT`], so schedules created elsewhere are seen
//! soon), then fires every due slot through the store. Replicas sharing one store each
//! run one; the store's claim ([`catalog::Store::fire_schedule`]) makes each slot start
//! at most one run however many are running.

use std::time::Duration;

use catalog::{time::now_ms, Store};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// The longest the scheduler sleeps before looking at the store again.
const MAX_WAIT: Duration = Duration::from_secs(1);
/// The shortest pause after a pass that fired nothing while something was due (another
/// replica holds it), so a replica never spins.
const MIN_WAIT: Duration = Duration::from_millis(20);
/// Due schedules taken per pass.
const BATCH: i64 = 100;

/// Starts the scheduler beside the server (`scheduler = false`: none).
pub fn spawn(
    cfg: &Config,
    store: &Store,
    stop: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    if !cfg.scheduler {
        return None;
    }
    let misfire_after = Duration::from_secs(cfg.schedule_misfire_secs.max(1));
    let lost_after = Duration::from_secs(cfg.run_lost_after_secs.max(2));
    Some(tokio::spawn(run(
        store.clone(),
        misfire_after,
        lost_after,
        stop,
    )))
}

async fn run(store: Store, misfire_after: Duration, lost_after: Duration, stop: CancellationToken) {
    tracing::info!(
        misfire_after_secs = misfire_after.as_secs(),
        "scheduler started"
    );
    prepare(&store, lost_after).await;
    let misfire_ms = misfire_after.as_millis() as i64;
    while !stop.is_cancelled() {
        let fired = pass(&store, misfire_ms).await;
        let wait = match store.next_fire_at().await {
            Ok(Some(at)) => {
                let until = Duration::from_millis((at - now_ms()).max(0) as u64);
                until.clamp(if fired { Duration::ZERO } else { MIN_WAIT }, MAX_WAIT)
            }
            Ok(None) => MAX_WAIT,
            Err(e) => {
                tracing::warn!(error = %e, "the scheduler could not read the store; retrying");
                MAX_WAIT
            }
        };
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(wait) => {}
        }
    }
    tracing::info!("scheduler stopped");
}

/// Before the first pass: runs whose worker died in an outage must not count as still
/// going when the slots missed in it are handled (overlap `skip` would drop the
/// `run_once` run), and enabled schedules from before schedules fired get a next time.
async fn prepare(store: &Store, lost_after: Duration) {
    match store.reap_lost_runs(lost_after).await {
        Ok(ids) if !ids.is_empty() => {
            tracing::warn!(runs = ?ids, "failed runs whose worker stopped heartbeating")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "reaping lost runs failed"),
    }
    match store.schedule_unscheduled(now_ms()).await {
        Ok(n) if n > 0 => {
            tracing::info!(schedules = n, "gave enabled schedules their next fire time")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not set schedules' next fire times"),
    }
}

/// Fires every schedule due now, one slot each; true when any slot was handled.
async fn pass(store: &Store, misfire_ms: i64) -> bool {
    let now = now_ms();
    let due = match store.due_schedules(now, BATCH).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "the scheduler could not list due schedules");
            return false;
        }
    };
    let mut fired = false;
    for id in due {
        // On its own task: a panic firing one schedule is that schedule's failure, not
        // the end of the scheduler.
        let firing = {
            let store = store.clone();
            tokio::spawn(async move { store.fire_schedule(id, now, misfire_ms).await })
        };
        match firing.await {
            Ok(Ok(Some(f))) => {
                fired = true;
                tracing::info!(schedule = f.schedule_id, slot = %catalog::time::rfc3339(f.slot),
                    run = ?f.run_id, logged = ?f.logged, "schedule fired");
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => tracing::warn!(schedule = id, error = %e,
                "firing a schedule failed; it is retried on the next pass"),
            Err(e) => tracing::error!(schedule = id, error = %e, "firing a schedule panicked"),
        }
    }
    fired
}
