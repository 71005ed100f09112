//! The control plane as the drivers' [`ConnectionSource`]: what a connection is (type,
//! clear fields, version) and, only when a driver is about to be opened, its secrets.
//!
//! This is the one place the catalog meets `connectors`, and it meets only the trait and
//! its error type: no driver is opened or named here. Store and sealing failures are
//! logged here and leave as a short message with no detail (which could quote the
//! store's URL, or the sealed value).

use std::{collections::BTreeMap, sync::Arc};

use connectors::{async_trait, ConnectionSettings, ConnectionSource, DriverError};
use serde_json::{Map, Value};
use sqlx::Row;

use crate::{seal::Sealer, CatalogError, Store};

/// The store's connections, with the sealer that opens their secrets.
#[derive(Clone)]
pub struct StoredConnections {
    store: Store,
    sealer: Arc<Sealer>,
}

impl StoredConnections {
    pub fn new(store: Store, sealer: Arc<Sealer>) -> Self {
        StoredConnections { store, sealer }
    }
}

#[async_trait]
impl ConnectionSource for StoredConnections {
    async fn settings(&self, account: i64, id: i64) -> Result<ConnectionSettings, DriverError> {
        let row = sqlx::query(
            "SELECT type, fields_json, updated_at FROM connections WHERE id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(account)
        .fetch_optional(&self.store.pool)
        .await
        .map_err(|e| unavailable(id, e.into()))?
        .ok_or(DriverError::ConnectionNotFound { id })?;
        let read = || -> crate::Result<ConnectionSettings> {
            let fields: String = row.try_get("fields_json")?;
            let mut fields: Map<String, Value> = serde_json::from_str(&fields).unwrap_or_default();
            // Which secrets are set is for readers; a driver gets the secrets themselves.
            fields.remove("secret_names");
            Ok(ConnectionSettings {
                kind: row.try_get("type")?,
                fields,
                // Milliseconds, so two edits in one second still differ.
                updated_at: row.try_get::<i64, _>("updated_at")?.to_string(),
            })
        };
        read().map_err(|e| unavailable(id, e))
    }

    async fn secrets(
        &self,
        account: i64,
        id: i64,
    ) -> Result<BTreeMap<String, String>, DriverError> {
        self.store
            .open_secrets(&self.sealer, account, id)
            .await
            .map_err(|e| unavailable(id, e))
    }
}

/// A catalog failure as the drivers see it: not found, or the control plane unable to
/// answer (logged here with its detail, reported without it).
fn unavailable(id: i64, e: CatalogError) -> DriverError {
    match e {
        CatalogError::NotFound { .. } => DriverError::ConnectionNotFound { id },
        CatalogError::Seal(m) => {
            tracing::error!(error = %m, connection = id, "secret sealing failure while opening a connection");
            DriverError::ControlPlane("connection secrets cannot be opened on this server".into())
        }
        other => {
            tracing::error!(error = %other, connection = id, "store failure while reading a connection");
            DriverError::ControlPlane(
                "the control-plane store is unavailable; try again shortly".into(),
            )
        }
    }
}
