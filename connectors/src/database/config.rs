//! What a database driver needs to connect: the connection's fields and its opened secret.

use std::{fmt, path::PathBuf, time::Duration};

use crate::{error::DriverError, sanitize::Dialect};

/// Database families, each one driver module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbKind {
    Postgres,
    MySql,
    MsSql,
    Sqlite,
}

impl DbKind {
    /// From a connection's `type`.
    pub fn from_type(t: &str) -> Option<DbKind> {
        Some(match t {
            "postgres" => DbKind::Postgres,
            "mysql" | "mariadb" => DbKind::MySql,
            "mssql" => DbKind::MsSql,
            "sqlite" => DbKind::Sqlite,
            _ => return None,
        })
    }

    pub fn dialect(self) -> Dialect {
        match self {
            DbKind::Postgres => Dialect::Postgres,
            DbKind::MySql => Dialect::MySql,
            DbKind::MsSql => Dialect::MsSql,
            DbKind::Sqlite => Dialect::Sqlite,
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            DbKind::Postgres => 5432,
            DbKind::MySql => 3306,
            DbKind::MsSql => 1433,
            DbKind::Sqlite => 0,
        }
    }
}

/// A password that never prints.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub kind: DbKind,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: Option<Secret>,
    /// SQLite: the database file.
    pub path: Option<PathBuf>,
    pub tls_mode: TlsMode,
    /// PEM file of the CA that signed the server's certificate (verify-ca / verify-full);
    /// without it, the Mozilla roots.
    pub tls_ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    /// Queries allowed to run at once on this connection, so an assistant cannot flood a
    /// production database.
    pub max_concurrent: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl TlsMode {
    pub fn parse(s: &str) -> Result<TlsMode, DriverError> {
        Ok(match s {
            "" | "disable" => TlsMode::Disable,
            "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            _ => {
                return Err(DriverError::config(
                    "tls_mode",
                    format!("`{s}` is not a TLS mode; use disable, prefer, require, verify-ca or verify-full"),
                ))
            }
        })
    }
}

impl DatabaseConfig {
    /// From a connection's type, its non-secret fields and its secrets.
    pub fn from_fields(
        kind: DbKind,
        fields: &serde_json::Map<String, serde_json::Value>,
        password: Option<String>,
    ) -> Result<DatabaseConfig, DriverError> {
        let text = |k: &str| {
            fields
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let port = match fields.get("port") {
            None | Some(serde_json::Value::Null) => kind.default_port(),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .and_then(|p| u16::try_from(p).ok())
                .ok_or_else(|| DriverError::config("port", "must be a number from 1 to 65535"))?,
        };
        let cfg = DatabaseConfig {
            kind,
            host: text("host"),
            port,
            database: text("database"),
            user: text("user"),
            password: password.map(Secret::new),
            path: fields
                .get("path")
                .and_then(|v| v.as_str())
                .map(PathBuf::from),
            tls_mode: TlsMode::parse(&text("tls_mode"))?,
            tls_ca_file: fields
                .get("tls_ca_file")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(
                fields
                    .get("statement_timeout_seconds")
                    .and_then(|v| v.as_u64())
                    .unwrap_or(10)
                    .clamp(1, 300),
            ),
            max_concurrent: 4,
        };
        if text("tunnel_type") == "ssh" {
            return Err(DriverError::Unsupported(
                "SSH tunnels are not supported by this build yet; connect directly (tunnel_type none) or through a local port forward".into(),
            ));
        }
        match kind {
            DbKind::Sqlite if cfg.path.is_none() => Err(DriverError::config(
                "path",
                "a SQLite connection needs the database file's path",
            )),
            DbKind::Sqlite => Ok(cfg),
            _ if cfg.host.is_empty() => Err(DriverError::config(
                "host",
                "set the database server's host name",
            )),
            _ if cfg.user.is_empty() => {
                Err(DriverError::config("user", "set the user to connect as"))
            }
            _ => Ok(cfg),
        }
    }

    /// `host:port`, for messages.
    pub fn target(&self) -> String {
        match self.kind {
            DbKind::Sqlite => self
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            _ => format!("{}:{}", self.host, self.port),
        }
    }
}
