//! What a database driver needs to connect: the connection's fields and its opened secret.

use std::{fmt, path::PathBuf, time::Duration};

use crate::error::DriverError;

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
        mut secrets: std::collections::BTreeMap<String, String>,
    ) -> Result<DatabaseConfig, DriverError> {
        let password = secrets.remove("password");
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
        let tunnel = match text("tunnel_type").as_str() {
            "" | "none" => None,
            "ssh" => Some(crate::tunnel::SshConfig {
                host: match text("ssh_host") {
                    h if h.is_empty() => {
                        return Err(DriverError::config(
                            "ssh_host",
                            "set the SSH server to tunnel through",
                        ))
                    }
                    h => h,
                },
                port: fields
                    .get("ssh_port")
                    .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))
                    .and_then(|p| u16::try_from(p).ok())
                    .unwrap_or(22),
                user: match text("ssh_user") {
                    u if u.is_empty() => {
                        return Err(DriverError::config("ssh_user", "set the SSH user"))
                    }
                    u => u,
                },
                password: secrets.remove("ssh_password").map(Secret::new),
                private_key: secrets.remove("ssh_private_key").map(Secret::new),
                passphrase: secrets.remove("ssh_passphrase").map(Secret::new),
                host_key_fingerprint: Some(text("ssh_host_key_fingerprint"))
                    .filter(|f| !f.is_empty()),
                timeout: std::time::Duration::from_secs(10),
            }),
            other => {
                return Err(DriverError::config(
                    "tunnel_type",
                    format!("`{other}` is not a tunnel type; use none or ssh"),
                ))
            }
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
