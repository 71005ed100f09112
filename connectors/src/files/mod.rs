//! The file-store driver family: one trait, [`FileStore`], with a backend for everything
//! `object_store` serves over the network (S3 and S3-compatible, GCS, Azure Blob, HTTP),
//! one for local folders (regular files only, never out of the folder) and one for SFTP.
//! On top, what schema discovery needs: resolve a path or a glob to one file, and read a
//! bounded prefix of it with a range request.
//!
//! For runs, whole files move as streams: [`FileStore::read_stream`] (a chunk at a time)
//! and [`FileStore::write_stream`], atomic on every backend (a hidden temporary file
//! renamed into place, or a multipart upload completed at the end), so a failed or
//! dropped write leaves the old file. A stream is never cut off for being long, only for
//! stalling ([`STALL`] without a chunk).

mod config;
pub mod glob;
mod local;
mod object;
mod sftp;

use std::{ops::Range, sync::Arc};

use async_trait::async_trait;
use serde::Serialize;

pub use config::FileConfig;

use crate::{error::DriverError, Ping};

/// One file (or folder, in listings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileMeta {
    /// Relative to the store's root (bucket, container, folder).
    pub path: String,
    pub size: u64,
    /// Last modification, milliseconds since the Unix epoch.
    pub modified: Option<i64>,
    pub is_dir: bool,
}

