//! `discover_file_schema` end to end through the MCP HTTP endpoint of the release binary,
//! on S3 (moto) and SFTP (OpenSSH sshd), beside CleverCSV and DuckDB sniffing the same
//! 1 MiB prefix locally in the same run (their time excludes fetching the bytes, so the
//! comparison flatters them), and beside our own sniff alone.
//!
//!   scripts/bench   (starts the servers; or source scripts/file-servers' and
//!                    scripts/ssh-server's env.sh, then `cargo bench --bench file_discovery`)

mod support;

use std::{path::Path, process::Command, time::Instant};

use serde_json::{json, Value};
use support::{add_connection, bench_account, percentile, McpServer};

const ITERATIONS: usize = 200;

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| {
        panic!("{k} is not set: run scripts/bench, which starts the S3 and SFTP test servers")
    })
}

/// A 4 MiB orders file: quoted fields, timestamps, decimals, booleans.
fn orders() -> Vec<u8> {
    let mut s = String::from("order_id,customer,placed_at,total,paid,note\n");
    let mut i = 0u64;
    while s.len() < 4 << 20 {
        i += 1;
        s.push_str(&format!(
            "{i},Customer {},2024-{:02}-{:02}T{:02}:{:02}:00Z,{}.{:02},{},\"note, number {i}\"\n",
            i * 7 % 5000,
            i % 12 + 1,
            i % 28 + 1,
            i % 24,
            i % 60,
            i * 13 % 9999,
            i % 100,
            i.is_multiple_of(2)
        ));
    }
    s.into_bytes()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}

async fn run() {
    let (s3_endpoint, bucket) = (
        env("PIPEWRIGHT_TEST_S3_ENDPOINT"),
        env("PIPEWRIGHT_TEST_BUCKET"),
    );
    let (key_id, secret) = (
        env("PIPEWRIGHT_TEST_S3_ACCESS_KEY_ID"),
        env("PIPEWRIGHT_TEST_S3_SECRET_ACCESS_KEY"),
    );
    let (ssh_port, ssh_user, ssh_key, ssh_pin, ssh_home) = (
        env("PIPEWRIGHT_TEST_SSH_PORT"),
        env("PIPEWRIGHT_TEST_SSH_USER"),
        env("PIPEWRIGHT_TEST_SSH_KEY"),
        env("PIPEWRIGHT_TEST_SSH_FINGERPRINT"),
        env("PIPEWRIGHT_TEST_SSH_HOME"),
    );
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let file = orders();

    // ---- the same file on S3 and on SFTP
    let mut fields = serde_json::Map::new();
    fields.insert("bucket".into(), json!(bucket));
    fields.insert("endpoint".into(), json!(s3_endpoint));
    let secrets = [
        ("access_key_id".to_string(), key_id.clone()),
        ("secret_access_key".to_string(), secret.clone()),
    ]
    .into_iter()
    .collect();
    let s3 = connectors::files::open(
        connectors::files::FileConfig::from_fields("s3", &fields, secrets, None).unwrap(),
    )
    .unwrap();
    s3.put("bench/orders.csv", file.clone()).await.unwrap();
    let sftp_dir = Path::new(&ssh_home).join(format!("pw-bench-{}", std::process::id()));
    std::fs::create_dir_all(&sftp_dir).unwrap();
    std::fs::write(sftp_dir.join("orders.csv"), &file).unwrap();
    let prefix_file = d.join("prefix.csv");
    std::fs::write(&prefix_file, &file[..1 << 20]).unwrap();

    // ---- account, token, connections (secrets from files, as an admin would)
    let token = bench_account(d);
    std::fs::write(d.join("id"), &key_id).unwrap();
    std::fs::write(d.join("secret"), &secret).unwrap();
    let s3_id = add_connection(
        d,
        "lake",
        "s3",
        &[
            "--set",
            &format!("bucket={bucket}"),
            "--set",
            &format!("endpoint={s3_endpoint}"),
            "--secret-file",
            &format!("access_key_id={}", d.join("id").display()),
            "--secret-file",
            &format!("secret_access_key={}", d.join("secret").display()),
        ],
    );
    let sftp_id = add_connection(
        d,
        "drop",
        "sftp",
        &[
            "--set",
            "host=127.0.0.1",
            "--set",
            &format!("port={ssh_port}"),
            "--set",
            &format!("user={ssh_user}"),
            "--set",
            &format!("path={}", sftp_dir.display()),
            "--set",
            &format!("host_key_fingerprint={ssh_pin}"),
            "--secret-file",
            &format!("private_key={ssh_key}"),
        ],
    );

    let server = McpServer::start(d, "bench", &token).await;
    let call = |args: Value| server.call("discover_file_schema", args);

    let mut rows = Vec::new();
    for (label, id, path) in [
        ("S3 (moto), 4 MiB object", s3_id, "bench/orders.csv"),
        ("SFTP (OpenSSH), 4 MiB file", sftp_id, "orders.csv"),
        (
            "SFTP, glob picking the newest of the folder",
            sftp_id,
            "*.csv",
        ),
    ] {
        let args = json!({"connection_id": id, "path": path});
        for _ in 0..10 {
            call(args.clone()).await;
        }
        let mut t = Vec::with_capacity(ITERATIONS);
        for _ in 0..ITERATIONS {
            let start = Instant::now();
            call(args.clone()).await;
            t.push(start.elapsed());
        }
        t.sort();
        rows.push((label, percentile(&t, 0.5), percentile(&t, 0.95)));
    }

    // ---- baselines on the same 1 MiB prefix, same run
    let mut ours = Vec::new();
    for _ in 0..30 {
        let start = Instant::now();
        discovery::sniff(&file[..1 << 20], true, &Default::default()).unwrap();
        ours.push(start.elapsed());
    }
    ours.sort();
    let sniff_alone = percentile(&ours, 0.5);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/score-sniffers");
    let out = Command::new(script)
        .arg("--time")
        .arg(&prefix_file)
        .arg("--runs")
        .arg("3")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let clever = v["clevercsv_ms"].as_f64().unwrap();
    let duck = v["duckdb_ms"].as_f64().unwrap();
    let _ = std::fs::remove_dir_all(&sftp_dir);

    println!("discover_file_schema via MCP HTTP, default 1 MiB prefix, {ITERATIONS} sequential calls each, loopback, 2 cores\n");
    println!(
        "{:<50} {:>9} {:>9} {:>12} {:>11}",
        "", "p50 ms", "p95 ms", "CleverCSV/x", "DuckDB/x"
    );
    for (label, p50, p95) in rows {
        println!(
            "{label:<50} {p50:>9.2} {p95:>9.2} {:>12.1} {:>11.2}",
            clever / p50,
            duck / p50
        );
    }
    println!("\nsame 1 MiB prefix, sniff only (no fetch, no protocol):");
    println!(
        "  ours {sniff_alone:.2} ms   CleverCSV {clever:.1} ms   DuckDB sniff_csv {duck:.1} ms"
    );
    println!("(x = their sniff-only median / our end-to-end p50; above 1 we are faster. Goals: p50 <= 50 ms, >= 10x vs CleverCSV.)");
}
