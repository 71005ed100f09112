//! File stores against real servers: S3 (moto), GCS (fake-gcs-server), Azure Blob
//! (Azurite), SFTP (OpenSSH sshd, password and key) and local folders. `scripts/test`
//! starts them (scripts/file-servers, scripts/ssh-server) and seeds the buckets with
//! tests/fixtures/files; PIPEWRIGHT_TEST_* say where they are. Bytes that cross the wire
//! are counted by a loopback proxy, to show a prefix read stays a prefix read.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, SystemTime},
};

use connectors::{
    files::{self, FileStore},
    DriverError,
};
use serde_json::json;

#[path = "support/stores.rs"]
mod stores;
use stores::{env, need, open};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/files")
}

fn s3(endpoint: &str, bucket: &str) -> Option<Arc<dyn FileStore>> {
    let v = need(
        &[
            "PIPEWRIGHT_TEST_S3_ACCESS_KEY_ID",
            "PIPEWRIGHT_TEST_S3_SECRET_ACCESS_KEY",
        ],
        "S3 test server (moto)",
    )?;
    Some(open(
        "s3",
        json!({"bucket": bucket, "endpoint": endpoint, "region": "us-east-1"}),
        &[("access_key_id", &v[0]), ("secret_access_key", &v[1])],
    ))
}

/// What every store must do with the same fixtures.
async fn behaves(store: &dyn FileStore) {
    let ping = store.test_connection().await.unwrap();
    assert!(ping.server_version.contains("files"), "{ping:?}");
    let people = store.head("people.csv").await.unwrap();
    assert_eq!(people.size, 51);
    assert_eq!(
        store.read_range("people.csv", 0..10).await.unwrap(),
        b"id,name,am"
    );
    assert_eq!(
        store.read_range("people.csv", 45..51).await.unwrap(),
        b"-3.25\n"
    );
    let r = files::resolve(store, "data/orders_*.csv").await.unwrap();
    let (newest, matched) = (r.file, r.matched);
    assert_eq!(
        (newest.path.as_str(), matched),
        ("data/orders_2024-02.csv", Some(2))
    );
    let r = files::resolve(store, "**/*.csv").await.unwrap();
    let (all, matched) = (r.file, r.matched);
    assert!(matched.unwrap() >= 4, "{all:?} {matched:?}");
    assert!(matches!(
        store.head("data").await,
        Err(DriverError::NotAFile { .. })
    ));
    assert!(matches!(
        store.head("data/").await,
        Err(DriverError::NotAFile { .. }) | Err(DriverError::FileNotFound { .. })
    ));
    assert!(matches!(
        store.head("missing.csv").await,
        Err(DriverError::FileNotFound { .. })
    ));
    assert!(matches!(
        files::resolve(store, "data/*.parquet").await,
        Err(DriverError::NoMatch { .. })
    ));
    // A gzip file is read and inflated.
    let gz = store.head("people.csv.gz").await.unwrap();
    let (bytes, more) = files::read_prefix(store, &gz, 1 << 20).await.unwrap();
    assert!(!more);
    let d = discovery::sniff(&bytes, more, &Default::default()).unwrap();
    assert_eq!(d.column_names, ["id", "name", "amount"]);
    assert_eq!(d.compression, Some("gzip"));
}

#[tokio::test]
async fn s3_reads_ranges_resolves_globs_and_reports_missing_things() {
    let Some(v) = need(
        &["PIPEWRIGHT_TEST_S3_ENDPOINT", "PIPEWRIGHT_TEST_BUCKET"],
        "S3 test server (moto)",
    ) else {
        return;
    };
    let store = s3(&v[0], &v[1]).unwrap();
    behaves(store.as_ref()).await;
    let wrong = s3(&v[0], "no-such-bucket-here").unwrap();
    let e = wrong.test_connection().await.unwrap_err();
    assert!(
        matches!(e, DriverError::BucketNotFound { ref bucket } if bucket == "no-such-bucket-here"),
        "{e}"
    );
    // Nothing listens there.
    let closed = s3("http://127.0.0.1:9", &v[1]).unwrap();
    let e = closed.test_connection().await.unwrap_err();
    assert!(matches!(e, DriverError::Unreachable { .. }), "{e:?}");
    assert!(!e
        .to_string()
        .contains(&env("PIPEWRIGHT_TEST_S3_SECRET_ACCESS_KEY").unwrap()));
}

