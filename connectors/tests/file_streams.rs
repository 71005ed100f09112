//! Streamed reads and atomic streamed writes (`FileStore::read_stream`, `write_stream`)
//! on real stores: local folders, S3 (moto), SFTP (OpenSSH), and GCS and Azure where their
//! emulators run. `scripts/test` starts them (scripts/file-servers, scripts/ssh-server);
//! PIPEWRIGHT_TEST_* say where they are. One suite, [`streams`], runs on every store.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use connectors::{
    files::{ByteStream, FileStore, STREAM_CHUNK, TEMP_MARK},
    DriverError,
};
use futures_util::StreamExt;
use serde_json::json;

#[path = "support/stores.rs"]
mod stores;
use stores::{need, open};

/// A folder name no other test run uses.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("pw-streams-{name}-{}-{nanos}", std::process::id())
}

/// `n` bytes of a repeating, position-dependent pattern (a shifted byte is noticed).
fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 13) as u8)
        .collect()
}

/// `data` as a stream of `chunk`-sized pieces.
fn chunks(data: &[u8], chunk: usize) -> ByteStream {
    let pieces: Vec<Result<Bytes, DriverError>> = data
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    Box::pin(futures_util::stream::iter(pieces))
}

/// `data` in pieces, then an error: what a run whose input fails midway sends.
fn failing_after(data: &[u8], chunk: usize) -> ByteStream {
    let failure =
        futures_util::stream::iter([Err(DriverError::Store("the input failed midway".into()))]);
    Box::pin(chunks(data, chunk).chain(failure))
}

/// `data` in pieces, then nothing ever again (a write to be dropped while it waits).
fn stalling_after(data: &[u8], chunk: usize) -> ByteStream {
    Box::pin(chunks(data, chunk).chain(futures_util::stream::pending()))
}

/// A whole file through `read_stream`, and the largest chunk it came in.
async fn read_all(store: &Arc<dyn FileStore>, path: &str) -> (Vec<u8>, usize) {
    let mut stream = Arc::clone(store).read_stream(path).await.unwrap();
    let (mut all, mut largest) = (Vec::new(), 0);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        largest = largest.max(chunk.len());
        all.extend_from_slice(&chunk);
    }
    (all, largest)
}

/// Names in `folder` (recursively) that are temporary files of a write.
async fn temporaries(store: &dyn FileStore, folder: &str) -> Vec<String> {
    store
        .list(folder, true, 1000)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|f| f.path)
        .filter(|p| p.contains(TEMP_MARK))
        .collect()
}

/// Waits (bounded) until a dropped write's clean-up, which runs as a task of its own on
/// SFTP and object stores, has removed its temporary file.
async fn no_temporaries_soon(store: &dyn FileStore, folder: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = temporaries(store, folder).await;
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "temporary files left: {left:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What every store must do. `big` is a size above one multipart part (8 MiB), for the
/// stores that switch to multipart uploads there.
async fn streams(store: Arc<dyn FileStore>, folder: &str, big: usize) {
    let path = format!("{folder}/out/report.csv");

    // A new file, written in pieces, read back whole.
    let first = pattern(300_000, 1);
    let n = store
        .write_stream(&path, chunks(&first, 70_000))
        .await
        .unwrap();
    assert_eq!(n, first.len() as u64);
    assert_eq!(read_all(&store, &path).await.0, first);
    assert!(temporaries(store.as_ref(), folder).await.is_empty());

    // Replaced by a larger one, written across several parts.
    let second = pattern(big, 2);
    let n = store
        .write_stream(&path, chunks(&second, 1 << 20))
        .await
        .unwrap();
    assert_eq!(n, second.len() as u64);
    let (back, largest) = read_all(&store, &path).await;
    assert!(
        back == second,
        "the file read back differs from what was written"
    );
    assert!(
        largest as u64 <= STREAM_CHUNK,
        "a chunk of {largest} bytes: reads are not streamed"
    );
    assert_eq!(store.head(&path).await.unwrap().size, second.len() as u64);

    // An input that fails midway (small, then past a part): the old file stays whole and
    // no temporary file is left.
    for size in [100_000, big] {
        let e = store
            .write_stream(&path, failing_after(&pattern(size, 3), 1 << 20))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("the input failed midway"), "{e}");
        assert!(
            read_all(&store, &path).await.0 == second,
            "a failed write changed the file"
        );
        assert!(temporaries(store.as_ref(), folder).await.is_empty());
    }

    // A write dropped while it waits for more input (a cancelled run): the same.
    let dropped = tokio::time::timeout(
        Duration::from_millis(500),
        store.write_stream(&path, stalling_after(&pattern(big, 4), 1 << 20)),
    )
    .await;
    assert!(dropped.is_err(), "the stalled write cannot have finished");
    no_temporaries_soon(store.as_ref(), folder).await;
    assert!(
        read_all(&store, &path).await.0 == second,
        "a dropped write changed the file"
    );

    // An empty file is a file.
    let empty = format!("{folder}/empty.csv");
    assert_eq!(store.write_stream(&empty, chunks(&[], 1)).await.unwrap(), 0);
    assert_eq!(store.head(&empty).await.unwrap().size, 0);
    assert!(read_all(&store, &empty).await.0.is_empty());

    // Reading what is not there says so before any byte.
    let missing = Arc::clone(&store)
        .read_stream(&format!("{folder}/missing.csv"))
        .await
        .err()
        .expect("a missing file cannot be streamed");
    assert!(
        matches!(missing, DriverError::FileNotFound { .. }),
        "{missing:?}"
    );
}

