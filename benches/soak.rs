//! Soak benchmark (not a test): what abandoned sessions and slow sockets cost the server.
//!
//! 1. RSS of the release server idle, after 10,000 MCP sessions are opened and abandoned
//!    (caps raised so all 10,000 are held at once, as in the probe), and after they have
//!    expired (idle expiry set to 2 s for the run). Goal: after ≤ 2× idle.
//! 2. p50/p99 of an honest client's `tools/call` alone, then while 500 slow sockets hold
//!    half-sent request heads. Goal: p99 under 50 ms.
//!
//! `cargo bench --bench soak` (or `scripts/bench`).

mod support;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use futures_util::{stream, StreamExt};
use serde_json::json;
use support::{bench_account, percentile, BIN};
use tokio::{io::AsyncWriteExt, net::TcpStream};

const SESSIONS: usize = 10_000;
const SLOW_SOCKETS: usize = 500;
const CALLS: usize = 300;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(data: &std::path::Path, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .env("PIPEWRIGHT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let l = lines.next().expect("server output").unwrap();
            if let Some(a) = l.strip_prefix("pipewright listening on ") {
                break a.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Server { child, base }
    }

    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: f64 = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap();
        kb / 1024.0
    }

    async fn gauge(&self, name: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"soak","version":"1"}}}"#;

async fn open_session(http: &reqwest::Client, url: &str, token: &str) -> Option<String> {
    let r = http
        .post(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INIT)
        .send()
        .await
        .ok()?;
    let id = r
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let _ = r.text().await;
    id
}

/// `CALLS` sequential `tools/call`s on one session: sorted latencies.
async fn honest_client(url: &str, token: &str) -> Vec<Duration> {
    let http = reqwest::Client::new();
    let session = open_session(&http, url, token).await.expect("a session");
    let mut times = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let started = Instant::now();
        let body = http
            .post(url)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .header("mcp-session-id", &session)
            .body(json!({"jsonrpc":"2.0","id":i+1,"method":"tools/call","params":{"name":"list_workspaces","arguments":{}}}).to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        times.push(started.elapsed());
        assert!(body.contains("\"isError\":false"), "{body}");
    }
    times.sort();
    times
}

#[tokio::main]
async fn main() {
    let data = tempfile::tempdir().unwrap();
    let token = bench_account(data.path());

    // ---- 0. the same flood against the default caps: what an attacker really gets ---
    {
        let s = Server::start(data.path(), &[("PIPEWRIGHT_SESSION_IDLE_SECS", "2")]);
        let url = format!("{}/bench/api/mcp", s.base);
        honest_client(&url, &token).await;
        let idle = s.rss_mib();
        let http = reqwest::Client::new();
        let opened = stream::iter(0..SESSIONS)
            .map(|_| open_session(&http, &url, &token))
            .buffer_unordered(32)
            .filter(|id| futures_util::future::ready(id.is_some()))
            .count()
            .await;
        let held = s.gauge("pipewright_mcp_sessions").await;
        let during = s.rss_mib();
        println!(
            "soak (default caps): {opened} of {SESSIONS} sessions opened through one token, {held} held; RSS idle {idle:.1} MiB, after the flood {during:.1} MiB ({:.2}× idle)",
            during / idle
        );
    }

    // ---- 1. sessions opened, abandoned, expired -----------------------------------
    let s = Server::start(
        data.path(),
        &[
            ("PIPEWRIGHT_SESSION_IDLE_SECS", "2"),
            ("PIPEWRIGHT_MAX_SESSIONS", "20000"),
            ("PIPEWRIGHT_MAX_SESSIONS_PER_TOKEN", "20000"),
        ],
    );
    let url = format!("{}/bench/api/mcp", s.base);
    // Warm up: one session and call, so "idle" includes the server's steady state.
    honest_client(&url, &token).await;
    let idle = s.rss_mib();
    let http = reqwest::Client::new();
    let started = Instant::now();
    let opened = stream::iter(0..SESSIONS)
        .map(|_| open_session(&http, &url, &token))
        .buffer_unordered(32)
        .filter(|id| futures_util::future::ready(id.is_some()))
        .count()
        .await;
    let open_s = started.elapsed().as_secs_f64();
    let held = s.gauge("pipewright_mcp_sessions").await;
    let during = s.rss_mib();
    let deadline = Instant::now() + Duration::from_secs(60);
    while s.gauge("pipewright_mcp_sessions").await > 0.0 {
        assert!(Instant::now() < deadline, "sessions did not expire");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Give the allocator a moment to hand pages back after the last close.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = s.rss_mib();
    println!(
        "soak: {opened} sessions opened in {open_s:.1} s ({:.0}/s), {held} held at once",
        opened as f64 / open_s
    );
    println!(
        "soak: RSS idle {idle:.1} MiB, with {opened} sessions {during:.1} MiB ({:.1}×), after expiry {after:.1} MiB ({:.2}× idle; goal ≤ 2×)",
        during / idle,
        after / idle
    );
    drop(s);

    // ---- 2. an honest client beside 500 slow sockets --------------------------------
    let s = Server::start(data.path(), &[("PIPEWRIGHT_HEADER_TIMEOUT_SECS", "120")]);
    let url = format!("{}/bench/api/mcp", s.base);
    let addr = s.base.trim_start_matches("http://").to_string();
    honest_client(&url, &token).await;
    let alone = honest_client(&url, &token).await;
    let mut slow = Vec::with_capacity(SLOW_SOCKETS);
    for _ in 0..SLOW_SOCKETS {
        let mut t = TcpStream::connect(&addr).await.unwrap();
        t.write_all(b"POST /bench/api/mcp HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(t);
    }
    let beside = honest_client(&url, &token).await;
    let rss_slow = s.rss_mib();
    println!(
        "soak: honest client alone p50 {:.2} ms p99 {:.2} ms; beside {SLOW_SOCKETS} slow sockets p50 {:.2} ms p99 {:.2} ms ({:.2}× alone; goal p99 < 50 ms); RSS {rss_slow:.1} MiB",
        percentile(&alone, 0.5),
        percentile(&alone, 0.99),
        percentile(&beside, 0.5),
        percentile(&beside, 0.99),
        percentile(&beside, 0.99) / percentile(&alone, 0.99),
    );
    drop(slow);
}