#[tokio::test]
async fn gcs_emulator_reads_ranges_and_resolves_globs() {
    let Some(v) = need(
        &["PIPEWRIGHT_TEST_GCS_ENDPOINT", "PIPEWRIGHT_TEST_BUCKET"],
        "GCS emulator (fake-gcs-server)",
    ) else {
        return;
    };
    let store = open("gcs", json!({"bucket": v[1], "endpoint": v[0]}), &[]);
    behaves(store.as_ref()).await;
    let wrong = open(
        "gcs",
        json!({"bucket": "no-such-bucket-here", "endpoint": v[0]}),
        &[],
    );
    let e = wrong.test_connection().await.unwrap_err();
    assert!(matches!(e, DriverError::BucketNotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn azure_blob_reads_ranges_and_rejects_a_wrong_key() {
    let Some(v) = need(
        &[
            "PIPEWRIGHT_TEST_AZURE_ENDPOINT",
            "PIPEWRIGHT_TEST_AZURE_ACCOUNT",
            "PIPEWRIGHT_TEST_AZURE_KEY",
            "PIPEWRIGHT_TEST_BUCKET",
        ],
        "Azure Blob emulator (Azurite)",
    ) else {
        return;
    };
    let azure = |container: &str, key: &str| {
        open(
            "azure",
            json!({"account": v[1], "container": container, "endpoint": v[0]}),
            &[("access_key", key)],
        )
    };
    behaves(azure(&v[3], &v[2]).as_ref()).await;
    let wrong = azure("no-such-container", &v[2])
        .test_connection()
        .await
        .unwrap_err();
    assert!(
        matches!(wrong, DriverError::BucketNotFound { .. }),
        "{wrong:?}"
    );
    // A valid-looking key that is not the account's.
    let bad_key = "A".repeat(86) + "==";
    let e = azure(&v[3], &bad_key).test_connection().await.unwrap_err();
    assert!(matches!(e, DriverError::CredentialsRejected(_)), "{e:?}");
    assert!(!e.to_string().contains(&bad_key) && !e.to_string().contains(&v[2]));
}

#[tokio::test]
async fn http_webdav_reads_ranges_and_lists_with_propfind() {
    let Some(v) = need(
        &["PIPEWRIGHT_TEST_HTTP_URL"],
        "HTTP/WebDAV test server (WsgiDAV)",
    ) else {
        return;
    };
    let store = open("http", json!({"url": v[0]}), &[]);
    behaves(store.as_ref()).await;
}

/// Copies the fixtures into `dir`, the February orders newer than January's.
fn seed(dir: &Path) {
    for rel in [
        "people.csv",
        "people.csv.gz",
        "empty.csv",
        "image.png",
        "latin1.csv",
        "data/orders_2024-01.csv",
        "data/orders_2024-02.csv",
    ] {
        let to = dir.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(fixtures().join(rel), &to).unwrap();
    }
    let at = |secs| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    for (rel, t) in [
        ("data/orders_2024-01.csv", 1_700_000_000),
        ("data/orders_2024-02.csv", 1_700_000_600),
    ] {
        std::fs::File::options()
            .write(true)
            .open(dir.join(rel))
            .unwrap()
            .set_modified(at(t))
            .unwrap();
    }
}

#[tokio::test]
async fn local_folder_behaves_like_a_bucket_and_stays_inside_its_root() {
    let tmp = tempfile::tempdir().unwrap();
    seed(tmp.path());
    let store = open("local", json!({"path": tmp.path()}), &[]);
    behaves(store.as_ref()).await;
    for escape in ["../etc/passwd", "data/../../etc/passwd"] {
        assert!(
            store.head(escape).await.is_err(),
            "{escape} must not leave the root"
        );
    }
}

/// A FIFO at `path` (no writer ever comes). Dropping the guard opens it for writing once,
/// without blocking, so a backend that did block on it (the old one) lets go and the test
/// fails instead of hanging.
struct Fifo(PathBuf);

fn mkfifo(path: &Path) -> Fifo {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
    Fifo(path.to_path_buf())
}

impl Drop for Fifo {
    fn drop(&mut self) {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&self.0);
    }
}

/// A bound on a call that must not hang: a hang fails the test instead of stalling it.
async fn promptly<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), f)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"))
}