#[tokio::test]
async fn local_folder_streams_and_writes_atomically() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open("local", json!({"path": tmp.path()}), &[]);
    streams(store.clone(), "runs", 9 << 20).await;
    // The file on disk is the second one, and nothing else is beside it.
    let names: Vec<String> = std::fs::read_dir(tmp.path().join("runs/out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["report.csv"]);
}

#[tokio::test]
async fn local_stream_refuses_a_fifo_without_blocking() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("pipe.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let store = open("local", json!({"path": tmp.path()}), &[]);
    let refused = tokio::time::timeout(Duration::from_secs(5), store.read_stream("pipe.csv"))
        .await
        .expect("opening a FIFO must not block")
        .err()
        .expect("a FIFO is not a regular file");
    assert!(
        matches!(refused, DriverError::NotARegularFile { .. }),
        "{refused:?}"
    );
}

fn s3() -> Option<Arc<dyn FileStore>> {
    let v = need(
        &[
            "PIPEWRIGHT_TEST_S3_ENDPOINT",
            "PIPEWRIGHT_TEST_BUCKET",
            "PIPEWRIGHT_TEST_S3_ACCESS_KEY_ID",
            "PIPEWRIGHT_TEST_S3_SECRET_ACCESS_KEY",
        ],
        "S3 test server (moto)",
    )?;
    Some(open(
        "s3",
        json!({"bucket": v[1], "endpoint": v[0], "region": "us-east-1"}),
        &[("access_key_id", &v[2]), ("secret_access_key", &v[3])],
    ))
}

#[tokio::test]
async fn s3_streams_and_writes_atomically_with_multipart_uploads() {
    let Some(store) = s3() else { return };
    let folder = unique("s3");
    streams(store.clone(), &folder, 20 << 20).await;
    // What the folder holds: the two files written, nothing else.
    let mut listed: Vec<String> = store
        .list(&folder, true, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            format!("{folder}/empty.csv"),
            format!("{folder}/out/report.csv")
        ]
    );
}

#[tokio::test]
async fn s3_streams_a_64_mib_object_in_bounded_chunks() {
    let Some(store) = s3() else { return };
    let size = store.head("big/sixty-four-mib.csv").await.unwrap().size;
    let mut stream = Arc::clone(&store)
        .read_stream("big/sixty-four-mib.csv")
        .await
        .unwrap();
    let (mut total, mut largest, mut count) = (0u64, 0usize, 0usize);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        total += chunk.len() as u64;
        largest = largest.max(chunk.len());
        count += 1;
    }
    assert_eq!(total, size);
    assert!(count > 8, "{count} chunks for 64 MiB: not streamed");
    assert!(largest <= 8 << 20, "a chunk of {largest} bytes");
}