#[async_trait]
pub trait FileStore: Send + Sync + 'static {
    /// Where the store points, for messages: `s3://bucket`, `sftp://user@host:22`, ….
    fn location(&self) -> String;
    /// Lists the top folder (at most [`PING_LISTING`] entries): proves the endpoint, the
    /// credentials and the bucket or folder.
    async fn test_connection(&self) -> Result<Ping, DriverError> {
        let started = std::time::Instant::now();
        let entries = self.list("", false, PING_LISTING).await?;
        let files = entries.iter().filter(|e| !e.is_dir).count();
        Ok(Ping {
            server_version: format!(
                "{}: {files}{} files and {} folders at the top",
                self.location(),
                if entries.len() >= PING_LISTING {
                    "+"
                } else {
                    ""
                },
                entries.len() - files
            ),
            can_write: None,
            latency_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }
    /// Files (and, unless `recursive`, sub-folders) under `folder`, at most `max`.
    async fn list(
        &self,
        folder: &str,
        recursive: bool,
        max: usize,
    ) -> Result<Vec<FileMeta>, DriverError>;
    /// One file's size and modification time; `NotAFile` for a folder.
    async fn head(&self, path: &str) -> Result<FileMeta, DriverError>;
    /// Bytes `range` of a file, and only those (a range request, a seek).
    async fn read_range(&self, path: &str, range: Range<u64>) -> Result<Vec<u8>, DriverError>;
    /// Writes a whole file (for tests and small files).
    async fn put(&self, path: &str, data: Vec<u8>) -> Result<(), DriverError>;
    /// A whole file as a stream of chunks, memory bounded by the chunk size (the engine's
    /// file sources). By default, successive range reads of [`STREAM_CHUNK`] bytes.
    async fn read_stream(self: Arc<Self>, path: &str) -> Result<ByteStream, DriverError> {
        let size = self.head(path).await?.size;
        let path = path.to_string();
        let this = self;
        Ok(Box::pin(futures_util::stream::try_unfold(
            0u64,
            move |at| {
                let (path, this) = (path.clone(), this.clone());
                async move {
                    if at >= size {
                        return Ok(None);
                    }
                    let end = (at + STREAM_CHUNK).min(size);
                    let chunk = this.read_range(&path, at..end).await?;
                    Ok(Some((bytes::Bytes::from(chunk), end)))
                }
            },
        )))
    }
    /// Writes a file from a stream of chunks, atomically: until the stream ends without
    /// error nothing is visible at `path` (an old file there stays whole), and an error or
    /// a dropped future leaves no partial file behind. By default, collected and `put`.
    async fn write_stream(&self, path: &str, mut data: ByteStream) -> Result<u64, DriverError> {
        use futures_util::StreamExt;
        let mut all = Vec::new();
        while let Some(chunk) = data.next().await {
            all.extend_from_slice(&chunk?);
        }
        let n = all.len() as u64;
        self.put(path, all).await?;
        Ok(n)
    }
}

/// Bytes, a chunk at a time.
pub type ByteStream =
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, DriverError>> + Send>>;

/// Bytes per range read in the default [`FileStore::read_stream`].
pub const STREAM_CHUNK: u64 = 8 << 20;

/// How long a stream may go without a chunk (or a write without progress) before it is
/// reported as stalled. Per chunk, not per file: a long transfer that keeps moving is
/// never cut off, a stalled one is within this time.
pub const STALL: std::time::Duration = std::time::Duration::from_secs(60);

/// What every temporary file a streamed write leaves while it runs has in its name
/// (`.<name>.pipewright-<random>.tmp`, beside the target): hidden, and recognisable by
/// whoever cleans up after a crash.
pub const TEMP_MARK: &str = ".pipewright-";

/// The hidden temporary name a write to `name` goes to before it is renamed over it:
/// random, so two writers (two runs, two replicas) never share one.
pub(crate) fn temp_name(name: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS once per thread and bumped per instance: mixed
    // with the process and a counter, unique without a random-number crate.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u64(NEXT.fetch_add(1, Ordering::Relaxed));
    // Room for the suffix within the 255 bytes most file systems allow in a name.
    let mut end = name.len().min(180);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!(".{}{TEMP_MARK}{:016x}.tmp", &name[..end], h.finish())
}

/// `stream` with a deadline on each chunk: one that does not come within `limit` ends the
/// stream with [`DriverError::StoreTimeout`].
pub(crate) fn stall_guarded(stream: ByteStream, limit: std::time::Duration) -> ByteStream {
    use futures_util::StreamExt;
    Box::pin(futures_util::stream::try_unfold(
        stream,
        move |mut s| async move {
            match tokio::time::timeout(limit, s.next()).await {
                Err(_) => Err(DriverError::StoreTimeout(limit)),
                Ok(None) => Ok(None),
                Ok(Some(chunk)) => Ok(Some((chunk?, s))),
            }
        },
    ))
}

/// Opens the store a connection describes. Nothing is contacted yet.
pub fn open(cfg: FileConfig) -> Result<Arc<dyn FileStore>, DriverError> {
    crate::tls::install_default_provider();
    let redactor = cfg.redactor();
    let store: Arc<dyn FileStore> = match cfg {
        FileConfig::Sftp { ssh, root } => Arc::new(sftp::Sftp::new(ssh, root)),
        FileConfig::Local {
            root,
            follow_symlinks,
        } => Arc::new(local::LocalFolder::new(root, follow_symlinks)),
        other => Arc::new(object::ObjectBackend::new(&other).map_err(|e| redactor.error(e))?),
    };
    Ok(if redactor.is_empty() {
        store
    } else {
        Arc::new(Scrubbed {
            inner: store,
            redactor,
        })
    })
}

/// A store whose every error has the connection's secrets scrubbed out: an SFTP server
/// can quote back the password it was sent, a cloud can echo a key in a response body.
struct Scrubbed {
    inner: Arc<dyn FileStore>,
    redactor: crate::redact::Redactor,
}

#[async_trait]
impl FileStore for Scrubbed {
    fn location(&self) -> String {
        self.inner.location()
    }
    async fn test_connection(&self) -> Result<Ping, DriverError> {
        self.inner
            .test_connection()
            .await
            .map_err(|e| self.redactor.error(e))
    }
    async fn list(
        &self,
        folder: &str,
        recursive: bool,
        max: usize,
    ) -> Result<Vec<FileMeta>, DriverError> {
        self.inner
            .list(folder, recursive, max)
            .await
            .map_err(|e| self.redactor.error(e))
    }
    async fn head(&self, path: &str) -> Result<FileMeta, DriverError> {
        self.inner
            .head(path)
            .await
            .map_err(|e| self.redactor.error(e))
    }
    async fn read_range(&self, path: &str, range: Range<u64>) -> Result<Vec<u8>, DriverError> {
        self.inner
            .read_range(path, range)
            .await
            .map_err(|e| self.redactor.error(e))
    }
    async fn put(&self, path: &str, data: Vec<u8>) -> Result<(), DriverError> {
        self.inner
            .put(path, data)
            .await
            .map_err(|e| self.redactor.error(e))
    }
    async fn read_stream(self: Arc<Self>, path: &str) -> Result<ByteStream, DriverError> {
        use futures_util::StreamExt;
        let stream = Arc::clone(&self.inner)
            .read_stream(path)
            .await
            .map_err(|e| self.redactor.error(e))?;
        let redactor = self.redactor.clone();
        Ok(Box::pin(
            stream.map(move |chunk| chunk.map_err(|e| redactor.error(e))),
        ))
    }
    async fn write_stream(&self, path: &str, data: ByteStream) -> Result<u64, DriverError> {
        self.inner
            .write_stream(path, data)
            .await
            .map_err(|e| self.redactor.error(e))
    }
}

/// Entries `test_connection` lists at most.
pub const PING_LISTING: usize = 1000;

/// Files listed at most when a glob is resolved.
pub const MAX_GLOB_LISTING: usize = 10_000;

/// What a path resolved to.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub file: FileMeta,
    /// For a glob: how many files matched.
    pub matched: Option<usize>,
    /// For a glob: the listing stopped at [`MAX_GLOB_LISTING`] entries, so a newer match
    /// may exist beyond it.
    pub listing_capped: bool,
}

