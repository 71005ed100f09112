//! Local folders: files on this server below a connection's `path`.
//!
//! Why not `object_store`'s `LocalFileSystem`: it opens whatever a path names in a blocking
//! thread, so a FIFO with no writer holds that thread forever, and it follows symbolic
//! links wherever they lead. This backend promises two things instead:
//! - it reads only regular files: a FIFO, socket or device is refused by its type before
//!   it is opened, and again on the opened descriptor (opened with `O_NONBLOCK`, so even a
//!   FIFO swapped in between cannot block), and listings never show one, so a glob never
//!   picks one;
//! - it stays inside the connection's folder: every path is resolved to its real path and
//!   refused when that lies outside the folder's real path, unless the connection sets
//!   `follow_symlinks=true`; listings leave out links that lead out.
//!
//! Errors never show a server path: they say what is wrong with the file, not where it is.

use std::{
    fs::{File, Metadata, OpenOptions},
    io::{ErrorKind, Write},
    ops::Range,
    os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt},
    path::{Path, PathBuf},
    sync::Arc,
};

use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ByteStream, FileMeta, FileStore};
use crate::error::DriverError;

/// Cloned into each blocking task (which must own what it uses): two fields.
#[derive(Clone)]
pub struct LocalFolder {
    /// As configured; resolved again by every operation, so a folder that is moved or
    /// replaced is never read through a stale resolution.
    root: PathBuf,
    follow_symlinks: bool,
}

impl LocalFolder {
    pub fn new(root: PathBuf, follow_symlinks: bool) -> LocalFolder {
        LocalFolder {
            root,
            follow_symlinks,
        }
    }

    /// The folder's real path now.
    fn real_root(&self) -> Result<PathBuf, DriverError> {
        match std::fs::canonicalize(&self.root) {
            Ok(r) if r.is_dir() => Ok(r),
            _ => Err(DriverError::config(
                "path",
                "is not a folder this server can read; check the connection's path and the folder's permissions",
            )),
        }
    }

    /// Refuses a real path outside the folder (unless links may lead out).
    fn inside(&self, root: &Path, real: &Path) -> Result<(), DriverError> {
        if self.follow_symlinks || real.starts_with(root) {
            Ok(())
        } else {
            Err(DriverError::OutsideFolder)
        }
    }

    /// The real path of `rel`, checked to stay inside the folder.
    fn locate(&self, root: &Path, rel: &str) -> Result<PathBuf, DriverError> {
        let joined = segments(rel)?
            .iter()
            .fold(root.to_path_buf(), |p, s| p.join(s));
        let real = std::fs::canonicalize(&joined).map_err(|e| io_error(rel, e))?;
        self.inside(root, &real)?;
        Ok(real)
    }

    fn head_blocking(&self, rel: &str) -> Result<FileMeta, DriverError> {
        let root = self.real_root()?;
        let real = self.locate(&root, rel)?;
        // `stat`, not `open`: looking at a device must not touch it.
        let meta = std::fs::metadata(&real).map_err(|e| io_error(rel, e))?;
        regular(rel, &meta)?;
        Ok(file_meta(clean(rel), &meta))
    }

    /// Opens a regular file inside the folder for reading; never blocks on a special file.
    fn open_regular(&self, rel: &str) -> Result<(File, Metadata), DriverError> {
        let root = self.real_root()?;
        let real = self.locate(&root, rel)?;
        // Refused by type before it is opened: opening a device can have effects.
        regular(
            rel,
            &std::fs::metadata(&real).map_err(|e| io_error(rel, e))?,
        )?;
        // The file may be swapped between that check and the open. O_NONBLOCK makes opening
        // a FIFO return at once (it would wait for a writer otherwise); O_NOFOLLOW refuses a
        // final component that became a link; `fstat` then checks what was really opened.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(&real)
            .map_err(|e| io_error(rel, e))?;
        let meta = file.metadata().map_err(|e| io_error(rel, e))?;
        regular(rel, &meta)?;
        self.opened_inside(&root, &file)?;
        Ok((file, meta))
    }

