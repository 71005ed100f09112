//! Where `pipewright connect` keeps what its OAuth sign-in got: one file per endpoint in
//! the user's config directory (`$PIPEWRIGHT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/pipewright`,
//! else `~/.config/pipewright`), under `connect/`, the folder mode 0700 and the file 0600,
//! written whole to a temporary file of its own and renamed, so a crash never leaves half
//! of it. Several bridges to one endpoint (Claude Desktop and Claude Code, say) share the
//! file: `lock` serialises renewals across processes (an advisory `flock`), so one
//! refresh token is never spent twice (that revokes the grant).

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A sign-in's result. No `Debug`: it holds secrets.
#[derive(Clone, Serialize, Deserialize)]
pub struct Saved {
    /// The endpoint this was for (a file whose endpoint differs is ignored).
    pub server: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// `none`, `client_secret_basic` or `client_secret_post`.
    pub auth_method: String,
    /// The RFC 8707 resource the token is bound to, sent again on refresh.
    #[serde(default)]
    pub resource: Option<String>,
    pub access_token: String,
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// Unix seconds.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// The scope granted (or asked for, when the server did not say).
    #[serde(default)]
    pub scope: Option<String>,
}

pub struct Store {
    path: Option<PathBuf>,
}

/// Held while renewing; dropping it releases the lock.
pub struct FileLock(#[allow(dead_code)] Option<std::fs::File>);

/// Waiting for another process's renewal longer than this goes on without the lock.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

fn config_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("PIPEWRIGHT_CONFIG_DIR")
        .or_else(|| var("XDG_CONFIG_HOME").map(|d| d.join("pipewright")))
        .or_else(|| var("HOME").map(|d| d.join(".config/pipewright")))
}

impl Store {
    /// The file for `server`; without a home or config directory nothing is kept (the
    /// sign-in lasts as long as the process).
    pub fn for_server(server: &str) -> Store {
        let name = hex(&Sha256::digest(server.as_bytes())[..12]);
        Store {
            path: config_dir().map(|d| d.join("connect").join(format!("{name}.json"))),
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn load(&self, server: &str) -> Option<Saved> {
        let text = std::fs::read_to_string(self.path.as_ref()?).ok()?;
        serde_json::from_str::<Saved>(&text)
            .ok()
            .filter(|s| s.server == server)
    }

    pub fn save(&self, saved: &Saved) -> anyhow::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let dir = path.parent().context("config path")?;
        create_private_dir(dir)?;
        // A name of its own, so two bridges saving at once never write one file.
        let tmp = path.with_extension(format!(
            "{}.{:016x}.tmp",
            std::process::id(),
            rand::random::<u64>()
        ));
        let body = serde_json::to_vec_pretty(saved)?;
        write_private(&tmp, &body).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow::Error::new(e).context(format!("cannot write {}", path.display()))
        })
    }

    /// Waits (up to a minute) for the other bridges' renewals of this endpoint's sign-in.
    pub async fn lock(&self) -> FileLock {
        let Some(path) = self.path.clone() else {
            return FileLock(None);
        };
        tokio::task::spawn_blocking(move || lock_file(&path.with_extension("lock")))
            .await
            .unwrap_or(FileLock(None))
    }

    pub fn forget(&self) -> anyhow::Result<bool> {
        match &self.path {
            Some(p) => match std::fs::remove_file(p) {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(e).with_context(|| format!("cannot remove {}", p.display())),
            },
            None => Ok(false),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    // A folder made earlier with a looser mode is tightened.
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", dir.display()))
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
}

#[cfg(unix)]
fn lock_file(path: &Path) -> FileLock {
    use std::os::unix::{fs::OpenOptionsExt, io::AsRawFd};
    let Some(dir) = path.parent() else {
        return FileLock(None);
    };
    if create_private_dir(dir).is_err() {
        return FileLock(None);
    }
    let Ok(f) = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)
    else {
        return FileLock(None);
    };
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        // SAFETY: flock on a descriptor this function owns for as long as `f` lives.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return FileLock(Some(f));
        }
        if std::time::Instant::now() >= deadline {
            return FileLock(None);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(not(unix))]
fn lock_file(_: &Path) -> FileLock {
    FileLock(None)
}

#[cfg(unix)]
fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(body)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, body: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, body)
}