/// The file a path names: itself, or for a glob the newest matching file (a non-empty one
/// when there is one, so a `_SUCCESS` marker does not win).
pub async fn resolve(store: &dyn FileStore, path: &str) -> Result<Resolved, DriverError> {
    let path = path.trim().trim_start_matches("./");
    if !glob::is_glob(path) {
        return Ok(Resolved {
            file: store.head(path).await?,
            matched: None,
            listing_capped: false,
        });
    }
    let listed = store
        .list(glob::base(path), glob::recursive(path), MAX_GLOB_LISTING)
        .await
        .map_err(|e| match e {
            DriverError::FileNotFound { .. } => DriverError::NoMatch {
                pattern: path.into(),
            },
            other => other,
        })?;
    let listing_capped = listed.len() >= MAX_GLOB_LISTING;
    let pattern = path.trim_start_matches('/');
    let matching: Vec<FileMeta> = listed
        .into_iter()
        .filter(|f| !f.is_dir && glob::matches(pattern, f.path.trim_start_matches('/')))
        .collect();
    let count = matching.len();
    let newest = matching
        .into_iter()
        .max_by(|a, b| (a.size > 0, a.modified, &a.path).cmp(&(b.size > 0, b.modified, &b.path)))
        .ok_or_else(|| DriverError::NoMatch {
            pattern: path.into(),
        })?;
    Ok(Resolved {
        file: newest,
        matched: Some(count),
        listing_capped,
    })
}

/// The first `limit` bytes of a file (one range request), and whether the file goes on.
pub async fn read_prefix(
    store: &dyn FileStore,
    file: &FileMeta,
    limit: u64,
) -> Result<(Vec<u8>, bool), DriverError> {
    let end = file.size.min(limit);
    let bytes = store.read_range(&file.path, 0..end).await?;
    Ok((bytes, file.size > end))
}

/// An upstream message without what the caller sent: URLs cut to their origin (the object
/// path and any signature live after it) and the caller's path replaced by [`THE_FILE`].
/// (A path under three characters is left: replacing `a` everywhere would garble the
/// message and hide nothing.)
pub fn scrub(message: &str, path: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, word) in message.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match word.find("://") {
            Some(at) => {
                let host_end = word[at + 3..]
                    .find(['/', '?', '"', '\'', ')', ','])
                    .map_or(word.len(), |e| at + 3 + e);
                out.push_str(&word[..host_end]);
                if host_end < word.len() {
                    out.push_str("/…");
                }
            }
            None => out.push_str(word),
        }
    }
    let path = path.trim().trim_matches('/');
    if path.chars().count() >= 3 {
        out = out.replace(path, THE_FILE);
    }
    out
}

/// What stands for the caller's path in an upstream message.
pub const THE_FILE: &str = "<the file>";

