//! Driver errors: one kind per thing that can go wrong, each with a message that says what
//! to do. Messages are built from our own words and the database's error text, never from
//! the connection's secrets.
//!
//! Messages speak of the connection, the query, the table and the file, never of how a
//! caller asked for them: a run log, the CLI and an MCP tool all show the same text, and
//! only the MCP layer knows which tool argument to name (it adds that as a field and a
//! hint). `tests` below renders every variant to hold this.

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
    #[error("timed out after {} s; the server is slow or unreachable, or the query is too expensive", .0.as_secs_f64())]
    Timeout(Duration),
    /// Keeps the caller's table for code and logs; the message does not show it.
    #[error("no table or view of that name (in that schema, or the connection's default schema)")]
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
    // show it: an error names the problem, not the value sent.
    #[error("file not found; check where it is, relative to the connection's folder or bucket")]
    FileNotFound { path: String },
    #[error("no file matches the pattern; check its folder and the pattern (`*` stays within a folder, `**` crosses folders)")]
    NoMatch { pattern: String },
    #[error("that is a folder, not a file")]
    NotAFile { path: String },
    #[error("that is a {kind}, not a regular file; only regular files are read (a FIFO, socket or device can block or never end)")]
    NotARegularFile { kind: &'static str },
    #[error("the file lies out of the connection's folder, through a symbolic link; read files inside the folder, or set follow_symlinks=true on the connection to allow links out")]
    OutsideFolder,
    #[error("the bucket or container does not exist or is not visible to these credentials; check the connection's bucket")]
    BucketNotFound { bucket: String },
    #[error("the file store did not answer within {} s; it is slow, unreachable or stalled; try again shortly", .0.as_secs_f64())]
    StoreTimeout(Duration),
    #[error("the store rejected the connection's credentials ({0}); check the access key and secret stored with the connection")]
    CredentialsRejected(String),
    #[error("the file store failed: {0}")]
    Store(String),
    #[error("the connection is misconfigured: {field}: {message}")]
    Config { field: String, message: String },
    /// A bucket or container asked for instead of the connection's own cannot be used.
    #[error("that bucket cannot be used: {0}")]
    BucketOverride(String),
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
    #[error("this connection type does not support {0} yet")]
    Unsupported(String),
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
            DriverError::BucketOverride(_) => "bad_bucket",
            DriverError::ConnectionNotFound { .. } => "connection_not_found",
            DriverError::NotADatabaseConnection { .. } => "not_a_database",
            DriverError::NotAFileConnection { .. } => "not_a_file_connection",
            DriverError::ControlPlane(_) => "unavailable",
            DriverError::Busy => "busy",
            DriverError::Interrupted => "interrupted",
            DriverError::Unsupported(_) => "unsupported",
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
            E::BucketOverride(s) => E::BucketOverride(f(s)),
            e @ (E::Timeout(_)
            | E::ConnectionNotFound { .. }
            | E::Busy
            | E::Interrupted
            | E::Unsupported(_)
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

#[cfg(test)]
#[path = "../tests/support/tool_words.rs"]
mod tool_words;

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, time::Duration};

    use serde_json::json;

    use super::{tool_words::named_in, DriverError as E};
    use crate::{
        database::{DatabaseConfig, DbKind},
        files::FileConfig,
        sanitize::{sanitize, Dialect, Scope},
    };
    use discovery::SniffError as S;

    /// One number per variant; adding a variant fails to compile here until it is given
    /// one, and then `every_variant` fails until it has a sample.
    fn ordinal(e: &E) -> usize {
        match e {
            E::Unreachable { .. } => 0,
            E::Tls(_) => 1,
            E::AuthFailed { .. } => 2,
            E::DatabaseMissing { .. } => 3,
            E::PermissionDenied(_) => 4,
            E::Timeout(_) => 5,
            E::TableNotFound(_) => 6,
            E::CleartextPasswordRefused => 7,
            E::Query(_) => 8,
            E::Tunnel(_) => 9,
            E::Sftp(_) => 10,
            E::FileNotFound { .. } => 11,
            E::NoMatch { .. } => 12,
            E::NotAFile { .. } => 13,
            E::NotARegularFile { .. } => 14,
            E::OutsideFolder => 15,
            E::BucketNotFound { .. } => 16,
            E::StoreTimeout(_) => 17,
            E::CredentialsRejected(_) => 18,
            E::Store(_) => 19,
            E::Config { .. } => 20,
            E::BucketOverride(_) => 21,
            E::ConnectionNotFound { .. } => 22,
            E::NotADatabaseConnection { .. } => 23,
            E::NotAFileConnection { .. } => 24,
            E::ControlPlane(_) => 25,
            E::Busy => 26,
            E::Interrupted => 27,
            E::Unsupported(_) => 28,
        }
    }
    const VARIANTS: usize = 29;

    fn sniff_ordinal(e: &S) -> usize {
        match e {
            S::Empty => 0,
            S::Binary { .. } => 1,
            S::Undecodable { .. } => 2,
            S::UnknownEncoding(_) => 3,
            S::Corrupt(_) => 4,
            S::TooWide { .. } => 5,
            S::NotJsonLines => 6,
            S::HeaderPastSample { .. } => 7,
        }
    }
    const SNIFF_VARIANTS: usize = 8;

    /// Every variant, with the values callers pass (a table name, a path, a bucket), and the
    /// configuration errors the code really raises.
    fn driver_errors() -> Vec<E> {
        let mut all = vec![
            E::Unreachable {
                target: "db.internal:5432".into(),
                detail: "connection refused".into(),
            },
            E::Tls("the certificate is not trusted".into()),
            E::AuthFailed {
                user: "reader".into(),
            },
            E::DatabaseMissing {
                database: "shop".into(),
            },
            E::PermissionDenied("the file on s3://exports".into()),
            E::Timeout(Duration::from_secs(10)),
            E::TableNotFound("orders".into()),
            E::CleartextPasswordRefused,
            E::Query("syntax error at or near \"x\"".into()),
            E::Tunnel("cannot connect to the SSH server".into()),
            E::Sftp("sftp://etl@files:22: no such file".into()),
            E::FileNotFound {
                path: "exports/orders.csv".into(),
            },
            E::NoMatch {
                pattern: "exports/*.csv".into(),
            },
            E::NotAFile {
                path: "exports".into(),
            },
            E::NotARegularFile { kind: "FIFO" },
            E::OutsideFolder,
            E::BucketNotFound {
                bucket: "exports".into(),
            },
            E::StoreTimeout(Duration::from_secs(60)),
            E::CredentialsRejected("s3://exports".into()),
            E::Store("Object at location <the file> not found".into()),
            E::config("host", "set the database server's host name"),
            E::BucketOverride("a local connection has no buckets".into()),
            E::ConnectionNotFound { id: 7 },
            E::NotADatabaseConnection { kind: "s3".into() },
            E::NotAFileConnection {
                kind: "postgres".into(),
            },
            E::ControlPlane("the control-plane store is unavailable; try again shortly".into()),
            E::Busy,
            E::Interrupted,
            E::Unsupported("writing rows in bulk".into()),
        ];
        let fields = |v: serde_json::Value| v.as_object().cloned().unwrap_or_default();
        let no_secrets = BTreeMap::new;
        for (kind, f) in [
            (DbKind::Sqlite, json!({})),
            (DbKind::Postgres, json!({"host": "db"})),
            (
                DbKind::Postgres,
                json!({"host": "db", "user": "u", "port": 0}),
            ),
            (
                DbKind::Postgres,
                json!({"host": "db", "user": "u", "tls_mode": "maybe"}),
            ),
            (
                DbKind::Postgres,
                json!({"host": "db", "user": "u", "tunnel_type": "ssh"}),
            ),
        ] {
            all.push(DatabaseConfig::from_fields(kind, &fields(f), no_secrets()).unwrap_err());
        }
        for (kind, f, bucket) in [
            ("local", json!({"path": "/data"}), Some("other")),
            ("s3", json!({"bucket": "ok-bucket"}), Some("evil.example#")),
            ("s3", json!({}), None),
            ("azure", json!({"container": "c"}), None),
            ("ftp", json!({}), None),
        ] {
            all.push(FileConfig::from_fields(kind, &fields(f), no_secrets(), bucket).unwrap_err());
        }
        all
    }

    fn sniff_errors() -> Vec<S> {
        vec![
            S::Empty,
            S::Binary {
                format: "PNG image".into(),
            },
            S::Undecodable {
                encoding: "UTF-8".into(),
                offset: 12,
            },
            S::UnknownEncoding("klingon".into()),
            S::Corrupt("gzip: invalid header".into()),
            S::TooWide { max: 10_000 },
            S::NotJsonLines,
            S::HeaderPastSample {
                line: 5000,
                lines_read: 12,
            },
        ]
    }

    #[test]
    fn every_variant_has_a_sample() {
        let mut seen: Vec<usize> = driver_errors().iter().map(ordinal).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, (0..VARIANTS).collect::<Vec<_>>());
        let mut seen: Vec<usize> = sniff_errors().iter().map(sniff_ordinal).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, (0..SNIFF_VARIANTS).collect::<Vec<_>>());
    }

    #[test]
    fn driver_and_sniffer_errors_name_no_tool_and_no_tool_argument() {
        let mut texts: Vec<String> = driver_errors().iter().map(E::to_string).collect();
        texts.extend(sniff_errors().iter().map(S::to_string));
        let cols = ["id".to_string(), "status".to_string()];
        let scope = Scope {
            schema: None,
            table: "orders",
            columns: &cols,
        };
        for fragment in [
            "",
            "status = 'x'; DROP TABLE orders",
            "id IN (SELECT id FROM users)",
            "pg_sleep(10) IS NULL",
            "nope = 1",
            "count(*) > 1",
            "status = 'a' -- comment",
        ] {
            let e = sanitize(fragment, Dialect::Postgres, &scope).unwrap_err();
            texts.push(e.to_string());
        }
        let named: Vec<_> = texts
            .iter()
            .filter_map(|t| named_in(t).map(|n| format!("`{n}` in: {t}")))
            .collect();
        assert!(
            named.is_empty(),
            "messages that name a tool or argument:\n{}",
            named.join("\n")
        );
        assert!(
            !texts.iter().any(|t| t.contains("narrow where_clause")),
            "a run log must never say this"
        );
    }
}