struct Sftp {
    port: u16,
    user: String,
    password: String,
    fingerprint: String,
    home: PathBuf,
}

fn sftp_server() -> Option<Sftp> {
    let v = need(
        &[
            "PIPEWRIGHT_TEST_SSH_PORT",
            "PIPEWRIGHT_TEST_SSH_USER",
            "PIPEWRIGHT_TEST_SSH_PASSWORD",
            "PIPEWRIGHT_TEST_SSH_FINGERPRINT",
            "PIPEWRIGHT_TEST_SSH_HOME",
        ],
        "SSH/SFTP test server (scripts/ssh-server)",
    )?;
    Some(Sftp {
        port: v[0].parse().unwrap(),
        user: v[1].clone(),
        password: v[2].clone(),
        fingerprint: v[3].clone(),
        home: PathBuf::from(&v[4]),
    })
}

/// A folder in the SFTP user's home, owned by that user, removed on drop.
struct Folder(PathBuf);

impl Folder {
    fn new(s: &Sftp, rel: &str) -> Folder {
        let dir = s.home.join(rel);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&s.home).unwrap());
        let group = std::os::unix::fs::MetadataExt::gid(&std::fs::metadata(&s.home).unwrap());
        std::os::unix::fs::chown(&dir, Some(owner), Some(group)).unwrap();
        Folder(dir)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sftp_store(s: &Sftp, root: &str) -> Arc<dyn FileStore> {
    open(
        "sftp",
        json!({
            "host": "127.0.0.1", "port": s.port, "user": s.user, "path": root,
            "host_key_fingerprint": s.fingerprint,
        }),
        &[("password", &s.password)],
    )
}

#[tokio::test]
async fn sftp_streams_and_writes_atomically_through_a_temporary_file() {
    let Some(s) = sftp_server() else { return };
    let rel = unique("sftp");
    let folder = Folder::new(&s, &rel);
    // The store's root is the home folder; the suite works in `rel` below it (its
    // sub-folder `out` is created by the write).
    let store = sftp_store(&s, ".");
    streams(store.clone(), &rel, 3 << 20).await;
    assert_eq!(
        std::fs::read(folder.0.join("out/report.csv")).unwrap(),
        pattern(3 << 20, 2)
    );

    // A listing while a stream is open on the same session proceeds (the session is
    // shared, not held by the stream).
    let mut reading = Arc::clone(&store)
        .read_stream(&format!("{rel}/out/report.csv"))
        .await
        .unwrap();
    let first = reading.next().await.unwrap().unwrap();
    assert!(!first.is_empty());
    let listed = tokio::time::timeout(Duration::from_secs(10), store.list(&rel, false, 10))
        .await
        .expect("a listing must not wait for an open stream")
        .unwrap();
    assert!(listed.iter().any(|f| f.path.ends_with("out")), "{listed:?}");
    drop(reading);
}

#[tokio::test]
async fn gcs_and_azure_stream_reads_where_their_emulators_run() {
    let Some(gcs) = need(
        &["PIPEWRIGHT_TEST_GCS_ENDPOINT", "PIPEWRIGHT_TEST_BUCKET"],
        "GCS emulator (fake-gcs-server)",
    ) else {
        return;
    };
    let Some(az) = need(
        &[
            "PIPEWRIGHT_TEST_AZURE_ENDPOINT",
            "PIPEWRIGHT_TEST_AZURE_ACCOUNT",
            "PIPEWRIGHT_TEST_AZURE_KEY",
        ],
        "Azure Blob emulator (Azurite)",
    ) else {
        return;
    };
    let expected = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/files/people.csv"),
    )
    .unwrap();
    let bucket = gcs[1].clone();
    let gcs = open("gcs", json!({"bucket": bucket, "endpoint": gcs[0]}), &[]);
    assert_eq!(read_all(&gcs, "people.csv").await.0, expected);
    let azure = open(
        "azure",
        json!({"account": az[1], "container": bucket, "endpoint": az[0]}),
        &[("access_key", &az[2])],
    );
    assert_eq!(read_all(&azure, "people.csv").await.0, expected);
    // Azure writes are block blobs committed at the end: the same suite holds.
    streams(azure, &unique("azure"), 9 << 20).await;
}
