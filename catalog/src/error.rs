//! The catalog's one error type. Messages are written for the person who has to act on
//! them and never carry a secret (database errors are summarised, not echoed).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CatalogError {
    #[error("{kind} {id} not found")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    Conflict(String),
    #[error("{field}: {message}")]
    InvalidArgument {
        field: &'static str,
        message: String,
    },
    #[error("the control-plane store failed: {0}")]
    Store(String),
    #[error("secret sealing failed: {0}")]
    Seal(String),
}

impl CatalogError {
    pub fn not_found(kind: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            kind,
            id: id.to_string(),
        }
    }
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidArgument {
            field,
            message: message.into(),
        }
    }
}

impl From<sqlx::Error> for CatalogError {
    fn from(e: sqlx::Error) -> Self {
        // Database errors can quote connection strings (with passwords) on connect
        // failures; keep only the database's own message for query errors.
        match &e {
            sqlx::Error::Database(db) => {
                if db.is_unique_violation() {
                    CatalogError::Conflict(format!("already exists ({})", db.message()))
                } else {
                    CatalogError::Store(db.message().to_string())
                }
            }
            sqlx::Error::RowNotFound => CatalogError::Store("row not found".into()),
            sqlx::Error::PoolTimedOut => {
                CatalogError::Store("timed out waiting for a store connection".into())
            }
            sqlx::Error::Io(io) => CatalogError::Store(format!("I/O error: {}", io.kind())),
            sqlx::Error::Tls(_) => CatalogError::Store("TLS error talking to the store".into()),
            sqlx::Error::Configuration(_) => {
                CatalogError::Store("invalid store configuration (check --database-url)".into())
            }
            sqlx::Error::ColumnDecode { index, .. } => {
                CatalogError::Store(format!("cannot decode column {index}"))
            }
            other => CatalogError::Store(kind_of(other).into()),
        }
    }
}

fn kind_of(e: &sqlx::Error) -> &'static str {
    match e {
        sqlx::Error::Protocol(_) => "protocol error talking to the store",
        sqlx::Error::PoolClosed => "the store is shutting down",
        sqlx::Error::WorkerCrashed => "store worker crashed",
        sqlx::Error::Migrate(_) => "migration failed",
        _ => "unexpected store error",
    }
}
