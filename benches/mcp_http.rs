//! `tools/call list_workspaces` over Streamable HTTP against the real release binary, beside
//! a bare axum JSON handler serving the same response bytes, measured in the same run at
//! 1, 16 and 64 concurrent clients. Prints calls/s, p50 and p99 for both and their ratios,
//! and the server's resident memory when idle.
//!
//!   cargo bench --bench mcp_http            (or scripts/bench)
//!   PW_BENCH_SECONDS=5 cargo bench --bench mcp_http
//!
//! The baseline runs as a separate process (this benchmark re-executed with
//! PW_BENCH_ROLE=baseline), so both servers share the two cores with the load generator
//! in the same way.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_pipewright");
const LEVELS: [usize; 3] = [1, 16, 64];

fn main() {
    if std::env::var("PW_BENCH_ROLE").as_deref() == Ok("baseline") {
        baseline_server();
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let seconds: f64 = std::env::var("PW_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(Duration::from_secs_f64(seconds)));
}

struct Proc {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let (tx, lines) = std::sync::mpsc::channel();
        for s in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for l in BufReader::new(s).lines().map_while(Result::ok) {
                    let _ = tx.send(l);
                }
            });
        }
        Proc { child, lines }
    }

    fn wait_line(&self, pred: impl Fn(&str) -> bool) -> String {
        loop {
            let l = self
                .lines
                .recv_timeout(Duration::from_secs(120))
                .expect("process output");
            if pred(&l) {
                return l;
            }
        }
    }

    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }
}

