//! The gate every file-store operation passes: it takes one of its account's few permits,
//! then runs under a deadline.
//!
//! Why: a file store can stall (a hung mount, an endpoint that never answers), and each
//! stalled call holds a thread or a connection. Permits are per account, so one client
//! that stalls its own calls cannot starve the others; the deadline means no call waits
//! forever. A call that times out returns at once, but its work runs on as its own task
//! and keeps its permit until it really ends: stalled work counts against its account for
//! as long as it stalls, and never against anyone else.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::Semaphore;

use crate::DriverError;

#[derive(Debug, Clone, Copy)]
pub struct FileLimits {
    /// File operations (listings, reads, sniffs) one account may have in flight.
    pub per_account: usize,
    /// How long an extra call waits for one of them before it is refused.
    pub queue_wait: Duration,
    /// How long one operation may take before it is reported as a timeout.
    pub deadline: Duration,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits {
            per_account: 8,
            queue_wait: Duration::from_secs(15),
            // Above the object stores' own request timeout (30 s), so theirs, with its
            // clearer message, usually comes first.
            deadline: Duration::from_secs(60),
        }
    }
}

/// Accounts remembered at most while idle; busy ones are always kept.
const MAX_IDLE_ACCOUNTS: usize = 1024;

pub struct FileGate {
    limits: FileLimits,
    accounts: Mutex<HashMap<i64, Arc<Semaphore>>>,
}

impl Default for FileGate {
    fn default() -> Self {
        FileGate::new(FileLimits::default())
    }
}

impl FileGate {
    pub fn new(limits: FileLimits) -> FileGate {
        FileGate {
            limits: FileLimits {
                per_account: limits.per_account.max(1),
                ..limits
            },
            accounts: Mutex::default(),
        }
    }

    fn semaphore(&self, account: i64) -> Arc<Semaphore> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if accounts.len() >= MAX_IDLE_ACCOUNTS && !accounts.contains_key(&account) {
            // A permit out holds a reference: only idle accounts are forgotten.
            accounts.retain(|_, s| Arc::strong_count(s) > 1);
        }
        accounts
            .entry(account)
            .or_insert_with(|| Arc::new(Semaphore::new(self.limits.per_account)))
            .clone()
    }

    /// Runs `work` (a store operation) for `account`. Besides the work's own errors:
    /// [`DriverError::Busy`] when the account has too much in flight,
    /// [`DriverError::StoreTimeout`] past the deadline, [`DriverError::Interrupted`] when
    /// the work panicked.
    pub async fn run<T, W>(&self, account: i64, work: W) -> Result<T, DriverError>
    where
        T: Send + 'static,
        W: Future<Output = Result<T, DriverError>> + Send + 'static,
    {
        let semaphore = self.semaphore(account);
        let permit =
            match tokio::time::timeout(self.limits.queue_wait, semaphore.acquire_owned()).await {
                Ok(Ok(permit)) => permit,
                _ => return Err(DriverError::Busy),
            };
        let task = tokio::spawn(async move {
            let out = work.await;
            drop(permit);
            out
        });
        match tokio::time::timeout(self.limits.deadline, task).await {
            Ok(Ok(out)) => out,
            Ok(Err(_)) => Err(DriverError::Interrupted),
            // Dropping the handle detaches the task: it ends, and frees its permit, when
            // its work does.
            Err(_) => Err(DriverError::StoreTimeout(self.limits.deadline)),
        }
    }

    /// Runs blocking work `f` (CPU work such as sniffing) on the blocking pool under the
    /// same permit and deadline.
    pub async fn run_blocking<T, F>(&self, account: i64, f: F) -> Result<T, DriverError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.run(account, async move {
            match tokio::task::spawn_blocking(f).await {
                Ok(v) => Ok(v),
                // Raised again in the gate's task, which reports it like any panic.
                Err(e) => match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(_) => Err(DriverError::Store("the server is shutting down".into())),
                },
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::{mpsc, oneshot};

    fn gate(per_account: usize, queue_wait_ms: u64, deadline_ms: u64) -> Arc<FileGate> {
        Arc::new(FileGate::new(FileLimits {
            per_account,
            queue_wait: Duration::from_millis(queue_wait_ms),
            deadline: Duration::from_millis(deadline_ms),
        }))
    }

    /// Work for `account` that says when it holds its permit and ends when told.
    fn held(
        gate: &Arc<FileGate>,
        account: i64,
        started: &mpsc::UnboundedSender<()>,
    ) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
        let (release, released) = oneshot::channel::<()>();
        let (gate, started) = (gate.clone(), started.clone());
        let call = tokio::spawn(async move {
            let out = gate
                .run(account, async move {
                    let _ = started.send(());
                    let _ = released.await;
                    Ok(())
                })
                .await;
            assert!(matches!(out, Ok(())));
        });
        (release, call)
    }

    #[tokio::test]
    async fn a_saturated_account_does_not_hold_up_another() {
        let gate = gate(2, 100, 30_000);
        let (started, mut running) = mpsc::unbounded_channel();
        let a = held(&gate, 1, &started);
        let b = held(&gate, 1, &started);
        running.recv().await.unwrap();
        running.recv().await.unwrap();

        // Account 1 has both its permits out: another account proceeds at once …
        let other = gate.run(2, async { Ok(7) }).await;
        assert!(matches!(other, Ok(7)));
        // … and account 1's next call waits its queue time, then is refused clearly.
        let refused = gate.run(1, async { Ok(()) }).await.unwrap_err();
        assert!(matches!(refused, DriverError::Busy), "{refused:?}");
        assert!(
            refused
                .to_string()
                .contains("too many file operations in flight"),
            "{refused}"
        );

        for (release, call) in [a, b] {
            release.send(()).unwrap();
            call.await.unwrap();
        }
        assert!(matches!(gate.run(1, async { Ok(()) }).await, Ok(())));
    }

    #[tokio::test]
    async fn work_past_its_deadline_times_out_and_keeps_its_permit_until_it_ends() {
        let gate = gate(1, 50, 50);
        let (release, released) = oneshot::channel::<()>();
        let out = gate
            .run(1, async move {
                let _ = released.await;
                Ok(())
            })
            .await;
        assert!(
            matches!(out, Err(DriverError::StoreTimeout(d)) if d == Duration::from_millis(50)),
            "{out:?}"
        );
        // The stalled work still runs and still counts against its account only.
        assert!(matches!(
            gate.run(1, async { Ok(()) }).await,
            Err(DriverError::Busy)
        ));
        assert!(matches!(gate.run(2, async { Ok(()) }).await, Ok(())));
        // Once it ends, its permit comes back (waited for here without a deadline).
        release.send(()).unwrap();
        drop(gate.semaphore(1).acquire().await.unwrap());
        assert!(matches!(gate.run(1, async { Ok(()) }).await, Ok(())));
    }

    #[tokio::test]
    async fn blocking_work_runs_under_the_gate_and_a_panic_is_an_error() {
        let gate = gate(1, 1000, 30_000);
        assert!(matches!(gate.run_blocking(1, || 6 * 7).await, Ok(42)));
        let e = gate
            .run_blocking(1, || -> u8 { panic!("sniffer bug") })
            .await
            .unwrap_err();
        assert!(matches!(e, DriverError::Interrupted), "{e:?}");
        // The permit came back after the panic.
        assert!(matches!(gate.run_blocking(1, || ()).await, Ok(())));
    }
}