fn is_fifo_refusal(e: &DriverError) -> bool {
    matches!(e, DriverError::NotARegularFile { kind } if kind.contains("FIFO"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifo_in_local_folder_is_refused_not_hung() {
    let tmp = tempfile::tempdir().unwrap();
    seed(tmp.path());
    let _pipe = mkfifo(&tmp.path().join("pipe.csv"));
    let _only = mkfifo(&tmp.path().join("only/pipe.csv"));
    let store = open("local", json!({"path": tmp.path()}), &[]);

    let e = promptly("head", store.head("pipe.csv")).await.unwrap_err();
    assert!(is_fifo_refusal(&e), "{e:?}");
    assert!(e.to_string().contains("not a regular file"), "{e}");
    let e = promptly("read", store.read_range("pipe.csv", 0..10))
        .await
        .unwrap_err();
    assert!(is_fifo_refusal(&e), "{e:?}");
    let e = promptly("resolve", files::resolve(store.as_ref(), "pipe.csv"))
        .await
        .unwrap_err();
    assert!(is_fifo_refusal(&e), "{e:?}");
    // A glob never picks one: neither alone in its folder nor beside regular files.
    let e = promptly("glob", files::resolve(store.as_ref(), "only/*.csv"))
        .await
        .unwrap_err();
    assert!(matches!(e, DriverError::NoMatch { .. }), "{e:?}");
    let r = promptly("glob", files::resolve(store.as_ref(), "**/*.csv"))
        .await
        .unwrap();
    assert!(!r.file.path.ends_with("pipe.csv"), "{r:?}");
    let listed = store.list("", true, 1000).await.unwrap();
    assert!(
        listed.iter().all(|f| !f.path.ends_with("pipe.csv")),
        "{listed:?}"
    );

    // Far more calls than a blocking pool would survive if each one hung.
    let calls = (0..200).map(|i| {
        let store = store.clone();
        async move {
            if i % 2 == 0 {
                store.read_range("pipe.csv", 0..1024).await.map(|_| ())
            } else {
                store.head("pipe.csv").await.map(|_| ())
            }
        }
    });
    let results = promptly(
        "200 concurrent calls",
        futures_util::future::join_all(calls),
    )
    .await;
    assert!(results
        .iter()
        .all(|r| r.as_ref().is_err_and(is_fifo_refusal)));
    // And the folder still serves its files.
    assert_eq!(store.head("people.csv").await.unwrap().size, 51);
}

#[tokio::test]
async fn symlinks_out_of_a_local_folder_are_refused_unless_follow_symlinks() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("shadow.csv"), "user,hash\nroot,x\n").unwrap();
    std::fs::create_dir(outside.path().join("etc")).unwrap();
    std::fs::write(outside.path().join("etc/passwd.csv"), "user,uid\nroot,0\n").unwrap();
    let tmp = tempfile::tempdir().unwrap();
    seed(tmp.path());
    let root = tmp.path();
    symlink(outside.path().join("shadow.csv"), root.join("leak.csv")).unwrap();
    symlink(outside.path().join("etc"), root.join("linked")).unwrap();
    // Links that stay inside: relative, and from a sub-folder back up.
    symlink("people.csv", root.join("alias.csv")).unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    symlink("../people.csv", root.join("sub/up.csv")).unwrap();
    symlink("../data", root.join("sub/data")).unwrap();

    let store = open("local", json!({"path": root}), &[]);
    for path in ["leak.csv", "linked/passwd.csv"] {
        let e = store.head(path).await.unwrap_err();
        assert!(matches!(e, DriverError::OutsideFolder), "{path}: {e:?}");
        let e = store.read_range(path, 0..4).await.unwrap_err();
        assert!(matches!(e, DriverError::OutsideFolder), "{path}: {e:?}");
    }
    for glob in ["leak*.csv", "linked/*.csv"] {
        let e = files::resolve(store.as_ref(), glob).await.unwrap_err();
        assert!(
            matches!(e, DriverError::NoMatch { .. } | DriverError::OutsideFolder),
            "{glob}: {e:?}"
        );
    }
    let everything: Vec<String> = store
        .list("", true, 1000)
        .await
        .unwrap()
        .into_iter()
        .chain(store.list("", false, 1000).await.unwrap())
        .map(|f| f.path)
        .collect();
    for hidden in ["leak.csv", "linked", "linked/passwd.csv"] {
        assert!(!everything.iter().any(|p| p == hidden), "{everything:?}");
    }
    let r = files::resolve(store.as_ref(), "**/*.csv").await.unwrap();
    assert!(!r.file.path.contains("leak"), "{r:?}");
    // Inside the folder, links still work (and a loop back up is walked once).
    for path in ["alias.csv", "sub/up.csv", "sub/data/orders_2024-01.csv"] {
        assert_eq!(
            store.read_range(path, 0..10).await.unwrap(),
            std::fs::read(root.join(path)).unwrap()[..10],
            "{path}"
        );
    }
    assert!(
        everything.iter().any(|p| p == "sub/up.csv"),
        "{everything:?}"
    );

    // Explicitly allowed: the same links are followed.
    let follows = open("local", json!({"path": root, "follow_symlinks": true}), &[]);
    assert_eq!(
        follows.read_range("leak.csv", 0..9).await.unwrap(),
        b"user,hash"
    );
    let r = files::resolve(follows.as_ref(), "linked/*.csv")
        .await
        .unwrap();
    assert_eq!(r.file.path, "linked/passwd.csv");
    assert!(follows
        .list("", true, 1000)
        .await
        .unwrap()
        .iter()
        .any(|f| f.path == "leak.csv"));
}

#[tokio::test]
async fn local_errors_show_neither_the_callers_path_nor_the_servers_folder() {
    let tmp = tempfile::tempdir().unwrap();
    seed(tmp.path());
    std::fs::create_dir(tmp.path().join("dir-MARKER")).unwrap();
    let _pipe = mkfifo(&tmp.path().join("fifo-MARKER.csv"));
    let store = open("local", json!({"path": tmp.path()}), &[]);
    let folder = tmp.path().display().to_string();
    let errors = [
        store.head("MARKER/nope.csv").await.unwrap_err(),
        store.read_range("MARKER.csv", 0..4).await.unwrap_err(),
        store.head("dir-MARKER").await.unwrap_err(),
        store.head("fifo-MARKER.csv").await.unwrap_err(),
        store.head("../MARKER").await.unwrap_err(),
        files::resolve(store.as_ref(), "MARKER*.csv")
            .await
            .unwrap_err(),
        files::resolve(store.as_ref(), "MARKER/*.csv")
            .await
            .unwrap_err(),
        open(
            "local",
            json!({"path": tmp.path().join("MARKER-gone")}),
            &[],
        )
        .test_connection()
        .await
        .unwrap_err(),
    ];
    for e in errors {
        let text = e.to_string();
        assert!(
            !text.contains("MARKER") && !text.contains(&folder) && !text.contains("/tmp"),
            "{text}"
        );
    }
}

struct Sftp {
    port: u16,
    user: String,
    password: String,
    key: String,
    fingerprint: String,
    home: PathBuf,
}

fn sftp_server() -> Option<Sftp> {
    let v = need(
        &[
            "PIPEWRIGHT_TEST_SSH_PORT",
            "PIPEWRIGHT_TEST_SSH_USER",
            "PIPEWRIGHT_TEST_SSH_PASSWORD",
            "PIPEWRIGHT_TEST_SSH_KEY",
            "PIPEWRIGHT_TEST_SSH_FINGERPRINT",
            "PIPEWRIGHT_TEST_SSH_HOME",
        ],
        "SSH/SFTP test server (scripts/ssh-server)",
    )?;
    Some(Sftp {
        port: v[0].parse().unwrap(),
        user: v[1].clone(),
        password: v[2].clone(),
        key: std::fs::read_to_string(&v[3]).unwrap(),
        fingerprint: v[4].clone(),
        home: PathBuf::from(&v[5]),
    })
}

/// A folder in the SFTP user's home, removed on drop.
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0).or_else(|_| std::fs::remove_file(&self.0));
    }
}

