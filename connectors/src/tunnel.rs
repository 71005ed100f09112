//! SSH tunnels (russh, `direct-tcpip`): a database behind a bastion is reached through a
//! loopback port that forwards each connection over one SSH session, reconnected when it
//! drops. Password or key authentication; the host key is checked against a pinned
//! SHA-256 fingerprint when one is configured.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use russh::{
    client::{self, Handle},
    keys::{decode_secret_key, HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate},
};
use tokio::{net::TcpListener, sync::Mutex, task::JoinHandle};

use crate::{database::Secret, error::DriverError};

#[derive(Debug, Clone)]
pub struct SshConfig {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret>,
    /// An OpenSSH private key (PEM text), with its passphrase if it has one.
    pub private_key: Option<Secret>,
    pub passphrase: Option<Secret>,
    /// `SHA256:…` as `ssh-keygen -lf` prints it; without it any host key is accepted.
    pub host_key_fingerprint: Option<String>,
    pub timeout: Duration,
}

/// A running tunnel: connect to `local` to reach the target through SSH.
pub struct Tunnel {
    pub local: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) struct HostKeyCheck {
    pinned: Option<String>,
    seen: Arc<std::sync::Mutex<Option<String>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let fingerprint = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => {
                key.fingerprint(HashAlg::Sha256).to_string()
            }
            PublicKeyOrCertificate::Certificate(c) => {
                c.public_key().fingerprint(HashAlg::Sha256).to_string()
            }
        };
        *self.seen.lock().unwrap() = Some(fingerprint.clone());
        Ok(self
            .pinned
            .as_deref()
            .is_none_or(|p| p.trim() == fingerprint))
    }
}

/// What the SSH session is for, which names it in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Tunnel,
    Sftp,
}

impl Purpose {
    /// The connection fields for the private key, its passphrase, the user and the pinned
    /// host key, as each kind of connection names them.
    fn fields(self) -> [&'static str; 4] {
        match self {
            Purpose::Tunnel => [
                "ssh_private_key",
                "ssh_passphrase",
                "ssh_user",
                "ssh_host_key_fingerprint",
            ],
            Purpose::Sftp => ["private_key", "passphrase", "user", "host_key_fingerprint"],
        }
    }
}

fn ssh_error(purpose: Purpose, cfg: &SshConfig, what: impl std::fmt::Display) -> DriverError {
    let at = format!("{}@{}:{}: {what}", cfg.user, cfg.host, cfg.port);
    match purpose {
        Purpose::Tunnel => DriverError::Tunnel(at),
        Purpose::Sftp => DriverError::Sftp(at),
    }
}

fn tunnel_error(cfg: &SshConfig, what: impl std::fmt::Display) -> DriverError {
    ssh_error(Purpose::Tunnel, cfg, what)
}

async fn session(cfg: &SshConfig) -> Result<Handle<HostKeyCheck>, DriverError> {
    ssh_session(cfg, Purpose::Tunnel).await
}

/// An authenticated SSH session (host key checked against the pin when there is one).
pub(crate) async fn ssh_session(
    cfg: &SshConfig,
    purpose: Purpose,
) -> Result<Handle<HostKeyCheck>, DriverError> {
    let tunnel_error = |cfg: &SshConfig, what: String| ssh_error(purpose, cfg, what);
    // The connection's own field names, so the message says what to change.
    let [key_field, passphrase_field, user_field, pin_field] = purpose.fields();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let handler = HostKeyCheck {
        pinned: cfg.host_key_fingerprint.clone(),
        seen: seen.clone(),
    };
    let config = Arc::new(client::Config {
        nodelay: true,
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(30)),
        ..Default::default()
    });
    let connected = tokio::time::timeout(
        cfg.timeout,
        client::connect(config, (cfg.host.as_str(), cfg.port), handler),
    )
    .await
    .map_err(|_| tunnel_error(cfg, "timed out connecting to the SSH server".into()))?;
    let mut handle = match connected {
        Ok(h) => h,
        Err(russh::Error::UnknownKey) => {
            let got = seen.lock().unwrap().clone().unwrap_or_default();
            return Err(tunnel_error(
                cfg,
                format!("host key {got} does not match the pinned {pin_field}; if the server's key really changed, update the connection"),
            ));
        }
        Err(e) => {
            return Err(tunnel_error(
                cfg,
                format!("cannot connect to the SSH server: {e}"),
            ));
        }
    };
    let ok = if let Some(key) = &cfg.private_key {
        let key = decode_secret_key(key.expose(), cfg.passphrase.as_ref().map(|p| p.expose()))
            .map_err(|_| tunnel_error(cfg, format!("{key_field} cannot be read (not an OpenSSH private key, or a wrong {passphrase_field})")))?;
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .ok()
            .flatten()
            .flatten();
        handle
            .authenticate_publickey(
                cfg.user.clone(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await
            .map_err(|e| tunnel_error(cfg, e.to_string()))?
            .success()
    } else if let Some(pw) = &cfg.password {
        handle
            .authenticate_password(cfg.user.clone(), pw.expose())
            .await
            .map_err(|e| tunnel_error(cfg, e.to_string()))?
            .success()
    } else {
        return Err(match purpose {
            Purpose::Tunnel => DriverError::config(
                "ssh_password",
                "an SSH tunnel needs ssh_password or ssh_private_key",
            ),
            Purpose::Sftp => DriverError::config(
                "password",
                "an SFTP connection needs password or private_key",
            ),
        });
    };
    if !ok {
        return Err(tunnel_error(
            cfg,
            format!("SSH authentication failed; check {user_field} and its password or key"),
        ));
    }
    Ok(handle)
}

impl Tunnel {
    /// Connects (so a bad host, key or password fails here, clearly), then forwards every
    /// connection made to the returned local address to `target_host:target_port`, as
    /// seen from the SSH server.
    pub async fn open(
        cfg: SshConfig,
        target_host: String,
        target_port: u16,
    ) -> Result<Tunnel, DriverError> {
        let first = session(&cfg).await?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| tunnel_error(&cfg, format!("cannot open a local port: {e}")))?;
        let local = listener.local_addr().expect("bound");
        let shared = Arc::new(Mutex::new(first));
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                let cfg = cfg.clone();
                let target_host = target_host.clone();
                tokio::spawn(async move {
                    let channel = {
                        let mut handle = shared.lock().await;
                        if handle.is_closed() {
                            match session(&cfg).await {
                                Ok(h) => *handle = h,
                                Err(e) => {
                                    tracing::warn!(error = %e, "SSH tunnel cannot reconnect");
                                    return;
                                }
                            }
                        }
                        handle
                            .channel_open_direct_tcpip(
                                target_host.clone(),
                                target_port.into(),
                                "127.0.0.1",
                                0,
                            )
                            .await
                    };
                    match channel {
                        Ok(ch) => {
                            let mut stream = ch.into_stream();
                            let _ = tokio::io::copy_bidirectional(&mut socket, &mut stream).await;
                        }
                        Err(e) => tracing::warn!(error = %e, "SSH server refused to forward"),
                    }
                });
            }
        });
        Ok(Tunnel { local, task })
    }
}