async fn run(dur: Duration) {
    let data = tempfile::tempdir().unwrap();
    let server = Proc::spawn(
        Command::new(BIN)
            .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data.path())
            .env("PIPEWRIGHT_LOG", "warn"),
    );
    let base = server
        .wait_line(|l| l.starts_with("pipewright listening on "))
        .trim_start_matches("pipewright listening on ")
        .trim()
        .to_string();
    let token = server
        .wait_line(|l| l.trim_start().starts_with("pwt_"))
        .trim()
        .to_string();
    let url = format!("{base}/demo/api/mcp");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();

    // The exact response body the MCP server gives, for the baseline to serve.
    let probe = McpClient::open(&http, &url, &token).await;
    let sample = probe.call_raw().await;
    assert!(
        sample.contains("\"workspaces\""),
        "unexpected body: {sample}"
    );
    let idle_rss = server.rss_kib();

    let sample_file = data.path().join("baseline-body");
    std::fs::write(&sample_file, &sample).unwrap();
    let baseline = Proc::spawn(
        Command::new(std::env::current_exe().unwrap())
            .env("PW_BENCH_ROLE", "baseline")
            .env("PW_BENCH_BODY", &sample_file),
    );
    let baseline_url = baseline
        .wait_line(|l| l.starts_with("baseline listening on "))
        .trim_start_matches("baseline listening on ")
        .trim()
        .to_string();

    println!(
        "tools/call list_workspaces over Streamable HTTP (session, SSE response), {} s per level, {} cores",
        dur.as_secs_f64(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("response body {} bytes; baseline: bare axum handler parsing the JSON-RPC request and returning the same bytes", sample.len());
    println!();
    println!(
        "{:>7} | {:>12} {:>9} {:>9} | {:>12} {:>9} {:>9} | {:>12} {:>9} {:>9} | {:>10} {:>9} {:>9}",
        "clients",
        "ping/s",
        "p50 ms",
        "p99 ms",
        "mcp calls/s",
        "p50 ms",
        "p99 ms",
        "base req/s",
        "p50 ms",
        "p99 ms",
        "thrpt x",
        "p50 x",
        "p99 x"
    );
    for n in LEVELS {
        let mut clients = Vec::new();
        for _ in 0..n {
            clients.push(Arc::new(McpClient::open(&http, &url, &token).await));
        }
        // Warm up, then measure.
        let _ = load(&clients, Duration::from_millis(300), |c| async move {
            c.call().await
        })
        .await;
        let mcp = load(&clients, dur, |c| async move { c.call().await }).await;
        let ping = load(&clients, dur, |c| async move { c.ping().await }).await;

        let bases: Vec<_> = (0..n)
            .map(|_| {
                Arc::new(Baseline {
                    http: http.clone(),
                    url: baseline_url.clone(),
                })
            })
            .collect();
        let _ = load(&bases, Duration::from_millis(300), |b| async move {
            b.call().await
        })
        .await;
        let base = load(&bases, dur, |b| async move { b.call().await }).await;

        println!(
            "{:>7} | {:>12.0} {:>9.3} {:>9.3} | {:>12.0} {:>9.3} {:>9.3} | {:>12.0} {:>9.3} {:>9.3} | {:>10.2} {:>9.2} {:>9.2}",
            n,
            ping.rate,
            ping.p50,
            ping.p99,
            mcp.rate,
            mcp.p50,
            mcp.p99,
            base.rate,
            base.p50,
            base.p99,
            base.rate / mcp.rate,
            mcp.p50 / base.p50,
            mcp.p99 / base.p99,
        );
    }
    println!();
    println!(
        "(ping = MCP `ping` on the same sessions: auth, session and SSE without a tool; thrpt x = baseline calls/s / MCP calls/s; p50 x, p99 x = MCP tools/call latency / baseline latency)"
    );
    println!(
        "server RSS: idle after start and demo seeding {:.1} MiB; after the load {:.1} MiB; baseline process {:.1} MiB",
        idle_rss as f64 / 1024.0,
        server.rss_kib() as f64 / 1024.0,
        baseline.rss_kib() as f64 / 1024.0
    );
}

struct Stats {
    rate: f64,
    p50: f64,
    p99: f64,
}

/// Runs every client in a loop for `dur`; returns throughput and latency percentiles.
async fn load<C, F, Fut>(clients: &[Arc<C>], dur: Duration, f: F) -> Stats
where
    C: Send + Sync + 'static,
    F: Fn(Arc<C>) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in clients {
        let c = c.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(4096);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                f(c.clone()).await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    tokio::time::sleep(dur).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Stats {
        rate: all.len() as f64 / elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

struct McpClient {
    http: reqwest::Client,
    url: String,
    auth: String,
    session: String,
}

impl McpClient {
    async fn open(http: &reqwest::Client, url: &str, token: &str) -> McpClient {
        let auth = format!("Bearer {token}");
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{
            "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}});
        let r = http
            .post(url)
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(init.to_string())
            .send()
            .await
            .expect("initialize");
        let session = r
            .headers()
            .get("mcp-session-id")
            .expect("session id")
            .to_str()
            .unwrap()
            .to_string();
        let _ = r.text().await;
        let c = McpClient {
            http: http.clone(),
            url: url.into(),
            auth,
            session,
        };
        let r = c
            .post(json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .await;
        assert_eq!(r.status().as_u16(), 202);
        c
    }

    async fn post(&self, msg: Value) -> reqwest::Response {
        self.http
            .post(&self.url)
            .header("authorization", &self.auth)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", "2025-11-25")
            .body(msg.to_string())
            .send()
            .await
            .expect("request")
    }

    async fn call_raw(&self) -> String {
        let r = self
            .post(json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
                "params":{"name":"list_workspaces","arguments":{}}}))
            .await;
        assert!(r.status().is_success(), "HTTP {}", r.status());
        r.text().await.unwrap()
    }

    async fn call(self: Arc<Self>) {
        let body = self.call_raw().await;
        debug_assert!(body.contains("\"isError\":false"));
    }

    /// `ping`: the same auth, session and SSE path with no tool behind it.
    async fn ping(self: Arc<Self>) {
        let r = self
            .post(json!({"jsonrpc":"2.0","id":2,"method":"ping"}))
            .await;
        assert!(r.status().is_success(), "HTTP {}", r.status());
        let _ = r.bytes().await.unwrap();
    }
}

struct Baseline {
    http: reqwest::Client,
    url: String,
}

impl Baseline {
    async fn call(self: Arc<Self>) {
        let r = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .body(
                json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
                "params":{"name":"list_workspaces","arguments":{}}})
                .to_string(),
            )
            .send()
            .await
            .expect("baseline request");
        assert!(r.status().is_success());
        let _ = r.bytes().await.unwrap();
    }
}

/// The baseline: a bare axum handler that parses the JSON-RPC request and returns the
/// MCP server's own response bytes.
fn baseline_server() {
    let body: Arc<str> = std::fs::read_to_string(std::env::var("PW_BENCH_BODY").unwrap())
        .unwrap()
        .into();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            let app = axum::Router::new().route(
                "/",
                axum::routing::post(move |axum::Json(req): axum::Json<Value>| {
                    let body = body.clone();
                    async move {
                        assert!(req.get("method").is_some());
                        (
                            [(http::header::CONTENT_TYPE, "text/event-stream")],
                            body.to_string(),
                        )
                    }
                }),
            );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            println!("baseline listening on http://{}/", l.local_addr().unwrap());
            use axum::serve::ListenerExt;
            let l = l.tap_io(|t| {
                let _ = t.set_nodelay(true);
            });
            axum::serve(l, app).await.unwrap();
        });
}
