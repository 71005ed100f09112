//! What the benchmarks share: the CLI, the release server on a free port with an MCP
//! session over Streamable HTTP, and percentiles.
#![allow(dead_code)]

use std::{
    io::{BufRead, BufReader},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_pipewright");

/// Runs a CLI subcommand against `data`; its trimmed stdout.
pub fn pipewright(data: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Creates the account `bench` in `data`; its token.
pub fn bench_account(data: &Path) -> String {
    pipewright(
        data,
        &[
            "account",
            "create",
            "--subdomain",
            "bench",
            "--owner",
            "bench@example.com",
        ],
    );
    pipewright(
        data,
        &["token", "create", "--account", "bench", "--name", "bench"],
    )
}

/// `connection add` on the `bench` account: `extra` holds the `--set` / `--secret-*` flags;
/// the new connection's id.
pub fn add_connection(data: &Path, name: &str, kind: &str, extra: &[&str]) -> i64 {
    let mut args = vec![
        "connection",
        "add",
        "--account",
        "bench",
        "--name",
        name,
        "--type",
        kind,
    ];
    args.extend_from_slice(extra);
    pipewright(data, &args).parse().unwrap()
}

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// `pipewright serve` on `data` with an initialised MCP session for `account`.
pub struct McpServer {
    child: Child,
    url: String,
    token: String,
    session: String,
    http: reqwest::Client,
}

impl Drop for McpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl McpServer {
    pub async fn start(data: &Path, account: &str, token: &str) -> McpServer {
        Self::start_with(data, account, token, &[]).await
    }

    /// As [`McpServer::start`], with more `serve` arguments (e.g. `--database-url`).
    pub async fn start_with(data: &Path, account: &str, token: &str, extra: &[&str]) -> McpServer {
        let mut child = Command::new(BIN)
            .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .args(extra)
            .env("PIPEWRIGHT_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let base = loop {
            let l = lines.next().expect("server output").unwrap();
            if let Some(a) = l.strip_prefix("pipewright listening on ") {
                break a.trim().to_string();
            }
        };
        // Keep reading the server's log (warnings and errors) so it never blocks on a full
        // pipe, and so a failure shows why.
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                eprintln!("server: {l}");
            }
        });
        let mut s = McpServer {
            child,
            url: format!("{base}/{account}/api/mcp"),
            token: token.to_string(),
            session: String::new(),
            http: reqwest::Client::new(),
        };
        let init = s
            .post(json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}))
            .await;
        s.session = init.headers()["mcp-session-id"]
            .to_str()
            .unwrap()
            .to_string();
        let _ = init.text().await;
        s.post(json!({"jsonrpc":"2.0","method":"notifications/initialized"}))
            .await;
        s
    }

    async fn post(&self, body: Value) -> reqwest::Response {
        let mut r = self
            .http
            .post(&self.url)
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.to_string());
        if !self.session.is_empty() {
            r = r.header("mcp-session-id", &self.session);
        }
        r.send().await.unwrap()
    }

    /// `tools/call` that must succeed; its `structuredContent`.
    pub async fn ok(&self, name: &str, args: Value) -> Value {
        let body = self.call(name, args).await;
        let msg = body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .chain(std::iter::once(body.as_str()))
            .find_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .unwrap_or_else(|| panic!("{name}: no JSON in {body}"));
        msg["result"]["structuredContent"].clone()
    }

    /// `tools/call` that must succeed; the raw response body.
    pub async fn call(&self, name: &str, args: Value) -> String {
        let body = self
            .post(json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":name,"arguments":args}}))
            .await
            .text()
            .await
            .unwrap();
        assert!(body.contains("\"isError\":false"), "{name}: {body}");
        body
    }
}

/// The PostgreSQL server the benchmarks use (`PIPEWRIGHT_TEST_POSTGRES_URL`, default the
/// machine's own).
pub fn pg_admin_url() -> String {
    std::env::var("PIPEWRIGHT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The URL of database `db` on that server.
pub fn pg_db_url(db: &str) -> String {
    format!("{}/{db}", pg_admin_url().rsplit_once('/').unwrap().0)
}

pub async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
    tokio::spawn(conn);
    c
}

/// Runs a benchmark's body on two worker threads (like the server's machine); nothing
/// when cargo only lists benchmarks.
pub fn run_bench<F: std::future::Future>(body: impl FnOnce() -> F) {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(body());
}

/// Creates one PostgreSQL database per name (suffixed with this process id), runs `body`
/// with their names in a task of its own, and drops them afterwards, even if it panicked.
pub async fn with_pg_databases<F, Fut>(names: &[&str], body: F)
where
    F: FnOnce(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let admin = pg_connect(&pg_admin_url()).await;
    let dbs: Vec<String> = names
        .iter()
        .map(|n| format!("pw_bench_{n}_{}", std::process::id()))
        .collect();
    for db in &dbs {
        admin
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await
            .unwrap();
    }
    let outcome = tokio::spawn(body(dbs.clone())).await;
    for db in &dbs {
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
            .await;
    }
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
