//! What a database driver needs to connect: the connection's fields and its opened secret.

use std::{fmt, path::PathBuf, time::Duration};

use crate::{error::DriverError, fields::Fields};

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
    /// Reach the server through this SSH tunnel.
    pub tunnel: Option<crate::tunnel::SshConfig>,
    /// Connect to this address instead of resolving `host` (set when a tunnel is up;
    /// `host` still names the server for TLS).
    pub connect_to: Option<std::net::SocketAddr>,
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
        secrets: std::collections::BTreeMap<String, String>,
    ) -> Result<DatabaseConfig, DriverError> {
        let mut f = Fields::new(fields, secrets);
        let tunnel = match f.text("tunnel_type").as_deref() {
            None | Some("none") => None,
            Some("ssh") => Some(crate::tunnel::SshConfig {
                host: f.text("ssh_host").ok_or_else(|| {
                    DriverError::config("ssh_host", "set the SSH server to tunnel through")
                })?,
                port: f.port("ssh_port", 22)?,
                user: f
                    .text("ssh_user")
                    .ok_or_else(|| DriverError::config("ssh_user", "set the SSH user"))?,
                password: f.secret("ssh_password"),
                private_key: f.secret("ssh_private_key"),
                passphrase: f.secret("ssh_passphrase"),
                host_key_fingerprint: f.text("ssh_host_key_fingerprint"),
                timeout: std::time::Duration::from_secs(10),
            }),
            Some(other) => {
                return Err(DriverError::config(
                    "tunnel_type",
                    format!("`{other}` is not a tunnel type; use none or ssh"),
                ))
            }
        };
        let cfg = DatabaseConfig {
            kind,
            host: f.text("host").unwrap_or_default(),
            port: f.port("port", kind.default_port())?,
            database: f.text("database").unwrap_or_default(),
            user: f.text("user").unwrap_or_default(),
            password: f.secret("password"),
            path: f.text("path").map(PathBuf::from),
            tls_mode: TlsMode::parse(&f.text("tls_mode").unwrap_or_default())?,
            tls_ca_file: f.text("tls_ca_file").map(PathBuf::from),
            connect_timeout: Duration::from_secs(10),
            statement_timeout: Duration::from_secs(
                f.text("statement_timeout_seconds")
                    .and_then(|t| t.parse::<u64>().ok())
                    .unwrap_or(10)
                    .clamp(1, 300),
            ),
            tunnel,
            connect_to: None,
            max_concurrent: 4,
        };
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
