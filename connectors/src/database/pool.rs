//! A small connection pool for drivers whose client library has none (tokio-postgres,
//! tiberius): at most `max` connections in use at once, idle ones reused for a minute.
//! A connection goes back to the pool only when its work finished cleanly
//! ([`Lease::release`]); one dropped after an error, a timeout or a cancelled transfer is
//! closed, since its state is unknown.
//!
//! A [`Lease`] owns its slot (it holds the pool by `Arc`), so a streamed read can carry
//! its connection into the task that produces the batches.

use std::{
    ops::{Deref, DerefMut},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{DriverError, Result};

/// Idle connections older than this are closed instead of reused.
const IDLE_TTL: Duration = Duration::from_secs(60);

pub struct Pool<C> {
    idle: Arc<Mutex<Vec<(C, Instant)>>>,
    permits: Arc<Semaphore>,
}

pub struct Lease<C> {
    idle: Arc<Mutex<Vec<(C, Instant)>>>,
    conn: Option<C>,
    _permit: OwnedSemaphorePermit,
}

impl<C> Pool<C> {
    pub fn new(max: usize) -> Self {
        Pool {
            idle: Arc::new(Mutex::new(Vec::new())),
            permits: Arc::new(Semaphore::new(max.max(1))),
        }
    }

    /// Waits (up to `wait`) for a free slot, then reuses an idle connection that `alive`
    /// accepts, or opens one with `connect`.
    pub async fn lease<F, Fut>(
        &self,
        wait: Duration,
        alive: impl Fn(&C) -> bool,
        connect: F,
    ) -> Result<Lease<C>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<C>>,
    {
        let permit = tokio::time::timeout(wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| DriverError::Timeout(wait))?
            .expect("the pool's semaphore is never closed");
        let reused = {
            let mut idle = self.idle.lock().unwrap();
            idle.retain(|(c, at)| at.elapsed() < IDLE_TTL && alive(c));
            idle.pop().map(|(c, _)| c)
        };
        let conn = match reused {
            Some(c) => c,
            None => connect().await?,
        };
        Ok(Lease {
            idle: self.idle.clone(),
            conn: Some(conn),
            _permit: permit,
        })
    }
}

impl<C> Lease<C> {
    /// Puts the connection back for reuse.
    pub fn release(mut self) {
        if let Some(c) = self.conn.take() {
            self.idle.lock().unwrap().push((c, Instant::now()));
        }
    }
}

impl<C> Deref for Lease<C> {
    type Target = C;
    fn deref(&self) -> &C {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until released")
    }
}

impl<C> DerefMut for Lease<C> {
    fn deref_mut(&mut self) -> &mut C {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until released")
    }
}
