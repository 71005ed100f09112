//! Open drivers, shared by everything that reaches a connection (the MCP tools, the CLI,
//! validation and the engine): one cache, one place that decides when a driver is
//! opened, reused and closed.
//!
//! What it promises:
//! - one driver per connection (and, for file stores, per bucket), reused across calls so
//!   each connection keeps its own pool, session or SSH tunnel;
//! - a driver opened for an earlier version of its connection (`updated_at`) is never
//!   used: it is dropped, with its tunnel, and the connection reopened; a deleted
//!   connection's driver is dropped on its next use;
//! - at most [`CacheLimits::max_open`] drivers open (the least recently used goes first),
//!   and a driver unused for [`CacheLimits::idle`] is closed;
//! - every file-store operation a caller runs through [`Connections::files`] is bounded
//!   per account and in time (see [`crate::file_gate`]).
//!
//! What a connection is comes from a [`ConnectionSource`], which the control plane
//! implements: this layer never touches the store itself.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, Mutex, Weak},
    time::Duration,
};

use async_trait::async_trait;
use serde_json::{Map, Value};
use tokio::time::Instant;

use crate::{
    database::{self, DatabaseConfig, DatabaseDriver, DbKind},
    file_gate::{FileGate, FileLimits},
    files::{self, FileConfig, FileStore},
    DriverError, Ping,
};

/// What the control plane says about a connection, without its secrets.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// The connection's `type`: postgres, mysql, sqlite, s3, local, sftp, …
    pub kind: String,
    /// Its clear fields: host, port, database, user, bucket, tunnel_type, …
    pub fields: Map<String, Value>,
    /// Changes whenever the connection is edited; compared for equality only.
    pub updated_at: String,
}

/// Where connections come from. Implemented by the control plane; both methods answer
/// [`DriverError::ConnectionNotFound`] for a connection the account does not have, and
/// [`DriverError::ControlPlane`] when they cannot answer at all.
#[async_trait]
pub trait ConnectionSource: Send + Sync {
    /// The connection's type, clear fields and version. Asked on every use, so keep it
    /// cheap.
    async fn settings(&self, account: i64, id: i64) -> Result<ConnectionSettings, DriverError>;
    /// Its secrets in clear, for a driver about to be opened. Never log or keep them.
    async fn secrets(&self, account: i64, id: i64)
        -> Result<BTreeMap<String, String>, DriverError>;
}

#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    /// Drivers kept open at most, across every account and family.
    pub max_open: usize,
    /// A driver unused this long is closed (its pool and tunnel with it).
    pub idle: Duration,
    /// Per-account permits and the deadline of file-store operations.
    pub files: FileLimits,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            max_open: 64,
            idle: Duration::from_secs(600),
            files: FileLimits::default(),
        }
    }
}

/// A connection, and for file stores the bucket that replaces its own.
type Key = (i64, Option<String>);

#[derive(Clone)]
enum Driver {
    Database(Arc<dyn DatabaseDriver>),
    Files(Arc<dyn FileStore>),
}

struct Entry {
    updated_at: String,
    driver: Driver,
    last_used: Instant,
}

pub struct Connections {
    source: Arc<dyn ConnectionSource>,
    limits: CacheLimits,
    open: Mutex<HashMap<Key, Entry>>,
    gate: FileGate,
}

impl Connections {
    pub fn new(source: Arc<dyn ConnectionSource>) -> Self {
        Self::with_limits(source, CacheLimits::default())
    }

    pub fn with_limits(source: Arc<dyn ConnectionSource>, limits: CacheLimits) -> Self {
        Connections {
            source,
            limits: CacheLimits {
                max_open: limits.max_open.max(1),
                ..limits
            },
            open: Mutex::default(),
            gate: FileGate::new(limits.files),
        }
    }

    /// The gate every file-store operation passes (per-account permits, a deadline).
    pub fn files(&self) -> &FileGate {
        &self.gate
    }

    /// The driver of one of `account`'s database connections, opened (with its secrets
    /// and, if it has one, its SSH tunnel) when needed.
    pub async fn database(
        &self,
        account: i64,
        id: i64,
    ) -> Result<Arc<dyn DatabaseDriver>, DriverError> {
        let settings = self.settings(account, id).await?;
        self.open_database(account, id, settings).await
    }

