//! MCP sessions as the HTTP edge sees them: each bound to the token and account that
//! opened it, capped per token and per server, and closed after an idle spell.
//!
//! This registry is the source of truth for which sessions live: it closes, in rmcp's
//! session manager, what it expires or evicts, and also any session rmcp holds that the
//! registry never learned about (a client that hung up between rmcp creating the session
//! and the edge recording it) once it has been orphaned for a while.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rmcp::transport::streamable_http_server::session::{
    local::LocalSessionManager, SessionId, SessionManager,
};

/// Bounds on sessions.
#[derive(Debug, Clone)]
pub struct SessionLimits {
    /// Sessions open at once on this server.
    pub max_sessions: usize,
    /// Sessions open at once per token; at the cap the token's longest-idle session is
    /// closed to make room, or the new one is refused when all are busy.
    pub max_per_token: usize,
    /// A session with no request and no open stream for this long is closed.
    pub idle: Duration,
}

/// Who opened a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub token_id: i64,
    pub account_id: i64,
}

struct Entry {
    owner: Owner,
    last_seen: Instant,
    /// Requests and response streams in flight.
    busy: usize,
}

/// How long one close may take before the sweeper moves on.
const CLOSE_DEADLINE: Duration = Duration::from_secs(5);

/// How long a session rmcp holds may go unrecorded here before it is closed as orphaned
/// (at least: the idle limit is used when longer).
const ORPHAN_GRACE: Duration = Duration::from_secs(30);

#[derive(Default)]
struct State {
    open: HashMap<Arc<str>, Entry>,
    /// Sessions rmcp holds that are not in `open`, and since when.
    orphans: HashMap<Arc<str>, Instant>,
    /// Sessions being created (an `initialize` in flight), per token and in all.
    pending: HashMap<i64, usize>,
    pending_total: usize,
}

impl State {
    fn count_for(&self, token_id: i64) -> usize {
        self.open
            .values()
            .filter(|e| e.owner.token_id == token_id)
            .count()
            + self.pending.get(&token_id).copied().unwrap_or(0)
    }

    fn release_pending(&mut self, token_id: i64) {
        if let Some(n) = self.pending.get_mut(&token_id) {
            *n -= 1;
            if *n == 0 {
                self.pending.remove(&token_id);
            }
        }
        self.pending_total -= 1;
    }
}

/// Why a new session was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    TokenAtCap,
    ServerAtCap,
}

pub struct Sessions {
    manager: Arc<LocalSessionManager>,
    limits: SessionLimits,
    state: Mutex<State>,
    /// The last sweep closed sessions: hand their memory back on this one too.
    trim_again: std::sync::atomic::AtomicBool,
}

impl Sessions {
    pub fn new(manager: Arc<LocalSessionManager>, limits: SessionLimits) -> Arc<Self> {
        Arc::new(Self {
            manager,
            limits,
            state: Mutex::default(),
            trim_again: Default::default(),
        })
    }

    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves counts that are still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes room for one more session of `token_id`: evicts the token's longest-idle
    /// session when it is at its cap; refuses when that is impossible or the server is full.
    pub async fn admit(self: &Arc<Self>, token_id: i64) -> Result<Reservation, Refused> {
        let evicted = {
            let mut st = self.lock();
            let victim = if st.count_for(token_id) >= self.limits.max_per_token {
                let idle = st
                    .open
                    .iter()
                    .filter(|(_, e)| e.owner.token_id == token_id && e.busy == 0)
                    .min_by_key(|(_, e)| e.last_seen)
                    .map(|(id, _)| id.clone());
                match idle {
                    Some(id) => Some(id),
                    None => return Err(Refused::TokenAtCap),
                }
            } else {
                None
            };
            // The token's own idle session, once closed, is a place on the server too.
            let held = st.open.len() + st.pending_total - usize::from(victim.is_some());
            if held >= self.limits.max_sessions {
                return Err(Refused::ServerAtCap);
            }
            if let Some(id) = &victim {
                st.open.remove(id);
            }
            *st.pending.entry(token_id).or_default() += 1;
            st.pending_total += 1;
            victim
        };
        if let Some(id) = evicted {
            metrics::counter!("pipewright_mcp_sessions_evicted_total").increment(1);
            // Closed on its own task: a client hanging up must not cancel the close
            // half-way and leave the session in rmcp's map.
            let manager = self.manager.clone();
            tokio::spawn(async move { close(&manager, &id).await });
        }
        Ok(Reservation {
            sessions: self.clone(),
            token_id,
            done: false,
        })
    }