/// Drops query strings from URLs in a message (a SAS token or a signature lives there).
pub fn redact(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for (i, word) in message.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if word.contains("://") && word.contains('?') {
            out.push_str(&word[..word.find('?').unwrap()]);
            out.push_str("?…");
        } else {
            out.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod scrubbed_tests {
    use super::*;

    /// A store whose server quotes back what it was sent.
    struct Echoing;

    #[async_trait]
    impl FileStore for Echoing {
        fn location(&self) -> String {
            "sftp://echo".into()
        }
        async fn list(&self, _: &str, _: bool, _: usize) -> Result<Vec<FileMeta>, DriverError> {
            Err(DriverError::Sftp("bad password hunter2/SECRET".into()))
        }
        async fn head(&self, _: &str) -> Result<FileMeta, DriverError> {
            Err(DriverError::Store("key=hunter2%2FSECRET rejected".into()))
        }
        async fn read_range(&self, _: &str, _: Range<u64>) -> Result<Vec<u8>, DriverError> {
            Err(DriverError::CredentialsRejected("hunter2/SECRET".into()))
        }
        async fn put(&self, _: &str, _: Vec<u8>) -> Result<(), DriverError> {
            Err(DriverError::Store("hunter2/SECRET".into()))
        }
        /// Fails inside the stream, after a first good chunk.
        async fn read_stream(self: Arc<Self>, _: &str) -> Result<ByteStream, DriverError> {
            Ok(Box::pin(futures_util::stream::iter([
                Ok(bytes::Bytes::from_static(b"a,b\n")),
                Err(DriverError::Sftp("read failed for hunter2/SECRET".into())),
            ])))
        }
        async fn write_stream(&self, _: &str, _: ByteStream) -> Result<u64, DriverError> {
            Err(DriverError::Sftp("write refused for hunter2/SECRET".into()))
        }
    }

    #[tokio::test]
    async fn a_file_store_that_echoes_a_secret_has_it_scrubbed() {
        let store = Scrubbed {
            inner: Arc::new(Echoing),
            redactor: crate::redact::Redactor::new(["hunter2/SECRET"]),
        };
        let store = Arc::new(store);
        let mut stream = Arc::clone(&store).read_stream("x").await.unwrap();
        use futures_util::StreamExt;
        assert_eq!(stream.next().await.unwrap().unwrap(), &b"a,b\n"[..]);
        let in_stream = stream.next().await.unwrap().unwrap_err().to_string();
        let empty: ByteStream = Box::pin(futures_util::stream::empty());
        let errors = [
            in_stream,
            store
                .write_stream("x", empty)
                .await
                .unwrap_err()
                .to_string(),
            store.test_connection().await.unwrap_err().to_string(),
            store.list("", false, 1).await.unwrap_err().to_string(),
            store.head("x").await.unwrap_err().to_string(),
            store.read_range("x", 0..1).await.unwrap_err().to_string(),
            store.put("x", vec![]).await.unwrap_err().to_string(),
        ];
        for e in errors {
            assert!(!e.contains("hunter2"), "{e}");
            assert!(e.contains(crate::redact::REDACTED), "{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scrub_drops_the_callers_path_and_url_paths() {
        let m = "Error performing GET http://127.0.0.1:9000/bucket/in/MARKER.csv?x=1 in 1ms: \"in/MARKER.csv\" gone";
        let s = super::scrub(m, "/in/MARKER.csv");
        assert!(!s.contains("MARKER"), "{s}");
        assert!(s.contains("http://127.0.0.1:9000/…"), "{s}");
        assert!(s.ends_with("\"<the file>\" gone"), "{s}");
    }

    #[test]
    fn temporary_names_are_hidden_unique_and_short_enough() {
        let a = super::temp_name("orders.csv");
        let b = super::temp_name("orders.csv");
        assert_ne!(a, b);
        assert!(
            a.starts_with(".orders.csv.pipewright-") && a.ends_with(".tmp"),
            "{a}"
        );
        assert!(a.contains(super::TEMP_MARK));
        let long = super::temp_name(&"é".repeat(200));
        assert!(long.len() <= 255, "{}", long.len());
    }

    #[tokio::test]
    async fn a_stream_that_stops_sending_ends_with_a_timeout() {
        use futures_util::StreamExt;
        let limit = std::time::Duration::from_millis(50);
        let first = futures_util::stream::iter([Ok(bytes::Bytes::from_static(b"x"))]);
        let stalled = first.chain(futures_util::stream::pending());
        let mut s = super::stall_guarded(Box::pin(stalled), limit);
        assert_eq!(s.next().await.unwrap().unwrap(), &b"x"[..]);
        let e = s.next().await.unwrap().unwrap_err();
        assert!(
            matches!(e, super::DriverError::StoreTimeout(d) if d == limit),
            "{e:?}"
        );
        assert!(s.next().await.is_none());
    }

    #[test]
    fn redacts_query_strings() {
        assert_eq!(
            super::redact("GET https://a.blob.core.windows.net/c/x?sig=SECRET&se=1 failed"),
            "GET https://a.blob.core.windows.net/c/x?… failed"
        );
    }
}
