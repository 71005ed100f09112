//! SFTP over russh: one authenticated session per connection, reopened when it drops.
//! Reads are explicit `READ` requests for exactly the bytes asked (pipelined, never read
//! ahead), so a prefix of a 2 GiB file costs a prefix.

use std::ops::Range;

use async_trait::async_trait;
use futures_util::future::join_all;
use russh_sftp::{
    client::{error::Error as SftpError, RawSftpSession},
    protocol::{FileAttributes, OpenFlags, StatusCode},
};
use tokio::sync::{Mutex, MutexGuard};

use super::{FileMeta, FileStore};
use crate::{
    error::DriverError,
    tunnel::{ssh_session, HostKeyCheck, Purpose, SshConfig},
};

/// Bytes per READ request (OpenSSH serves up to 255 KiB; 64 KiB suits every server).
const CHUNK: u64 = 64 * 1024;
/// READ requests in flight at once.
const IN_FLIGHT: usize = 16;

pub struct Sftp {
    ssh: SshConfig,
    root: Option<String>,
    session: Mutex<Option<Open>>,
}

/// A live SSH connection and the SFTP session on it.
struct Open {
    ssh: russh::client::Handle<HostKeyCheck>,
    sftp: RawSftpSession,
}

type Guard<'a> = MutexGuard<'a, Option<Open>>;

impl Sftp {
    pub fn new(ssh: SshConfig, root: Option<String>) -> Sftp {
        Sftp {
            ssh,
            root,
            session: Mutex::new(None),
        }
    }

    fn at(&self) -> String {
        format!(
            "sftp://{}@{}:{}",
            self.ssh.user, self.ssh.host, self.ssh.port
        )
    }

    /// The server path for a user path: relative paths start at `root` (or the login
    /// folder).
    fn full(&self, path: &str) -> String {
        let path = path.trim().trim_end_matches('/');
        match &self.root {
            Some(r) if !path.starts_with('/') => {
                let r = r.trim_end_matches('/');
                if path.is_empty() {
                    r.to_string()
                } else {
                    format!("{r}/{path}")
                }
            }
            _ if path.is_empty() => ".".into(),
            _ => path.to_string(),
        }
    }

    /// Connects, bounded by the connection timeout (the session lock is held meanwhile).
    async fn open_session(&self) -> Result<Open, DriverError> {
        tokio::time::timeout(self.ssh.timeout * 2, self.connect())
            .await
            .map_err(|_| DriverError::Timeout(self.ssh.timeout * 2))?
    }

    async fn connect(&self) -> Result<Open, DriverError> {
        let handle = ssh_session(&self.ssh, Purpose::Sftp).await?;
        let err = |e: String| DriverError::Sftp(format!("{}: {e}", self.at()));
        let channel = handle
            .channel_open_session()
            .await
            .map_err(|e| err(format!("cannot open a channel: {e}")))?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|e| err(format!("the server has no sftp subsystem: {e}")))?;
        let sftp = RawSftpSession::new(channel.into_stream());
        sftp.set_timeout(self.ssh.timeout.as_secs().max(1));
        sftp.init()
            .await
            .map_err(|e| err(format!("SFTP handshake failed: {e}")))?;
        Ok(Open { ssh: handle, sftp })
    }

    /// The open session, opened (or reopened after a drop) when needed.
    async fn session(&self) -> Result<Guard<'_>, DriverError> {
        let mut guard = self.session.lock().await;
        if guard.as_ref().is_none_or(|o| o.ssh.is_closed()) {
            *guard = Some(self.open_session().await?);
        }
        Ok(guard)
    }

    /// An error for `path` (kept in the error, never in its message); a failure below
    /// SFTP forgets the session so the next call reconnects.
    fn fail(&self, guard: &mut Guard<'_>, path: &str, e: SftpError) -> DriverError {
        let detail = super::scrub(&e.to_string(), path);
        match &e {
            SftpError::Status(s) => match s.status_code {
                StatusCode::NoSuchFile => DriverError::FileNotFound { path: path.into() },
                StatusCode::PermissionDenied => {
                    DriverError::PermissionDenied(format!("the file on {}", self.at()))
                }
                _ => DriverError::Sftp(format!("{}: {detail}", self.at())),
            },
            _ => {
                **guard = None;
                DriverError::Sftp(format!("{}: {detail}", self.at()))
            }
        }
    }
}

fn is_eof(e: &SftpError) -> bool {
    matches!(e, SftpError::Status(s) if s.status_code == StatusCode::Eof)
}

fn meta(path: String, a: &FileAttributes) -> FileMeta {
    FileMeta {
        path,
        size: a.size.unwrap_or(0),
        modified: a.mtime.map(|t| i64::from(t) * 1000),
        is_dir: a.is_dir(),
    }
}

