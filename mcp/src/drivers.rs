//! Open drivers, one per connection (and, for file stores, per bucket), reused across
//! calls so each connection keeps its own pool or session. A connection edited since its
//! driver was opened gets a new one.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use catalog::{
    connections::{Connection, Family},
    seal::Sealer,
    Store,
};
use connectors::{
    database::{self, DatabaseConfig, DatabaseDriver, DbKind},
    files::{self, FileConfig, FileStore},
    DriverError, Ping,
};

use crate::{
    error::{ErrorCode, ToolError},
    file_gate::FileGate,
};

/// A driver and the `updated_at` of the connection it was opened for.
type Opened = (String, Arc<dyn DatabaseDriver>);

/// Why a driver could not be opened: the control plane, or the connection itself (its
/// fields, its tunnel), which `test_connection` reports as a result rather than an error.
pub enum OpenError {
    Store(ToolError),
    Driver(DriverError),
}

impl From<OpenError> for ToolError {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::Store(t) => t,
            OpenError::Driver(d) => d.into(),
        }
    }
}

/// File stores kept open at most (each bucket argument opens its own).
const MAX_OPEN_STORES: usize = 256;

/// A file store and the `updated_at` of the connection it was opened for.
type OpenedStore = (String, Arc<dyn FileStore>);

#[derive(Default)]
pub struct DriverCache {
    open: Mutex<HashMap<i64, Opened>>,
    stores: Mutex<HashMap<(i64, Option<String>), OpenedStore>>,
    /// Every operation on an opened file store goes through it: per-account permits and a
    /// deadline.
    pub file_gate: FileGate,
}

impl DriverCache {
    /// The driver for a database connection, opening it (with its sealed password) when
    /// needed.
    pub async fn database(
        &self,
        store: &Store,
        sealer: &Sealer,
        account_id: i64,
        conn: &Connection,
    ) -> Result<Arc<dyn DatabaseDriver>, OpenError> {
        if let Some((version, d)) = self.open.lock().unwrap().get(&conn.id) {
            if *version == conn.updated_at {
                return Ok(d.clone());
            }
        }
        let kind =
            DbKind::from_type(&conn.kind).ok_or_else(|| OpenError::Store(not_a_database()))?;
        let secrets = store
            .open_secrets(sealer, account_id, conn.id)
            .await
            .map_err(|e| OpenError::Store(e.into()))?;
        let cfg =
            DatabaseConfig::from_fields(kind, &conn.fields, secrets).map_err(OpenError::Driver)?;
        let driver = database::open(cfg).await.map_err(OpenError::Driver)?;
        self.open
            .lock()
            .unwrap()
            .insert(conn.id, (conn.updated_at.clone(), driver.clone()));
        Ok(driver)
    }
}

impl DriverCache {
    /// `test_connection` for a connection of either family. `Err` is the control plane
    /// failing; `Ok(Err)` is the connection failing (to open or to answer), which callers
    /// report as a result.
    pub async fn ping(
        &self,
        store: &Store,
        sealer: &Sealer,
        account_id: i64,
        conn: &Connection,
    ) -> Result<Result<Ping, DriverError>, ToolError> {
        let opened = match conn.family {
            Family::Database => self
                .database(store, sealer, account_id, conn)
                .await
                .map(Pinger::Database),
            Family::File => self
                .file_store(store, sealer, account_id, conn, None)
                .await
                .map(Pinger::File),
        };
        Ok(match opened {
            Ok(Pinger::Database(d)) => d.test_connection().await,
            Ok(Pinger::File(s)) => {
                self.file_gate
                    .run(account_id, async move { s.test_connection().await })
                    .await?
            }
            Err(OpenError::Driver(e)) => Err(e),
            Err(OpenError::Store(e)) => return Err(e),
        })
    }

    /// The store for a file connection; `bucket` overrides the connection's bucket.
    pub async fn file_store(
        &self,
        store: &Store,
        sealer: &Sealer,
        account_id: i64,
        conn: &Connection,
        bucket: Option<&str>,
    ) -> Result<Arc<dyn FileStore>, OpenError> {
        let key = (conn.id, bucket.map(str::to_string));
        if let Some((version, s)) = self.stores.lock().unwrap().get(&key) {
            if *version == conn.updated_at {
                return Ok(s.clone());
            }
        }
        let secrets = store
            .open_secrets(sealer, account_id, conn.id)
            .await
            .map_err(|e| OpenError::Store(e.into()))?;
        let cfg = FileConfig::from_fields(&conn.kind, &conn.fields, secrets, bucket)
            .map_err(OpenError::Driver)?;
        let opened = files::open(cfg).map_err(OpenError::Driver)?;
        let mut stores = self.stores.lock().unwrap();
        // One store per connection and bucket argument: bounded, whatever callers pass.
        if stores.len() >= MAX_OPEN_STORES {
            stores.clear();
        }
        stores.insert(key, (conn.updated_at.clone(), opened.clone()));
        Ok(opened)
    }
}

/// An opened driver of either family.
enum Pinger {
    Database(Arc<dyn DatabaseDriver>),
    File(Arc<dyn FileStore>),
}

/// The seed's words for a connection that is not a database.
pub fn not_a_database() -> ToolError {
    ToolError::new(
        ErrorCode::NotFound,
        "connection not found, or not a database connection",
    )
    .with_field("connection_id")
    .with_hint("these tools work on database connections only; list_connections with connection_type_filter=database shows them")
}