fn sftp_folder(s: &Sftp, name: &str) -> (Folder, String) {
    let rel = format!("pw-{name}-{}", std::process::id());
    let dir = s.home.join(&rel);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    (Folder(dir), rel)
}

fn sftp_store(
    s: &Sftp,
    port: u16,
    root: &str,
    secrets: &[(&str, &str)],
    pin: Option<&str>,
) -> Arc<dyn FileStore> {
    let mut fields = json!({"host": "127.0.0.1", "port": port, "user": s.user, "path": root});
    if let Some(p) = pin {
        fields["host_key_fingerprint"] = json!(p);
    }
    open("sftp", fields, secrets)
}

#[tokio::test]
async fn sftp_with_password_and_key_pinned_host_and_each_failure() {
    let Some(s) = sftp_server() else {
        return;
    };
    let (folder, rel) = sftp_folder(&s, "files");
    seed(&folder.0);
    let by_password = sftp_store(
        &s,
        s.port,
        &rel,
        &[("password", &s.password)],
        Some(&s.fingerprint),
    );
    behaves(by_password.as_ref()).await;
    let by_key = sftp_store(
        &s,
        s.port,
        &rel,
        &[("private_key", &s.key)],
        Some(&s.fingerprint),
    );
    behaves(by_key.as_ref()).await;

    // A file the user may not read.
    let locked = folder.0.join("locked.csv");
    std::fs::write(&locked, "a,b\n1,2\n").unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let e = by_key.read_range("locked.csv", 0..4).await.unwrap_err();
    assert!(matches!(e, DriverError::PermissionDenied(_)), "{e:?}");

    let e = sftp_store(&s, s.port, &rel, &[("password", "not-the-password")], None)
        .test_connection()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("authentication failed"), "{e}");
    assert!(!e.to_string().contains("not-the-password"));
    let e = sftp_store(
        &s,
        s.port,
        &rel,
        &[("password", &s.password)],
        Some("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    )
    .test_connection()
    .await
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("does not match the pinned host_key_fingerprint"),
        "{e}"
    );
    let e = sftp_store(
        &s,
        s.port,
        "no-such-folder",
        &[("password", &s.password)],
        None,
    )
    .test_connection()
    .await
    .unwrap_err();
    assert!(matches!(e, DriverError::FileNotFound { .. }), "{e:?}");
}