    /// A request on session `id`: `None` unless the session exists and `owner` opened it
    /// (anything else is, to the caller, a session that does not exist).
    pub fn enter(self: &Arc<Self>, id: &str, owner: Owner) -> Option<Activity> {
        let mut st = self.lock();
        let e = st.open.get_mut(id)?;
        if e.owner != owner {
            return None;
        }
        e.busy += 1;
        e.last_seen = Instant::now();
        Some(Activity {
            sessions: self.clone(),
            id: id.into(),
        })
    }

    /// The client ended session `id` (DELETE answered).
    pub fn forget(&self, id: &str) {
        self.lock().open.remove(id);
        self.publish_gauge();
    }

    pub fn len(&self) -> usize {
        self.lock().open.len()
    }

    /// Closes every session idle for longer than the limit, and every session rmcp holds
    /// that has been unrecorded here for longer than the orphan grace.
    pub async fn sweep(&self) {
        let now = Instant::now();
        let held: Vec<Arc<str>> = self.manager.sessions.read().await.keys().cloned().collect();
        let grace = ORPHAN_GRACE.max(self.limits.idle);
        let (expired, orphaned) = {
            let mut st = self.lock();
            let expired: Vec<Arc<str>> = st
                .open
                .iter()
                .filter(|(_, e)| e.busy == 0 && now.duration_since(e.last_seen) >= self.limits.idle)
                .map(|(id, _)| id.clone())
                .collect();
            for id in &expired {
                st.open.remove(id);
            }
            let unrecorded: Vec<Arc<str>> = held
                .into_iter()
                .filter(|id| !st.open.contains_key(id) && !expired.contains(id))
                .collect();
            let mut orphans = HashMap::with_capacity(unrecorded.len());
            let mut orphaned = Vec::new();
            for id in unrecorded {
                let since = st.orphans.get(&id).copied().unwrap_or(now);
                if now.duration_since(since) >= grace {
                    orphaned.push(id);
                } else {
                    orphans.insert(id, since);
                }
            }
            st.orphans = orphans;
            (expired, orphaned)
        };
        if !expired.is_empty() {
            metrics::counter!("pipewright_mcp_sessions_expired_total")
                .increment(expired.len() as u64);
        }
        if !orphaned.is_empty() {
            metrics::counter!("pipewright_mcp_sessions_orphaned_total")
                .increment(orphaned.len() as u64);
        }
        for id in expired.iter().chain(&orphaned) {
            close(&self.manager, id).await;
        }
        // Closed sessions' workers finish on their own tasks a moment later: trim now and
        // once more on the next sweep, when their memory has been freed too.
        let closed = expired.len() + orphaned.len() > 0;
        if closed
            || self
                .trim_again
                .swap(closed, std::sync::atomic::Ordering::Relaxed)
        {
            // Maps keep the capacity of their busiest moment; give it back with the rest.
            self.manager.sessions.write().await.shrink_to_fit();
            {
                let mut st = self.lock();
                st.open.shrink_to_fit();
                st.orphans.shrink_to_fit();
            }
            release_freed_memory();
        }
        self.publish_gauge();
    }

    /// Sweeps until `stop` is cancelled.
    pub async fn run_sweeper(self: Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let every =
            (self.limits.idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(10));
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => self.sweep().await,
                () = stop.cancelled() => return,
            }
        }
    }

    fn publish_gauge(&self) {
        metrics::gauge!("pipewright_mcp_sessions").set(self.len() as f64);
    }
}

/// Closes session `id` in rmcp, within [`CLOSE_DEADLINE`] (a wedged worker must not stop
/// the sweeper).
async fn close(manager: &LocalSessionManager, id: &str) {
    let sid: SessionId = id.into();
    match tokio::time::timeout(CLOSE_DEADLINE, manager.close_session(&sid)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(error = %e, "closing a session"),
        Err(_) => tracing::warn!("closing a session took longer than 5 s; moving on"),
    }
}

/// Hands memory freed by closed sessions back to the system. glibc's allocator keeps
/// freed pages in its per-thread arenas, so after a flood of sessions has expired the
/// process would stay at its peak size.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A place held for a session being created; released unless [`Reservation::commit`]ted.
pub struct Reservation {
    sessions: Arc<Sessions>,
    token_id: i64,
    done: bool,
}

impl Reservation {
    /// The server created session `id` for `owner`.
    pub fn commit(mut self, id: &str, owner: Owner) {
        {
            let mut st = self.sessions.lock();
            st.release_pending(self.token_id);
            st.open.insert(
                id.into(),
                Entry {
                    owner,
                    last_seen: Instant::now(),
                    busy: 0,
                },
            );
        }
        self.done = true;
        self.sessions.publish_gauge();
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.done {
            self.sessions.lock().release_pending(self.token_id);
        }
    }
}

/// A request or response stream in flight on a session: while one is alive the session
/// is not idle. Dropped when the response body ends (or its connection does).
pub struct Activity {
    sessions: Arc<Sessions>,
    id: Arc<str>,
}