    /// The store of one of `account`'s file connections; `bucket` replaces the
    /// connection's own bucket or container (each one is a store of its own).
    pub async fn file_store(
        &self,
        account: i64,
        id: i64,
        bucket: Option<&str>,
    ) -> Result<Arc<dyn FileStore>, DriverError> {
        let settings = self.settings(account, id).await?;
        self.open_file_store(account, id, bucket, settings).await
    }

    /// Connects to a connection of either family and proves it answers: a trivial query
    /// for a database, a listing of the top folder (through the file gate) for a store.
    /// Errors for which [`DriverError::is_ours`] holds say the test could not be made.
    pub async fn ping(&self, account: i64, id: i64) -> Result<Ping, DriverError> {
        let settings = self.settings(account, id).await?;
        if DbKind::from_type(&settings.kind).is_some() {
            let driver = self.open_database(account, id, settings).await?;
            driver.test_connection().await
        } else {
            let store = self.open_file_store(account, id, None, settings).await?;
            self.gate
                .run(account, async move { store.test_connection().await })
                .await
        }
    }

    async fn open_database(
        &self,
        account: i64,
        id: i64,
        settings: ConnectionSettings,
    ) -> Result<Arc<dyn DatabaseDriver>, DriverError> {
        let Some(kind) = DbKind::from_type(&settings.kind) else {
            return Err(DriverError::NotADatabaseConnection {
                kind: settings.kind,
            });
        };
        let key = (id, None);
        if let Some(Driver::Database(d)) = self.cached(&key, &settings.updated_at) {
            return Ok(d);
        }
        let secrets = self.source.secrets(account, id).await?;
        let cfg = DatabaseConfig::from_fields(kind, &settings.fields, secrets)?;
        let driver = database::open(cfg).await?;
        self.keep(key, settings.updated_at, Driver::Database(driver.clone()));
        Ok(driver)
    }

    async fn open_file_store(
        &self,
        account: i64,
        id: i64,
        bucket: Option<&str>,
        settings: ConnectionSettings,
    ) -> Result<Arc<dyn FileStore>, DriverError> {
        if DbKind::from_type(&settings.kind).is_some() {
            return Err(DriverError::NotAFileConnection {
                kind: settings.kind,
            });
        }
        let key = (id, bucket.map(str::to_string));
        if let Some(Driver::Files(s)) = self.cached(&key, &settings.updated_at) {
            return Ok(s);
        }
        let secrets = self.source.secrets(account, id).await?;
        let cfg = FileConfig::from_fields(&settings.kind, &settings.fields, secrets, bucket)?;
        let store = files::open(cfg)?;
        self.keep(key, settings.updated_at, Driver::Files(store.clone()));
        Ok(store)
    }

    /// Drops every driver of a connection now (it was edited or deleted here); one in
    /// use closes when its last caller lets go.
    pub fn forget(&self, id: i64) {
        self.lock().retain(|(c, _), _| *c != id);
    }

    /// Closes drivers unused for longer than the idle limit.
    pub fn sweep(&self) {
        let idle = self.limits.idle;
        let now = Instant::now();
        self.lock()
            .retain(|_, e| now.duration_since(e.last_used) < idle);
    }

    /// Drivers open now.
    pub fn open_count(&self) -> usize {
        self.lock().len()
    }