/// A loopback TCP proxy that counts the bytes the server sends.
async fn counting_proxy(target: u16) -> (u16, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(AtomicU64::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut server = tokio::net::TcpStream::connect(("127.0.0.1", target))
                    .await
                    .unwrap();
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = server.split();
                let up = tokio::io::copy(&mut cr, &mut sw);
                let down = async {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = tokio::io::AsyncReadExt::read(&mut sr, &mut buf)
                            .await
                            .unwrap_or(0);
                        if n == 0 {
                            break;
                        }
                        counter.fetch_add(n as u64, Ordering::SeqCst);
                        if tokio::io::AsyncWriteExt::write_all(&mut cw, &buf[..n])
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                };
                let _ = tokio::join!(up, down);
            });
        }
    });
    (port, sent)
}

const PREFIX: u64 = 1 << 20;

#[tokio::test]
async fn s3_prefix_read_of_a_64_mib_object_is_one_range_request() {
    let Some(v) = need(
        &["PIPEWRIGHT_TEST_S3_ENDPOINT", "PIPEWRIGHT_TEST_BUCKET"],
        "S3 test server (moto)",
    ) else {
        return;
    };
    let port: u16 = v[0]
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let (proxy, sent) = counting_proxy(port).await;
    let store = s3(&format!("http://127.0.0.1:{proxy}"), &v[1]).unwrap();
    let big = store.head("big/sixty-four-mib.csv").await.unwrap();
    assert_eq!(big.size, 64 << 20);
    let before = sent.load(Ordering::SeqCst);
    let (bytes, more) = files::read_prefix(store.as_ref(), &big, PREFIX)
        .await
        .unwrap();
    let wire = sent.load(Ordering::SeqCst) - before;
    eprintln!("S3: {wire} bytes on the wire for a {PREFIX}-byte prefix of a 64 MiB object");
    assert_eq!((bytes.len() as u64, more), (PREFIX, true));
    assert!(
        (PREFIX..PREFIX + 16 * 1024).contains(&wire),
        "the server sent {wire} bytes for a {PREFIX}-byte prefix"
    );
    let d = discovery::sniff(&bytes, more, &Default::default()).unwrap();
    assert_eq!(d.column_names, ["id", "value"]);
}

