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
    /// Keeps the caller's table for code and logs; the message names the argument only.
    #[error("no table or view matches the given `table_name` (in `schema_name`, or the connection's default schema); list tables with discover_schema")]
    TableNotFound(String),
    #[error("the server asked for the password in clear text over an unencrypted connection; set tls_mode=require (or verify-full), or allow_cleartext_password=true if you trust the network")]
    CleartextPasswordRefused,
    #[error("the database refused the query: {0}")]
    Query(String),
    #[error("SSH tunnel {0}")]
    Tunnel(String),
    #[error("SFTP {0}")]
    Sftp(String),
    // The file variants keep the caller's path for code and logs, but their messages never
    // show it: an error names the argument and the problem, not the value sent.
    #[error("file not found at the given `path`; check it (relative to the connection's folder or bucket), or give a glob such as `folder/*.csv` to pick the newest match")]
    FileNotFound { path: String },
    #[error("no file matches the `path` pattern; check its folder and the pattern (`*` stays within a folder, `**` crosses folders)")]
    NoMatch { pattern: String },
    #[error("the given `path` is a folder, not a file; give a file inside it, or a glob such as `folder/*.csv`")]
    NotAFile { path: String },
    #[error("the given `path` is a {kind}, not a regular file; only regular files are read (a FIFO, socket or device can block or never end)")]
    NotARegularFile { kind: &'static str },
    #[error("the given `path` leads out of the connection's folder through a symbolic link; read files inside the folder, or set follow_symlinks=true on the connection to allow links out")]
    OutsideFolder,
    #[error("the bucket or container does not exist or is not visible to these credentials; check the connection's bucket (or the `bucket` argument)")]
    BucketNotFound { bucket: String },
    #[error("the file store did not answer within {} s; it is slow, unreachable or stalled; try again shortly (a smaller sample_bytes reads less)", .0.as_secs_f64())]
    StoreTimeout(Duration),
    #[error("the store rejected the connection's credentials ({0}); check the access key and secret stored with the connection")]
    CredentialsRejected(String),
    #[error("the file store failed: {0}")]
    Store(String),
    #[error("the connection is misconfigured: {field}: {message}")]
    Config { field: String, message: String },
    // What the connection cache and the file gate report: the control plane's answer about
    // a connection, and Pipewright's own limits, rather than anything upstream said.
    #[error("connection {id} not found")]
    ConnectionNotFound { id: i64 },
    #[error("a {kind} connection is not a database connection")]
    NotADatabaseConnection { kind: String },
    #[error("a {kind} connection is not a file connection")]
    NotAFileConnection { kind: String },
    /// The control plane could not say what the connection is (its store is down, its
    /// secrets cannot be opened); the message is the control plane's own, secret-free.
    #[error("{0}")]
    ControlPlane(String),
    #[error("too many file operations in flight for this account; retry shortly")]
    Busy,
    #[error("the file operation stopped unexpectedly; try again")]
    Interrupted,
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
            DriverError::CleartextPasswordRefused => "cleartext_password_refused",
            DriverError::Query(_) => "query_failed",
            DriverError::Tunnel(_) => "tunnel",
            DriverError::Sftp(_) => "sftp",
            DriverError::FileNotFound { .. } => "not_found",
            DriverError::NoMatch { .. } => "not_found",
            DriverError::NotAFile { .. } => "not_a_file",
            DriverError::NotARegularFile { .. } => "not_a_file",
            DriverError::OutsideFolder => "outside_folder",
            DriverError::BucketNotFound { .. } => "bucket_not_found",
            DriverError::StoreTimeout(_) => "timeout",
            DriverError::CredentialsRejected(_) => "auth_failed",
            DriverError::Store(_) => "store_failed",
            DriverError::Config { .. } => "misconfigured",
            DriverError::ConnectionNotFound { .. } => "connection_not_found",
            DriverError::NotADatabaseConnection { .. } => "not_a_database",
            DriverError::NotAFileConnection { .. } => "not_a_file_connection",
            DriverError::ControlPlane(_) => "unavailable",
            DriverError::Busy => "busy",
            DriverError::Interrupted => "interrupted",
        }
    }

    /// Whether Pipewright itself failed (the control plane, the file gate) rather than
    /// the connection: a connection test reports the connection's failures as its
    /// outcome, and these as an error of its own.
    pub fn is_ours(&self) -> bool {
        matches!(
            self,
            DriverError::ConnectionNotFound { .. }
                | DriverError::NotADatabaseConnection { .. }
                | DriverError::NotAFileConnection { .. }
                | DriverError::ControlPlane(_)
                | DriverError::Busy
                | DriverError::Interrupted
        )
    }

    /// The same error with `f` applied to every text it carries (see `crate::redact`).
    /// Exhaustive on purpose: a new variant with text must say how its text is scrubbed.
    pub(crate) fn map_text(self, f: impl Fn(String) -> String) -> Self {
        use DriverError as E;
        match self {
            E::Unreachable { target, detail } => E::Unreachable {
                target: f(target),
                detail: f(detail),
            },
            E::Tls(s) => E::Tls(f(s)),
            E::AuthFailed { user } => E::AuthFailed { user: f(user) },
            E::DatabaseMissing { database } => E::DatabaseMissing {
                database: f(database),
            },
            E::PermissionDenied(s) => E::PermissionDenied(f(s)),
            E::TableNotFound(s) => E::TableNotFound(f(s)),
            E::Query(s) => E::Query(f(s)),
            E::Tunnel(s) => E::Tunnel(f(s)),
            E::Sftp(s) => E::Sftp(f(s)),
            E::FileNotFound { path } => E::FileNotFound { path: f(path) },
            E::NoMatch { pattern } => E::NoMatch {
                pattern: f(pattern),
            },
            E::NotAFile { path } => E::NotAFile { path: f(path) },
            E::BucketNotFound { bucket } => E::BucketNotFound { bucket: f(bucket) },
            E::CredentialsRejected(s) => E::CredentialsRejected(f(s)),
            E::Store(s) => E::Store(f(s)),
            E::Config { field, message } => E::Config {
                field: f(field),
                message: f(message),
            },
            E::NotADatabaseConnection { kind } => E::NotADatabaseConnection { kind: f(kind) },
            E::NotAFileConnection { kind } => E::NotAFileConnection { kind: f(kind) },
            E::ControlPlane(s) => E::ControlPlane(f(s)),
            e @ (E::Timeout(_)
            | E::ConnectionNotFound { .. }
            | E::Busy
            | E::Interrupted
            | E::StoreTimeout(_)
            | E::CleartextPasswordRefused
            | E::NotARegularFile { .. }
            | E::OutsideFolder) => e,
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
