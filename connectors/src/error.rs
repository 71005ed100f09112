//! Driver errors: one kind per thing that can go wrong, each with a message that says what
//! to do. Messages are built from our own words and the database's error text, never from
//! the connection's secrets.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot reach {target}: {detail}; check host and port, and that the server accepts connections from here")]
    Unreachable { target: String, detail: String },
    #[error("TLS failed: {0}; check tls_mode (disable, prefer, require, verify-ca, verify-full) and the CA certificate")]
    Tls(String),
    #[error("authentication failed for user `{user}`; check the user name and the password stored with the connection")]
    AuthFailed { user: String },
    #[error(
        "database `{database}` does not exist on the server; check the connection's database field"
    )]
    DatabaseMissing { database: String },
    #[error(
        "permission denied: {0}; grant the connection's user SELECT on it, or use another table"
    )]
    PermissionDenied(String),
    #[error("timed out after {} s; the server is slow or unreachable, or the query is too expensive (narrow where_clause)", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("table {0} not found; list tables with discover_schema")]
    TableNotFound(String),
    #[error("the database refused the query: {0}")]
    Query(String),
    #[error("SSH tunnel {0}")]
    Tunnel(String),
    #[error("SFTP {0}")]
    Sftp(String),
    #[error("file `{path}` not found; check the path, or give a glob such as `folder/*.csv` to pick the newest match")]
    FileNotFound { path: String },
    #[error("no file matches `{pattern}`; check the folder and the pattern (`*` stays within a folder, `**` crosses folders)")]
    NoMatch { pattern: String },
    #[error(
        "`{path}` is a folder, not a file; give a file inside it, or a glob such as `{path}/*.csv`"
    )]
    NotAFile { path: String },
    #[error("bucket or container `{bucket}` does not exist or is not visible to these credentials; check the connection's bucket (or the bucket argument)")]
    BucketNotFound { bucket: String },
    #[error("the store rejected the connection's credentials ({0}); check the access key and secret stored with the connection")]
    CredentialsRejected(String),
    #[error("the file store failed: {0}")]
    Store(String),
    #[error("the connection is misconfigured: {field}: {message}")]
    Config { field: String, message: String },
}

impl DriverError {
    pub fn config(field: &str, message: impl Into<String>) -> Self {
        DriverError::Config {
            field: field.into(),
            message: message.into(),
        }
    }

    /// A short machine-readable kind, for tool results and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            DriverError::Unreachable { .. } => "unreachable",
            DriverError::Tls(_) => "tls",
            DriverError::AuthFailed { .. } => "auth_failed",
            DriverError::DatabaseMissing { .. } => "database_missing",
            DriverError::PermissionDenied(_) => "permission_denied",
            DriverError::Timeout(_) => "timeout",
            DriverError::TableNotFound(_) => "table_not_found",
            DriverError::Query(_) => "query_failed",
            DriverError::Tunnel(_) => "tunnel",
            DriverError::Sftp(_) => "sftp",
            DriverError::FileNotFound { .. } => "not_found",
            DriverError::NoMatch { .. } => "not_found",
            DriverError::NotAFile { .. } => "not_a_file",
            DriverError::BucketNotFound { .. } => "bucket_not_found",
            DriverError::CredentialsRejected(_) => "auth_failed",
            DriverError::Store(_) => "store_failed",
            DriverError::Config { .. } => "misconfigured",
        }
    }
}

pub type Result<T> = std::result::Result<T, DriverError>;

/// An error and its causes, joined (rustls's reason, an object store's HTTP status, sit a
/// few sources down); repeated consecutive parts once.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.dedup();
    parts.join(": ")
}