    /// Where the opened descriptor really is. On Linux `/proc/self/fd` names it, which
    /// closes the race of a folder on the way being swapped for a link after `locate`.
    /// Elsewhere (or without /proc) the check in `locate` stands alone: the residual race
    /// needs someone who can write into the folder, and still yields only a regular file.
    fn opened_inside(&self, root: &Path, file: &File) -> Result<(), DriverError> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            if let Ok(real) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
                return self.inside(root, &real);
            }
        }
        let _ = (root, file);
        Ok(())
    }

    fn read_blocking(&self, rel: &str, range: Range<u64>) -> Result<Vec<u8>, DriverError> {
        let (file, meta) = self.open_regular(rel)?;
        let end = range.end.min(meta.len());
        let mut buf = vec![0u8; end.saturating_sub(range.start) as usize];
        let mut filled = 0;
        while filled < buf.len() {
            match file.read_at(&mut buf[filled..], range.start + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(rel, e)),
            }
        }
        buf.truncate(filled);
        Ok(buf)
    }

    fn list_blocking(
        &self,
        folder: &str,
        recursive: bool,
        max: usize,
    ) -> Result<Vec<FileMeta>, DriverError> {
        let root = self.real_root()?;
        let prefix = clean(folder);
        let start = if prefix.is_empty() {
            root.clone()
        } else {
            self.locate(&root, folder)?
        };
        let mut out = Vec::new();
        if !start.is_dir() {
            return Ok(out);
        }
        // Real paths of the folders walked: a link back up cannot loop.
        let mut seen = std::collections::HashSet::from([start.clone()]);
        let mut queue = vec![(start, prefix)];
        let mut first = true;
        while let Some((dir, prefix)) = queue.pop() {
            // The folder asked for must be readable; a sub-folder that is not is skipped.
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if first => return Err(io_error(folder, e)),
                Err(_) => continue,
            };
            first = false;
            for entry in entries {
                let Ok(entry) = entry else { continue };
                // A name that is not UTF-8 cannot be given back as a path.
                let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                let rel = if prefix.is_empty() {
                    name
                } else {
                    format!("{prefix}/{name}")
                };
                let Some((real, meta)) = self.entry(&root, &entry) else {
                    continue;
                };
                if meta.is_dir() {
                    if !recursive {
                        out.push(FileMeta {
                            path: rel,
                            size: 0,
                            modified: None,
                            is_dir: true,
                        });
                    } else if seen.insert(real.clone()) {
                        queue.push((real, rel));
                    }
                } else if meta.is_file() {
                    out.push(file_meta(rel, &meta));
                }
                // Anything else (FIFO, socket, device) is never listed, so never picked.
                if out.len() >= max {
                    return Ok(out);
                }
            }
        }
        Ok(out)
    }

    /// A listed entry's real path and what it is; `None` for a dangling link or a link
    /// that leads out of the folder (listings do not show what cannot be read).
    fn entry(&self, root: &Path, entry: &std::fs::DirEntry) -> Option<(PathBuf, Metadata)> {
        let kind = entry.file_type().ok()?;
        if !kind.is_symlink() {
            return Some((entry.path(), entry.metadata().ok()?));
        }
        let real = std::fs::canonicalize(entry.path()).ok()?;
        self.inside(root, &real).ok()?;
        let meta = std::fs::metadata(&real).ok()?;
        Some((real, meta))
    }

    /// Creates (with its folders) a hidden temporary file beside `rel`'s target, for a
    /// write that is renamed over the target once whole.
    fn create_temp(&self, rel: &str) -> Result<Staged, DriverError> {
        let root = self.real_root()?;
        let segs = segments(rel)?;
        let Some((name, parents)) = segs.split_last() else {
            return Err(not_found(rel));
        };
        // Folder by folder, each checked before the next is made inside it: a link to
        // /etc on the way must not get a folder created below /etc.
        let mut dir = root.clone();
        for s in parents {
            let next = dir.join(s);
            match std::fs::create_dir(&next) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error(rel, e)),
            }
            dir = std::fs::canonicalize(&next).map_err(|e| io_error(rel, e))?;
            self.inside(&root, &dir)?;
        }
        let target = dir.join(name);
        if std::fs::metadata(&target).is_ok_and(|m| m.is_dir()) {
            return Err(DriverError::NotAFile { path: clean(rel) });
        }
        // Written beside the target and renamed over it: a reader never sees half a file,
        // and a link or FIFO at the target is replaced, never written through.
        let temp = TempFile(Some(dir.join(super::temp_name(name))));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(temp.path())
            .map_err(|e| io_error(rel, e))?;
        Ok(Staged {
            file,
            temp,
            target,
            dir,
        })
    }

    fn put_blocking(&self, rel: &str, data: &[u8]) -> Result<(), DriverError> {
        let mut staged = self.create_temp(rel)?;
        staged.file.write_all(data).map_err(|e| io_error(rel, e))?;
        staged.commit(rel)
    }
}

/// A temporary file being written, renamed over its target by [`Staged::commit`].
struct Staged {
    file: File,
    temp: TempFile,
    target: PathBuf,
    /// The folder both are in, synced after the rename so the new name survives a crash.
    dir: PathBuf,
}

impl Staged {
    /// Flushes the file to disk and renames it over the target.
    fn commit(mut self, rel: &str) -> Result<(), DriverError> {
        self.file.sync_all().map_err(|e| io_error(rel, e))?;
        std::fs::rename(self.temp.path(), &self.target).map_err(|e| io_error(rel, e))?;
        self.temp.0 = None;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// A temporary file removed when dropped, unless it was renamed into place: an error, a
/// panic or a cancelled write leaves nothing behind.
struct TempFile(Option<PathBuf>);

impl TempFile {
    fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Runs filesystem work off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DriverError> + Send + 'static,
) -> Result<T, DriverError> {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        Err(DriverError::Store(
            "the local read stopped unexpectedly".into(),
        ))
    })
}

/// A caller's path as segments below the folder. `.`, `..` and empty segments are refused
/// as "not found", as object stores refuse them.
fn segments(path: &str) -> Result<Vec<&str>, DriverError> {
    let p = path.trim().trim_matches('/');
    if p.is_empty() {
        return Ok(Vec::new());
    }
    p.split('/')
        .map(|s| match s {
            "" | "." | ".." => Err(not_found(path)),
            _ if s.contains('\0') => Err(not_found(path)),
            _ => Ok(s),
        })
        .collect()
}

