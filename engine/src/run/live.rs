//! Source columns read from the account's live connections, for validation and for runs:
//! database tables as the drivers describe them, files as discovery sniffs them.
//!
//! A run needs more than validation does, so each answer is also kept: the driver error
//! behind a connection that could not be read (validation only warns; a run fails with
//! it), and the dialect discovery found for a file whose package left it unsaid (the run
//! reads the file as discovery saw it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use connectors::database::TableRef;
use connectors::{files, Connections, DriverError};
use datafusion::arrow::datatypes::SchemaRef;

use crate::components::properties::{Compression, FileSource, RecordType, SchemaField};
use crate::validate::{SchemaError, SchemaSource};

/// Schemas from the connections of one account.
pub struct LiveSchemas {
    connections: Arc<Connections>,
    account: i64,
    /// Why each connection that could not be read failed, by connection id.
    failures: Mutex<HashMap<i64, DriverError>>,
    /// File sources as discovery read them, by (connection id, path).
    files: Mutex<HashMap<(i64, String), FileSource>>,
}

impl LiveSchemas {
    pub fn new(connections: Arc<Connections>, account: i64) -> Self {
        LiveSchemas {
            connections,
            account,
            failures: Mutex::default(),
            files: Mutex::default(),
        }
    }

    /// The driver error that kept connection `id`'s columns from being read, if any.
    pub fn failure(&self, id: i64) -> Option<DriverError> {
        let mut all = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        all.remove(&id)
    }

    /// `source` with what discovery found filled in where the package left it unsaid.
    pub fn discovered(&self, source: &FileSource) -> FileSource {
        let all = self.files.lock().unwrap_or_else(|p| p.into_inner());
        all.get(&(source.connection_id, source.path.clone()))
            .cloned()
            .unwrap_or_else(|| source.clone())
    }

    fn unreadable(&self, id: i64, e: DriverError) -> SchemaError {
        match e {
            DriverError::TableNotFound(_)
            | DriverError::FileNotFound { .. }
            | DriverError::NoMatch { .. } => SchemaError::NotFound(e.to_string()),
            other => {
                let message = other.to_string();
                self.failures
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, other);
                SchemaError::Unreachable(message)
            }
        }
    }
}

#[async_trait]
impl SchemaSource for LiveSchemas {
    async fn table_schema(
        &self,
        connection_id: i64,
        schema: Option<&str>,
        table: &str,
    ) -> Result<SchemaRef, SchemaError> {
        let driver = self
            .connections
            .database(self.account, connection_id)
            .await
            .map_err(|e| self.unreadable(connection_id, e))?;
        let columns = driver
            .describe_table(&TableRef {
                schema: schema.map(String::from),
                name: table.to_string(),
            })
            .await
            .map_err(|e| self.unreadable(connection_id, e))?;
        Ok(crate::schema::from_columns(&columns))
    }

    async fn query_schema(
        &self,
        connection_id: i64,
        query: &str,
    ) -> Result<SchemaRef, SchemaError> {
        let driver = self
            .connections
            .database(self.account, connection_id)
            .await
            .map_err(|e| self.unreadable(connection_id, e))?;
        let (query, _) = crate::run::database::positional(query, driver.dialect())
            .map_err(SchemaError::Invalid)?;
        match driver.describe_query(&query).await {
            Ok(columns) => Ok(crate::schema::from_columns(&columns)),
            Err(DriverError::Query(why)) => Err(SchemaError::Invalid(why)),
            Err(e) => Err(self.unreadable(connection_id, e)),
        }
    }

    async fn file_schema(
        &self,
        connection_id: i64,
        source: &FileSource,
    ) -> Result<SchemaRef, SchemaError> {
        let account = self.account;
        let store = self
            .connections
            .file_store(account, connection_id, source.bucket.as_deref())
            .await
            .map_err(|e| self.unreadable(connection_id, e))?;
        let gate = self.connections.files();
        let resolved = {
            let (store, path) = (store.clone(), source.path.clone());
            gate.run(account, async move {
                files::resolve(store.as_ref(), &path).await
            })
            .await
            .map_err(|e| self.unreadable(connection_id, e))?
        };
        let (bytes, truncated) = {
            let (store, file) = (store.clone(), resolved.file.clone());
            gate.run(account, async move {
                files::read_prefix(store.as_ref(), &file, 256 * 1024).await
            })
            .await
            .map_err(|e| self.unreadable(connection_id, e))?
        };
        // What the package says about the file is not guessed again.
        let delimiter = source.delimiter.as_deref().and_then(|d| match d {
            "tab" | "TAB" | "\\t" => Some(Some('\t')),
            "none" => Some(None),
            _ => {
                let mut chars = d.chars();
                let c = chars.next()?;
                chars.next().is_none().then_some(Some(c))
            }
        });
        let hints = discovery::Hints {
            encoding: source.encoding.clone(),
            delimiter,
            ..Default::default()
        };
        let found = gate
            .run_blocking(account, move || discovery::sniff(&bytes, truncated, &hints))
            .await
            .map_err(|e| self.unreadable(connection_id, e))?
            .map_err(|e| SchemaError::Invalid(e.to_string()))?;
        if found.column_offsets.is_some() && source.delimiter.is_none() {
            return Err(SchemaError::Invalid(format!(
                "`{}` is a table aligned with spaces, not a delimited file; pipelines read delimited files: export it with a delimiter, or set `delimiter`",
                source.path
            )));
        }
        let fields: Vec<SchemaField> = serde_json::to_value(&found.fields)
            .and_then(serde_json::from_value)
            .map_err(|_| SchemaError::Invalid("the file's columns could not be read".into()))?;
        let filled = fill(source, &found);
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((connection_id, source.path.clone()), filled);
        Ok(crate::schema::from_file_fields(&fields))
    }
}

/// The properties a package left unsaid, from discovery.
fn fill(source: &FileSource, found: &discovery::Discovery) -> FileSource {
    let mut s = source.clone();
    s.record_type = match found.record_type {
        "json" => RecordType::Json,
        _ => source.record_type,
    };
    s.encoding = s.encoding.or_else(|| Some(found.encoding.clone()));
    s.compression = s.compression.or(match found.compression {
        Some("gzip") => Some(Compression::Gzip),
        Some("zstd") => Some(Compression::Zstd),
        _ => None,
    });
    s.delimiter = s.delimiter.or_else(|| found.delimiter.clone());
    s.quote = s
        .quote
        .or_else(|| found.quote.clone().or(Some("none".into())));
    s.escape = s.escape.or_else(|| found.escape.clone());
    s.header_row = s.header_row.or(Some(found.header_row));
    s.record_delimiter = s.record_delimiter.or_else(|| {
        Some(
            match found.record_delimiter.as_str() {
                "\n" => "LF",
                "\r\n" => "CRLF",
                "\r" => "CR",
                other => other,
            }
            .to_string(),
        )
    });
    s
}
