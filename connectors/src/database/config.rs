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
    /// Send the password when the server asks for it in clear text over a connection that
    /// is not encrypted. Off by default: a server that declines TLS and then asks for the
    /// plain password is misconfigured or hostile (`tls_mode=prefer` falls back to exactly
    /// that). Over TLS the password is sent as the server asks.
    pub allow_cleartext_password: bool,
    /// Secrets sealed with the connection that no field above takes; scrubbed from errors
    /// like the rest.
    pub other_secrets: Vec<Secret>,
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
                    "not a TLS mode; use disable, prefer, require, verify-ca or verify-full",
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
            Some(_) => {
                return Err(DriverError::config(
                    "tunnel_type",
                    "not a tunnel type; use none or ssh",
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
            allow_cleartext_password: f.boolean("allow_cleartext_password")?,
            // Last: after every field above took its own.
            other_secrets: f.remaining_secrets(),
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

    /// Every secret of the connection: its password, its tunnel's, and any other sealed
    /// with it.
    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        let tunnel = self.tunnel.iter().flat_map(|t| {
            [&t.password, &t.private_key, &t.passphrase]
                .into_iter()
                .flatten()
        });
        self.password
            .iter()
            .chain(tunnel)
            .chain(self.other_secrets.iter())
    }

    /// Scrubs this connection's secrets from upstream text (see `crate::redact`).
    pub fn redactor(&self) -> crate::redact::Redactor {
        crate::redact::Redactor::new(self.secrets().map(Secret::expose))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_sealed_secret_is_known_for_scrubbing() {
        let fields = serde_json::json!({"host": "db", "user": "etl", "tunnel_type": "ssh",
                                        "ssh_host": "bastion", "ssh_user": "jump"});
        let cfg = DatabaseConfig::from_fields(
            DbKind::Postgres,
            fields.as_object().unwrap(),
            secrets(&[
                ("password", "db-pw"),
                ("ssh_password", "ssh-pw"),
                ("ssh_passphrase", "phrase"),
                ("api_token", "stray"),
            ]),
        )
        .unwrap();
        let mut all: Vec<&str> = cfg.secrets().map(Secret::expose).collect();
        all.sort_unstable();
        assert_eq!(all, ["db-pw", "phrase", "ssh-pw", "stray"]);
        assert_eq!(
            cfg.redactor().text("db-pw ssh-pw phrase stray"),
            "[redacted] [redacted] [redacted] [redacted]"
        );
        assert!(
            !cfg.allow_cleartext_password,
            "off unless the connection says so"
        );
    }

    #[test]
    fn cleartext_opt_in_is_a_checked_switch() {
        let read = |v: serde_json::Value| {
            let fields = serde_json::json!({"host": "db", "user": "etl",
                                            "allow_cleartext_password": v});
            DatabaseConfig::from_fields(
                DbKind::MySql,
                fields.as_object().unwrap(),
                Default::default(),
            )
            .map(|c| c.allow_cleartext_password)
        };
        assert!(read(serde_json::json!(true)).unwrap());
        assert!(!read(serde_json::json!("false")).unwrap());
        assert!(matches!(
            read(serde_json::json!("yes")),
            Err(DriverError::Config { field, .. }) if field == "allow_cleartext_password"
        ));
    }

    #[test]
    fn bad_modes_name_the_field_not_the_value() {
        for (field, value) in [
            ("tls_mode", "zz_Mode_7f3a"),
            ("tunnel_type", "zz_Mode_7f3a"),
        ] {
            let mut fields = serde_json::json!({"host": "db", "user": "etl"});
            fields[field] = serde_json::json!(value);
            let e = DatabaseConfig::from_fields(
                DbKind::Postgres,
                fields.as_object().unwrap(),
                Default::default(),
            )
            .unwrap_err();
            assert!(
                matches!(&e, DriverError::Config { field: f, .. } if f == field),
                "{e:?}"
            );
            assert!(!e.to_string().contains("zz_Mode"), "{e}");
        }
    }
}