/// Reads `range` of an open handle: chunked requests, `IN_FLIGHT` at a time, each for
/// exactly its bytes; a short answer is followed up from where it stopped.
async fn read_exact_range(
    sftp: &RawSftpSession,
    handle: &str,
    range: Range<u64>,
) -> Result<Vec<u8>, SftpError> {
    let mut out = Vec::with_capacity((range.end - range.start).min(64 << 20) as usize);
    let mut offset = range.start;
    // Shrunk to what the server answers when it caps READ below CHUNK, so a round of
    // requests does not throw most of its answers away.
    let mut chunk = CHUNK;
    while offset < range.end {
        let chunks: Vec<(u64, u32)> = (0..IN_FLIGHT as u64)
            .map(|i| offset + i * chunk)
            .take_while(|&o| o < range.end)
            .map(|o| (o, (range.end - o).min(chunk) as u32))
            .collect();
        let answers = join_all(chunks.iter().map(|&(o, len)| sftp.read(handle, o, len))).await;
        for ((o, len), answer) in chunks.into_iter().zip(answers) {
            match answer {
                // An empty answer would never advance: treat it as the end.
                Ok(d) if d.data.is_empty() => return Ok(out),
                Ok(d) => {
                    out.extend_from_slice(&d.data);
                    offset = o + d.data.len() as u64;
                    if d.data.len() < len as usize {
                        chunk = d.data.len() as u64;
                        break; // a short read: ask again from here
                    }
                }
                Err(e) if is_eof(&e) => return Ok(out),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(out)
}

#[async_trait]
impl FileStore for Sftp {
    fn location(&self) -> String {
        let root = self.root.as_deref().unwrap_or("");
        format!("{}/{}", self.at(), root.trim_start_matches('/'))
    }

    async fn list(
        &self,
        folder: &str,
        recursive: bool,
        max: usize,
    ) -> Result<Vec<FileMeta>, DriverError> {
        let mut out = Vec::new();
        let folder = folder.trim_end_matches('/');
        let mut queue = vec![folder.to_string()];
        let mut guard = self.session().await?;
        while let Some(dir) = queue.pop() {
            let open = guard.as_ref().expect("opened");
            let handle = match open.sftp.opendir(self.full(&dir)).await {
                Ok(h) => h.handle,
                Err(e) => return Err(self.fail(&mut guard, &dir, e)),
            };
            loop {
                let open = guard.as_ref().expect("opened");
                let names = match open.sftp.readdir(handle.as_str()).await {
                    Ok(n) => n,
                    Err(e) if is_eof(&e) => break,
                    Err(e) => return Err(self.fail(&mut guard, &dir, e)),
                };
                for f in names.files {
                    if f.filename == "." || f.filename == ".." {
                        continue;
                    }
                    let path = if dir.is_empty() {
                        f.filename
                    } else {
                        format!("{dir}/{}", f.filename)
                    };
                    let m = meta(path, &f.attrs);
                    if m.is_dir && recursive {
                        queue.push(m.path.clone());
                    }
                    out.push(m);
                    if out.len() >= max {
                        let _ = guard
                            .as_ref()
                            .expect("opened")
                            .sftp
                            .close(handle.as_str())
                            .await;
                        return Ok(out);
                    }
                }
            }
            let _ = guard.as_ref().expect("opened").sftp.close(handle).await;
        }
        Ok(out)
    }

    async fn head(&self, path: &str) -> Result<FileMeta, DriverError> {
        let mut guard = self.session().await?;
        let attrs = match guard
            .as_ref()
            .expect("opened")
            .sftp
            .stat(self.full(path))
            .await
        {
            Ok(a) => a.attrs,
            Err(e) => return Err(self.fail(&mut guard, path, e)),
        };
        let m = meta(path.trim_end_matches('/').to_string(), &attrs);
        if m.is_dir {
            return Err(DriverError::NotAFile { path: m.path });
        }
        Ok(m)
    }

    async fn read_range(&self, path: &str, range: Range<u64>) -> Result<Vec<u8>, DriverError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let mut guard = self.session().await?;
        let opened = guard
            .as_ref()
            .expect("opened")
            .sftp
            .open(self.full(path), OpenFlags::READ, FileAttributes::default())
            .await;
        let handle = match opened {
            Ok(h) => h.handle,
            Err(e) => return Err(self.fail(&mut guard, path, e)),
        };
        let sftp = &guard.as_ref().expect("opened").sftp;
        let read = read_exact_range(sftp, &handle, range).await;
        let _ = sftp.close(handle).await;
        read.map_err(|e| self.fail(&mut guard, path, e))
    }

    async fn put(&self, path: &str, data: Vec<u8>) -> Result<(), DriverError> {
        let mut guard = self.session().await?;
        let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE;
        let opened = guard
            .as_ref()
            .expect("opened")
            .sftp
            .open(self.full(path), flags, FileAttributes::default())
            .await;
        let handle = match opened {
            Ok(h) => h.handle,
            Err(e) => return Err(self.fail(&mut guard, path, e)),
        };
        let sftp = &guard.as_ref().expect("opened").sftp;
        let mut result = Ok(());
        for (i, chunk) in data.chunks(CHUNK as usize).enumerate() {
            if let Err(e) = sftp
                .write(handle.as_str(), i as u64 * CHUNK, chunk.to_vec())
                .await
            {
                result = Err(e);
                break;
            }
        }
        let closed = sftp.close(handle).await;
        result
            .and(closed.map(|_| ()))
            .map_err(|e| self.fail(&mut guard, path, e))
    }
}
