//! SFTP over russh: one authenticated session per connection, reopened when it drops,
//! shared by every call at once (SFTP numbers its requests, so a run's long stream and a
//! listing proceed side by side).
//! Reads are explicit `READ` requests for exactly the bytes asked (pipelined, never read
//! ahead), so a prefix of a 2 GiB file costs a prefix. Streamed writes go to a hidden
//! temporary file renamed over the target at the end.

use std::{ops::Range, sync::Arc};

use async_trait::async_trait;
use futures_util::future::join_all;
use russh_sftp::{
    client::{error::Error as SftpError, RawSftpSession},
    protocol::{FileAttributes, OpenFlags, StatusCode},
};
use tokio::sync::Mutex;

mod staged;

use staged::{mkdirs, write_at, Failed, OpenHandle, Staged};

use super::{ByteStream, FileMeta, FileStore};
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
    /// Held only while the session is checked or opened, never during an operation.
    session: Mutex<Option<Arc<Open>>>,
}

/// A live SSH connection and the SFTP session on it.
struct Open {
    ssh: russh::client::Handle<HostKeyCheck>,
    sftp: RawSftpSession,
    /// The server renames over an existing file atomically (OpenSSH's extension).
    posix_rename: bool,
    /// The server flushes a file to disk on request (OpenSSH's extension).
    fsync: bool,
}

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
        let version = sftp
            .init()
            .await
            .map_err(|e| err(format!("SFTP handshake failed: {e}")))?;
        let has = |name: &str| version.extensions.contains_key(name);
        Ok(Open {
            ssh: handle,
            sftp,
            posix_rename: has("posix-rename@openssh.com"),
            fsync: has("fsync@openssh.com"),
        })
    }

    /// The open session, opened (or reopened after a drop) when needed.
    async fn session(&self) -> Result<Arc<Open>, DriverError> {
        let mut guard = self.session.lock().await;
        match guard.as_ref() {
            Some(open) if !open.ssh.is_closed() => Ok(Arc::clone(open)),
            _ => {
                let open = Arc::new(self.open_session().await?);
                *guard = Some(Arc::clone(&open));
                Ok(open)
            }
        }
    }

    /// Forgets `open` (if it is still the current session) so the next call reconnects.
    async fn forget(&self, open: &Arc<Open>) {
        let mut guard = self.session.lock().await;
        if guard.as_ref().is_some_and(|o| Arc::ptr_eq(o, open)) {
            *guard = None;
        }
    }

    /// An error for `path` (kept in the error, never in its message); a failure below
    /// SFTP forgets the session so the next call reconnects.
    async fn fail(&self, open: &Arc<Open>, path: &str, e: SftpError) -> DriverError {
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
                self.forget(open).await;
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
        let open = self.session().await?;
        while let Some(dir) = queue.pop() {
            let handle = match open.sftp.opendir(self.full(&dir)).await {
                Ok(h) => h.handle,
                Err(e) => return Err(self.fail(&open, &dir, e).await),
            };
            loop {
                let names = match open.sftp.readdir(handle.as_str()).await {
                    Ok(n) => n,
                    Err(e) if is_eof(&e) => break,
                    Err(e) => return Err(self.fail(&open, &dir, e).await),
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
                        let _ = open.sftp.close(handle.as_str()).await;
                        return Ok(out);
                    }
                }
            }
            let _ = open.sftp.close(handle).await;
        }
        Ok(out)
    }

    async fn head(&self, path: &str) -> Result<FileMeta, DriverError> {
        let open = self.session().await?;
        let attrs = match open.sftp.stat(self.full(path)).await {
            Ok(a) => a.attrs,
            Err(e) => return Err(self.fail(&open, path, e).await),
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
        let open = self.session().await?;
        let handle = match open
            .sftp
            .open(self.full(path), OpenFlags::READ, FileAttributes::default())
            .await
        {
            Ok(h) => h.handle,
            Err(e) => return Err(self.fail(&open, path, e).await),
        };
        let read = read_exact_range(&open.sftp, &handle, range).await;
        let _ = open.sftp.close(handle).await;
        match read {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(self.fail(&open, path, e).await),
        }
    }

    async fn put(&self, path: &str, data: Vec<u8>) -> Result<(), DriverError> {
        let open = self.session().await?;
        let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::TRUNCATE;
        let handle = match open
            .sftp
            .open(self.full(path), flags, FileAttributes::default())
            .await
        {
            Ok(h) => h.handle,
            Err(e) => return Err(self.fail(&open, path, e).await),
        };
        let written = write_at(&open.sftp, &handle, 0, &data).await;
        let closed = open.sftp.close(handle).await;
        match written.and(closed.map(|_| ())) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(&open, path, e).await),
        }
    }

    /// Sequential reads of [`STREAM_READ`] bytes, each as pipelined requests.
    async fn read_stream(self: Arc<Self>, path: &str) -> Result<ByteStream, DriverError> {
        let open = self.session().await?;
        let handle = match open
            .sftp
            .open(self.full(path), OpenFlags::READ, FileAttributes::default())
            .await
        {
            Ok(h) => h.handle,
            Err(e) => return Err(self.fail(&open, path, e).await),
        };
        let reading = Reading {
            handle: OpenHandle {
                open,
                handle: Some(handle),
            },
            store: self,
            path: path.to_string(),
            at: 0,
            done: false,
        };
        let chunks = futures_util::stream::try_unfold(reading, |mut r| async move {
            if r.done {
                r.handle.close().await;
                return Ok(None);
            }
            let Some(handle) = r.handle.handle.clone() else {
                return Ok(None);
            };
            let want = r.at..r.at + STREAM_READ;
            match read_exact_range(&r.handle.open.sftp, &handle, want).await {
                Ok(bytes) => {
                    // Short only at the end of the file.
                    r.done = (bytes.len() as u64) < STREAM_READ;
                    if bytes.is_empty() {
                        r.handle.close().await;
                        return Ok(None);
                    }
                    r.at += bytes.len() as u64;
                    Ok(Some((bytes::Bytes::from(bytes), r)))
                }
                Err(e) => {
                    r.handle.close().await;
                    Err(r.store.fail(&r.handle.open, &r.path, e).await)
                }
            }
        });
        Ok(super::stall_guarded(Box::pin(chunks), super::STALL))
    }

    /// A hidden temporary file beside the target, renamed over it at the end (atomically
    /// where the server has OpenSSH's `posix-rename`; elsewhere the old file is removed
    /// first); removed on an error or when the write is dropped.
    async fn write_stream(&self, path: &str, data: ByteStream) -> Result<u64, DriverError> {
        let open = self.session().await?;
        let target = self.full(path);
        let (dir, name) = match target.rsplit_once('/') {
            Some((d, n)) => (format!("{d}/"), n.to_string()),
            None => (String::new(), target.clone()),
        };
        if name.is_empty() || name == "." || name == ".." {
            return Err(DriverError::NotAFile {
                path: path.trim_matches('/').into(),
            });
        }
        let temp = format!("{dir}{}", super::temp_name(&name));
        let flags = OpenFlags::WRITE | OpenFlags::CREATE | OpenFlags::EXCLUDE;
        let mut opened = open
            .sftp
            .open(temp.as_str(), flags, FileAttributes::default())
            .await;
        if matches!(&opened, Err(SftpError::Status(s)) if s.status_code == StatusCode::NoSuchFile) {
            // The folder is missing: made, parent first, then the open retried once.
            mkdirs(&open.sftp, &dir).await;
            opened = open
                .sftp
                .open(temp.as_str(), flags, FileAttributes::default())
                .await;
        }
        let handle = match opened {
            Ok(h) => h.handle,
            Err(e) => return Err(self.fail(&open, path, e).await),
        };
        let mut staged = Staged {
            handle: OpenHandle {
                open: Arc::clone(&open),
                handle: Some(handle),
            },
            temp: Some(temp),
        };
        match staged.fill(data).await {
            Ok(n) => match staged.commit(&target).await {
                Ok(()) => Ok(n),
                Err(e) => {
                    staged.discard().await;
                    Err(self.fail(&open, path, e).await)
                }
            },
            Err(Failed::Input(e)) => {
                staged.discard().await;
                Err(e)
            }
            Err(Failed::Sftp(e)) => {
                staged.discard().await;
                Err(self.fail(&open, path, e).await)
            }
        }
    }
}

/// Bytes per item of a read stream: [`IN_FLIGHT`] requests of [`CHUNK`].
const STREAM_READ: u64 = CHUNK * IN_FLIGHT as u64;

/// A read stream's state.
struct Reading {
    handle: OpenHandle,
    store: Arc<Sftp>,
    path: String,
    at: u64,
    done: bool,
}