/// 2 GiB: real CSV for the first 2 MiB, then a sparse tail (no disk, never read).
fn two_gib_csv(path: &Path) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "id,amount,placed_at").unwrap();
    let mut written = 0usize;
    let mut i = 0u64;
    while written < 2 << 20 {
        let line = format!(
            "{i},{}.{:02},2024-01-{:02}\n",
            i * 7 % 1000,
            i % 100,
            i % 28 + 1
        );
        written += line.len();
        f.write_all(line.as_bytes()).unwrap();
        i += 1;
    }
    f.into_inner().unwrap().set_len(2 << 30).unwrap();
}

#[tokio::test]
async fn http_discovery_of_a_2_gib_object_is_one_range_request() {
    let Some(v) = need(
        &["PIPEWRIGHT_TEST_HTTP_URL", "PIPEWRIGHT_TEST_HTTP_ROOT"],
        "HTTP/WebDAV test server (WsgiDAV)",
    ) else {
        return;
    };
    let name = format!("two-gib-{}.csv", std::process::id());
    let path = Path::new(&v[1]).join(&name);
    two_gib_csv(&path);
    let _cleanup = Folder(path.clone());
    let port: u16 = v[0].rsplit(':').next().unwrap().parse().unwrap();
    let (proxy, sent) = counting_proxy(port).await;
    let store = open(
        "http",
        json!({"url": format!("http://127.0.0.1:{proxy}")}),
        &[],
    );
    let before = sent.load(Ordering::SeqCst);
    let file = files::resolve(store.as_ref(), &name).await.unwrap().file;
    assert_eq!(file.size, 2 << 30);
    let (bytes, more) = files::read_prefix(store.as_ref(), &file, PREFIX)
        .await
        .unwrap();
    let wire = sent.load(Ordering::SeqCst) - before;
    eprintln!("HTTP: {wire} bytes on the wire for a {PREFIX}-byte prefix of a 2 GiB object (HEAD + range GET)");
    assert_eq!((bytes.len() as u64, more), (PREFIX, true));
    assert!(
        wire < PREFIX + 16 * 1024,
        "the server sent {wire} bytes for a {PREFIX}-byte prefix of a 2 GiB object"
    );
    let d = discovery::sniff(&bytes, more, &Default::default()).unwrap();
    assert_eq!(d.column_names, ["id", "amount", "placed_at"]);
}

#[tokio::test]
async fn sftp_discovery_of_a_2_gib_file_reads_at_most_the_prefix() {
    let Some(s) = sftp_server() else {
        return;
    };
    let (folder, rel) = sftp_folder(&s, "big");
    let path = folder.0.join("two-gib.csv");
    two_gib_csv(&path);
    let (proxy, sent) = counting_proxy(s.port).await;
    let store = sftp_store(
        &s,
        proxy,
        &rel,
        &[("private_key", &s.key)],
        Some(&s.fingerprint),
    );
    store.test_connection().await.unwrap();
    let before = sent.load(Ordering::SeqCst);
    let file = files::resolve(store.as_ref(), "*.csv").await.unwrap().file;
    assert_eq!(file.size, 2 << 30);
    let (bytes, more) = files::read_prefix(store.as_ref(), &file, PREFIX)
        .await
        .unwrap();
    let wire = sent.load(Ordering::SeqCst) - before;
    eprintln!("SFTP: {wire} bytes on the wire for a {PREFIX}-byte prefix of a 2 GiB file");
    assert_eq!((bytes.len() as u64, more), (PREFIX, true));
    // SSH adds packet framing and MACs; reading the file would be 2048 times more.
    assert!(
        wire < PREFIX + 128 * 1024,
        "the server sent {wire} bytes for a {PREFIX}-byte prefix of a 2 GiB file"
    );
    let d = discovery::sniff(&bytes, more, &Default::default()).unwrap();
    assert_eq!(d.column_names, ["id", "amount", "placed_at"]);
    let types: Vec<&str> = d.fields.iter().map(|f| f.inferred.kind.as_str()).collect();
    assert_eq!(types, ["integer", "decimal", "date"]);
}