impl Drop for Activity {
    fn drop(&mut self) {
        let mut st = self.sessions.lock();
        if let Some(e) = st.open.get_mut(&self.id) {
            e.busy = e.busy.saturating_sub(1);
            e.last_seen = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(max: usize, per_token: usize) -> Arc<Sessions> {
        Sessions::new(
            Arc::new(LocalSessionManager::default()),
            SessionLimits {
                max_sessions: max,
                max_per_token: per_token,
                idle: Duration::from_millis(0),
            },
        )
    }

    const A: Owner = Owner {
        token_id: 1,
        account_id: 10,
    };
    const B: Owner = Owner {
        token_id: 2,
        account_id: 20,
    };

    #[tokio::test]
    async fn a_session_answers_only_its_own_token() {
        let s = sessions(10, 10);
        s.admit(A.token_id).await.unwrap().commit("s1", A);
        assert!(s.enter("s1", A).is_some());
        assert!(s.enter("s1", B).is_none());
        assert!(s
            .enter(
                "s1",
                Owner {
                    token_id: 1,
                    account_id: 99
                }
            )
            .is_none());
        assert!(s.enter("nope", A).is_none());
    }

    #[tokio::test]
    async fn token_cap_evicts_the_idle_session_and_refuses_when_all_are_busy() {
        let s = sessions(10, 2);
        s.admit(1).await.unwrap().commit("a", A);
        s.admit(1).await.unwrap().commit("b", A);
        let busy_a = s.enter("a", A).unwrap();
        // "b" is idle: it makes room.
        s.admit(1).await.unwrap().commit("c", A);
        assert!(s.enter("b", A).is_none());
        let busy_c = s.enter("c", A).unwrap();
        assert_eq!(s.admit(1).await.err(), Some(Refused::TokenAtCap));
        // Another token is not affected.
        s.admit(2).await.unwrap().commit("d", B);
        drop((busy_a, busy_c));
    }

    #[tokio::test]
    async fn server_cap_refuses_and_a_dropped_reservation_frees_its_place() {
        let s = sessions(2, 10);
        let r = s.admit(1).await.unwrap();
        s.admit(2).await.unwrap().commit("x", B);
        assert_eq!(s.admit(3).await.err(), Some(Refused::ServerAtCap));
        drop(r);
        assert!(s.admit(3).await.is_ok());
    }

    #[tokio::test]
    async fn expiry_removes_the_session_from_rmcps_map_too() {
        let manager = Arc::new(LocalSessionManager::default());
        let s = Sessions::new(
            manager.clone(),
            SessionLimits {
                max_sessions: 10,
                max_per_token: 10,
                idle: Duration::from_millis(0),
            },
        );
        let (id, _transport) = manager.create_session().await.unwrap();
        s.admit(1).await.unwrap().commit(id.as_ref(), A);
        assert!(manager.has_session(&id).await.unwrap());
        s.sweep().await;
        assert!(!manager.has_session(&id).await.unwrap());
    }

    #[tokio::test]
    async fn a_session_rmcp_holds_but_nobody_recorded_is_closed_after_the_grace() {
        let manager = Arc::new(LocalSessionManager::default());
        let s = Sessions::new(
            manager.clone(),
            SessionLimits {
                max_sessions: 10,
                max_per_token: 10,
                idle: Duration::from_millis(0),
            },
        );
        let (id, _transport) = manager.create_session().await.unwrap();
        s.sweep().await;
        // Within the grace: an initialize may still be on its way to being recorded.
        assert!(manager.has_session(&id).await.unwrap());
        s.lock()
            .orphans
            .values_mut()
            .for_each(|since| *since -= ORPHAN_GRACE);
        s.sweep().await;
        assert!(!manager.has_session(&id).await.unwrap());
    }

    #[tokio::test]
    async fn a_token_at_its_cap_on_a_full_server_makes_room_with_its_idle_session() {
        let s = sessions(2, 2);
        s.admit(1).await.unwrap().commit("a", A);
        s.admit(1).await.unwrap().commit("b", A);
        s.admit(1).await.unwrap().commit("c", A);
        assert!(s.enter("a", A).is_none(), "the idle session made room");
        assert_eq!(s.admit(2).await.err(), Some(Refused::ServerAtCap));
    }

    #[tokio::test]
    async fn sweep_closes_idle_sessions_but_not_busy_ones() {
        let s = sessions(10, 10);
        s.admit(1).await.unwrap().commit("idle", A);
        s.admit(1).await.unwrap().commit("busy", A);
        let held = s.enter("busy", A).unwrap();
        s.sweep().await;
        assert!(s.enter("idle", A).is_none());
        assert_eq!(s.len(), 1);
        drop(held);
        s.sweep().await;
        assert_eq!(s.len(), 0);
    }
}
