//! A file connection's settings, from its clear fields and its sealed secrets.

use std::{collections::BTreeMap, path::PathBuf, time::Duration};

use serde_json::{Map, Value};

use crate::{database::Secret, error::DriverError, fields::Fields, tunnel::SshConfig};

#[derive(Debug, Clone)]
pub enum FileConfig {
    S3 {
        bucket: String,
        region: String,
        /// S3-compatible servers (MinIO, Ceph, moto, R2): path-style requests here.
        endpoint: Option<String>,
        virtual_hosted: bool,
        access_key_id: Option<Secret>,
        secret_access_key: Option<Secret>,
        session_token: Option<Secret>,
    },
    Gcs {
        bucket: String,
        /// An emulator or private endpoint; without a key, requests are unauthenticated.
        endpoint: Option<String>,
        service_account_key: Option<Secret>,
    },
    Azure {
        account: String,
        container: String,
        /// `http://127.0.0.1:10000/devstoreaccount1` for Azurite, or a private endpoint.
        endpoint: Option<String>,
        access_key: Option<Secret>,
    },
    Local {
        root: PathBuf,
        /// Whether symbolic links may lead out of `root` (default: refused).
        follow_symlinks: bool,
    },
    Http {
        url: String,
    },
    Sftp {
        ssh: SshConfig,
        /// Folder that relative paths start from (default: the login folder).
        root: Option<String>,
    },
}

impl FileConfig {
    /// Scrubs this connection's secrets (keys, SSH password, private key, passphrase)
    /// from upstream text (see `crate::redact`).
    pub fn redactor(&self) -> crate::redact::Redactor {
        let secrets: Vec<&Secret> = match self {
            FileConfig::S3 {
                access_key_id,
                secret_access_key,
                session_token,
                ..
            } => [access_key_id, secret_access_key, session_token]
                .into_iter()
                .flatten()
                .collect(),
            FileConfig::Gcs {
                service_account_key,
                ..
            } => service_account_key.iter().collect(),
            FileConfig::Azure { access_key, .. } => access_key.iter().collect(),
            FileConfig::Sftp { ssh, .. } => [&ssh.password, &ssh.private_key, &ssh.passphrase]
                .into_iter()
                .flatten()
                .collect(),
            FileConfig::Local { .. } | FileConfig::Http { .. } => Vec::new(),
        };
        crate::redact::Redactor::new(secrets.into_iter().map(Secret::expose))
    }
}

/// Bucket and container names as the clouds allow them. Checked before any request: the
/// name goes into a host name with virtual-hosted S3, so `evil.example#` must not pass.
fn valid_bucket(kind: &str, b: &str) -> Result<(), String> {
    let ok_chars = match kind {
        "azure" => b
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        // Legacy S3 buckets may have capitals; none of these can end a host name.
        _ => b
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')),
    };
    let first_last_ok = b.starts_with(|c: char| c.is_ascii_alphanumeric())
        && b.ends_with(|c: char| c.is_ascii_alphanumeric());
    if (3..=222).contains(&b.len()) && ok_chars && first_last_ok {
        Ok(())
    } else {
        Err(format!(
            "not a valid {} name (3 to 63 letters, digits{}, starting and ending with a letter or digit)",
            if kind == "azure" { "container" } else { "bucket" },
            if kind == "azure" { " and -" } else { ", - . and _" }
        ))
    }
}

impl FileConfig {
    /// From a connection's type, fields and secrets; `bucket`, when given, replaces the
    /// connection's bucket or container.
    pub fn from_fields(
        kind: &str,
        fields: &Map<String, Value>,
        secrets: BTreeMap<String, String>,
        bucket: Option<&str>,
    ) -> Result<FileConfig, DriverError> {
        let mut f = Fields::new(fields, secrets);
        let bucket_field = |f: &Fields, name: &'static str| -> Result<String, DriverError> {
            match bucket {
                Some(b) => {
                    valid_bucket(kind, b).map_err(DriverError::BucketOverride)?;
                    Ok(b.to_string())
                }
                None => {
                    let b = f.text(name).or_else(|| f.text("bucket")).ok_or_else(|| {
                        DriverError::config(name, "missing; set the bucket (or container) name")
                    })?;
                    valid_bucket(kind, &b).map_err(|m| DriverError::config(name, m))?;
                    Ok(b)
                }
            }
        };
        if bucket.is_some() && !matches!(kind, "s3" | "gcs" | "azure") {
            return Err(DriverError::BucketOverride(format!(
                "a {kind} connection has no buckets"
            )));
        }
        Ok(match kind {
            "s3" => FileConfig::S3 {
                bucket: bucket_field(&f, "bucket")?,
                region: f.text("region").unwrap_or_else(|| "us-east-1".into()),
                endpoint: f.text("endpoint"),
                virtual_hosted: f.flag("virtual_hosted_style"),
                access_key_id: f.secret("access_key_id"),
                secret_access_key: f.secret("secret_access_key"),
                session_token: f.secret("session_token"),
            },
            "gcs" => FileConfig::Gcs {
                bucket: bucket_field(&f, "bucket")?,
                endpoint: f.text("endpoint"),
                service_account_key: f.secret("service_account_key"),
            },
            "azure" => FileConfig::Azure {
                account: f.required("account", "the storage account name")?,
                container: bucket_field(&f, "container")?,
                endpoint: f.text("endpoint"),
                access_key: f.secret("access_key"),
            },
            "local" => FileConfig::Local {
                root: PathBuf::from(f.required("path", "the folder to read files from")?),
                follow_symlinks: f.flag("follow_symlinks"),
            },
            "http" => FileConfig::Http {
                url: f.required("url", "the base URL files are served from")?,
            },
            "sftp" => {
                let port = f.port("port", 22)?;
                FileConfig::Sftp {
                    ssh: SshConfig {
                        host: f.required("host", "the SFTP server's host name")?,
                        port,
                        user: f.required("user", "the SFTP user name")?,
                        password: f.secret("password"),
                        private_key: f.secret("private_key"),
                        passphrase: f.secret("passphrase"),
                        host_key_fingerprint: f.text("host_key_fingerprint"),
                        timeout: Duration::from_secs(15),
                    },
                    root: f.text("path"),
                }
            }
            other => {
                return Err(DriverError::config(
                    "type",
                    format!(
                        "`{other}` is not a file store type (s3, gcs, azure, local, http, sftp)"
                    ),
                ))
            }
        })
    }

    /// Where the store points, for messages (never with credentials).
    pub fn location(&self) -> String {
        match self {
            FileConfig::S3 { bucket, .. } => format!("s3://{bucket}"),
            FileConfig::Gcs { bucket, .. } => format!("gs://{bucket}"),
            FileConfig::Azure {
                account, container, ..
            } => format!("azure://{account}/{container}"),
            // Not the folder itself: messages never show a server path.
            FileConfig::Local { .. } => "local folder".into(),
            FileConfig::Http { url } => url.split('?').next().unwrap_or(url).to_string(),
            FileConfig::Sftp { ssh, root } => format!(
                "sftp://{}@{}:{}/{}",
                ssh.user,
                ssh.host,
                ssh.port,
                root.as_deref().unwrap_or("").trim_start_matches('/')
            ),
        }
    }
}