    /// Sweeps idle drivers in the background until these connections are dropped.
    pub fn spawn_sweeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let period =
            (self.limits.idle / 4).clamp(Duration::from_millis(10), Duration::from_secs(60));
        let this: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                match this.upgrade() {
                    Some(c) => c.sweep(),
                    None => return,
                }
            }
        })
    }

    /// The connection's settings; a deleted connection's drivers go with it.
    async fn settings(&self, account: i64, id: i64) -> Result<ConnectionSettings, DriverError> {
        match self.source.settings(account, id).await {
            Err(e @ DriverError::ConnectionNotFound { .. }) => {
                self.forget(id);
                Err(e)
            }
            other => other,
        }
    }

    /// The open driver under `key` if it was opened for this version of its connection;
    /// drivers opened for another version are dropped.
    fn cached(&self, key: &Key, updated_at: &str) -> Option<Driver> {
        let mut open = self.lock();
        match open.get_mut(key) {
            Some(e) if e.updated_at == updated_at => {
                e.last_used = Instant::now();
                return Some(e.driver.clone());
            }
            Some(_) => open.retain(|(c, _), e| *c != key.0 || e.updated_at == updated_at),
            None => {}
        }
        None
    }

    fn keep(&self, key: Key, updated_at: String, driver: Driver) {
        let mut open = self.lock();
        let now = Instant::now();
        let idle = self.limits.idle;
        // Idle drivers, and any opened for another version of this connection, go first.
        open.retain(|(c, _), e| {
            now.duration_since(e.last_used) < idle && (*c != key.0 || e.updated_at == updated_at)
        });
        while open.len() >= self.limits.max_open && !open.contains_key(&key) {
            let Some(oldest) = open
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            open.remove(&oldest);
        }
        open.insert(
            key,
            Entry {
                updated_at,
                driver,
                last_used: now,
            },
        );
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        // The map is consistent after every statement; a panic elsewhere leaves it usable.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One connection: account, type, fields, updated_at.
    type Row = (i64, &'static str, Value, String);

    /// Connections in memory, by id.
    #[derive(Default)]
    struct Fake {
        rows: Mutex<HashMap<i64, Row>>,
        secrets_opened: std::sync::atomic::AtomicUsize,
    }

    impl Fake {
        fn put(&self, id: i64, kind: &'static str, fields: Value, updated_at: &str) {
            self.rows
                .lock()
                .unwrap()
                .insert(id, (1, kind, fields, updated_at.into()));
        }
        fn delete(&self, id: i64) {
            self.rows.lock().unwrap().remove(&id);
        }
        fn row(&self, account: i64, id: i64) -> Result<(&'static str, Value, String), DriverError> {
            match self.rows.lock().unwrap().get(&id) {
                Some((a, k, f, u)) if *a == account => Ok((k, f.clone(), u.clone())),
                _ => Err(DriverError::ConnectionNotFound { id }),
            }
        }
    }

    #[async_trait]
    impl ConnectionSource for Fake {
        async fn settings(&self, account: i64, id: i64) -> Result<ConnectionSettings, DriverError> {
            let (kind, fields, updated_at) = self.row(account, id)?;
            Ok(ConnectionSettings {
                kind: kind.into(),
                fields: fields.as_object().cloned().unwrap_or_default(),
                updated_at,
            })
        }
        async fn secrets(
            &self,
            account: i64,
            id: i64,
        ) -> Result<BTreeMap<String, String>, DriverError> {
            self.row(account, id)?;
            self.secrets_opened
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(BTreeMap::new())
        }
    }

    fn sqlite(path: &str) -> Value {
        json!({ "path": path })
    }

    fn setup(limits: CacheLimits) -> (Arc<Fake>, Connections) {
        let fake = Arc::new(Fake::default());
        let connections = Connections::with_limits(fake.clone(), limits);
        (fake, connections)
    }

    #[tokio::test]
    async fn a_driver_is_reused_until_its_connection_is_edited() {
        let (fake, c) = setup(CacheLimits::default());
        fake.put(1, "sqlite", sqlite("/nonexistent/a.db"), "v1");
        let first = c.database(1, 1).await.unwrap();
        let again = c.database(1, 1).await.unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(
            fake.secrets_opened
                .load(std::sync::atomic::Ordering::SeqCst),
            1,
            "secrets are opened once per driver, not per call"
        );

        fake.put(1, "sqlite", sqlite("/nonexistent/b.db"), "v2");
        let edited = c.database(1, 1).await.unwrap();
        assert!(
            !Arc::ptr_eq(&first, &edited),
            "an edited connection reopens"
        );
        let old = Arc::downgrade(&first);
        drop((first, again));
        assert!(old.upgrade().is_none(), "the old driver was dropped");
        assert_eq!(c.open_count(), 1);
    }

    #[tokio::test]
    async fn a_deleted_connection_drops_its_drivers() {
        let (fake, c) = setup(CacheLimits::default());
        fake.put(2, "local", json!({"path": "/nonexistent"}), "v1");
        let store = Arc::downgrade(&c.file_store(1, 2, None).await.unwrap());
        assert_eq!(c.open_count(), 1);
        fake.delete(2);
        let e = c.file_store(1, 2, None).await.err().unwrap();
        assert!(
            matches!(e, DriverError::ConnectionNotFound { id: 2 }),
            "{e:?}"
        );
        assert!(e.is_ours());
        assert_eq!(c.open_count(), 0);
        assert!(store.upgrade().is_none());
    }

    #[tokio::test]
    async fn another_accounts_connection_is_not_found_even_when_open() {
        let (fake, c) = setup(CacheLimits::default());
        fake.put(3, "sqlite", sqlite("/nonexistent/c.db"), "v1");
        c.database(1, 3).await.unwrap();
        let e = c.database(2, 3).await.err().unwrap();
        assert!(
            matches!(e, DriverError::ConnectionNotFound { id: 3 }),
            "{e:?}"
        );
    }

    #[tokio::test]
    async fn a_connection_of_the_other_family_is_refused() {
        let (fake, c) = setup(CacheLimits::default());
        fake.put(4, "sqlite", sqlite("/nonexistent/d.db"), "v1");
        fake.put(5, "local", json!({"path": "/nonexistent"}), "v1");
        let e = c.file_store(1, 4, None).await.err().unwrap();
        assert!(matches!(e, DriverError::NotAFileConnection { .. }), "{e:?}");
        let e = c.database(1, 5).await.err().unwrap();
        assert!(
            matches!(e, DriverError::NotADatabaseConnection { .. }),
            "{e:?}"
        );
        assert_eq!(c.open_count(), 0);
    }

    #[tokio::test]
    async fn at_most_max_open_drivers_stay_open_and_the_least_recently_used_goes() {
        let (fake, c) = setup(CacheLimits {
            max_open: 2,
            ..CacheLimits::default()
        });
        for id in 1..=3 {
            fake.put(id, "sqlite", sqlite("/nonexistent/e.db"), "v1");
        }
        let one = Arc::downgrade(&c.database(1, 1).await.unwrap());
        tokio::time::sleep(Duration::from_millis(2)).await;
        let two = Arc::downgrade(&c.database(1, 2).await.unwrap());
        tokio::time::sleep(Duration::from_millis(2)).await;
        // Used again: 1 is now more recent than 2.
        c.database(1, 1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(2)).await;
        c.database(1, 3).await.unwrap();
        assert_eq!(c.open_count(), 2);
        assert!(one.upgrade().is_some(), "the recently used driver stayed");
        assert!(
            two.upgrade().is_none(),
            "the least recently used was closed"
        );
    }

    #[tokio::test]
    async fn idle_drivers_are_closed_by_the_sweeper() {
        let (fake, c) = setup(CacheLimits {
            idle: Duration::from_millis(40),
            ..CacheLimits::default()
        });
        fake.put(6, "sqlite", sqlite("/nonexistent/f.db"), "v1");
        let c = Arc::new(c);
        let sweeper = c.spawn_sweeper();
        let driver = Arc::downgrade(&c.database(1, 6).await.unwrap());
        let deadline = Instant::now() + Duration::from_secs(5);
        while c.open_count() > 0 {
            assert!(
                Instant::now() < deadline,
                "the idle driver was never closed"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(driver.upgrade().is_none());
        // The sweeper ends with the cache.
        drop(c);
        tokio::time::timeout(Duration::from_secs(5), sweeper)
            .await
            .expect("the sweeper outlived its cache")
            .unwrap();
    }

    #[tokio::test]
    async fn each_bucket_is_a_store_of_its_own() {
        let (fake, c) = setup(CacheLimits::default());
        fake.put(
            7,
            "s3",
            json!({"bucket": "one", "endpoint": "http://127.0.0.1:1"}),
            "v1",
        );
        let own = c.file_store(1, 7, None).await.unwrap();
        let other = c.file_store(1, 7, Some("two")).await.unwrap();
        assert!(!Arc::ptr_eq(&own, &other));
        assert!(Arc::ptr_eq(
            &other,
            &c.file_store(1, 7, Some("two")).await.unwrap()
        ));
        assert_eq!(c.open_count(), 2);
        c.forget(7);
        assert_eq!(c.open_count(), 0);
    }
}