fn clean(path: &str) -> String {
    path.trim().trim_matches('/').to_string()
}

fn not_found(path: &str) -> DriverError {
    DriverError::FileNotFound { path: clean(path) }
}

/// Only regular files are read: says what anything else is.
fn regular(rel: &str, meta: &Metadata) -> Result<(), DriverError> {
    let t = meta.file_type();
    let kind = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        return Err(DriverError::NotAFile { path: clean(rel) });
    } else if t.is_fifo() {
        "FIFO (named pipe)"
    } else if t.is_socket() {
        "socket"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else {
        "special file"
    };
    Err(DriverError::NotARegularFile { kind })
}

fn file_meta(path: String, meta: &Metadata) -> FileMeta {
    FileMeta {
        path,
        size: meta.len(),
        modified: meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64),
        is_dir: false,
    }
}

/// An I/O error in the caller's terms. `std::io::Error` carries no path, so its text is
/// safe to pass on.
fn io_error(rel: &str, e: std::io::Error) -> DriverError {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory => not_found(rel),
        ErrorKind::PermissionDenied => DriverError::PermissionDenied(
            "this server's user may not read the file in the local folder".into(),
        ),
        _ if e.raw_os_error() == Some(libc::ELOOP) => DriverError::Store(
            "the file changed into a symbolic link while it was opened; try again".into(),
        ),
        _ => DriverError::Store(format!("local folder: {e}")),
    }
}

#[async_trait]
impl FileStore for LocalFolder {
    fn location(&self) -> String {
        "local folder".into()
    }

    async fn list(
        &self,
        folder: &str,
        recursive: bool,
        max: usize,
    ) -> Result<Vec<FileMeta>, DriverError> {
        let (me, folder) = (self.clone(), folder.to_string());
        blocking(move || me.list_blocking(&folder, recursive, max)).await
    }

    async fn head(&self, path: &str) -> Result<FileMeta, DriverError> {
        let (me, path) = (self.clone(), path.to_string());
        blocking(move || me.head_blocking(&path)).await
    }

    async fn read_range(&self, path: &str, range: Range<u64>) -> Result<Vec<u8>, DriverError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let (me, path) = (self.clone(), path.to_string());
        blocking(move || me.read_blocking(&path, range)).await
    }

    async fn put(&self, path: &str, data: Vec<u8>) -> Result<(), DriverError> {
        let (me, path) = (self.clone(), path.to_string());
        blocking(move || me.put_blocking(&path, &data)).await
    }

    /// Opened as [`FileStore::read_range`] opens (a regular file inside the folder, never
    /// blocking on a special one), then read a chunk at a time.
    async fn read_stream(self: Arc<Self>, path: &str) -> Result<ByteStream, DriverError> {
        let (me, rel) = (LocalFolder::clone(&self), path.to_string());
        let (file, _) = blocking(move || me.open_regular(&rel)).await?;
        let file = tokio::fs::File::from_std(file);
        let rel = path.to_string();
        let chunks = futures_util::stream::try_unfold((file, rel), |(mut file, rel)| async move {
            let mut buf = bytes::BytesMut::with_capacity(READ_CHUNK);
            let n = file
                .read_buf(&mut buf)
                .await
                .map_err(|e| io_error(&rel, e))?;
            Ok((n > 0).then(|| (buf.freeze(), (file, rel))))
        });
        // A hung mount must not hold a run forever.
        Ok(super::stall_guarded(Box::pin(chunks), super::STALL))
    }

    /// A hidden temporary file beside the target, synced and renamed over it at the end;
    /// removed on an error or when the write is dropped.
    async fn write_stream(&self, path: &str, mut data: ByteStream) -> Result<u64, DriverError> {
        let (me, rel) = (self.clone(), path.to_string());
        let Staged {
            file,
            temp,
            target,
            dir,
        } = blocking(move || me.create_temp(&rel)).await?;
        let mut out = tokio::fs::File::from_std(file);
        let mut written = 0u64;
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            out.write_all(&chunk).await.map_err(|e| io_error(path, e))?;
            written += chunk.len() as u64;
        }
        out.flush().await.map_err(|e| io_error(path, e))?;
        let file = out.into_std().await;
        let rel = path.to_string();
        blocking(move || {
            Staged {
                file,
                temp,
                target,
                dir,
            }
            .commit(&rel)
        })
        .await?;
        Ok(written)
    }
}

/// Bytes asked of the file per chunk of a stream.
const READ_CHUNK: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_climb_or_are_malformed_are_not_found() {
        for p in ["..", "../x", "a/../b", "a//b", "./a", "a/./b", "a\0b"] {
            assert!(
                matches!(segments(p), Err(DriverError::FileNotFound { .. })),
                "{p:?}"
            );
        }
        assert_eq!(segments("/a/b/").unwrap(), ["a", "b"]);
        assert!(segments("").unwrap().is_empty());
    }
}
