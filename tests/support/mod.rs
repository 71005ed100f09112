//! Shared fixtures for the end-to-end tests: a real `pipewright` process on a free port
//! with its own data directory, the CLI, and a small MCP-over-HTTP client.
#![allow(dead_code)]

pub mod databases;

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_pipewright");

fn cli_output(data_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .expect("run pipewright")
}

/// Runs a CLI subcommand against `data_dir`; returns stdout, panics with stderr on failure.
pub fn cli(data_dir: &Path, args: &[&str]) -> String {
    let out = cli_output(data_dir, args);
    assert!(
        out.status.success(),
        "pipewright {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 stdout")
}

/// Runs a CLI subcommand expected to fail; returns stderr.
pub fn cli_err(data_dir: &Path, args: &[&str]) -> String {
    let out = cli_output(data_dir, args);
    assert!(
        !out.status.success(),
        "pipewright {args:?} unexpectedly succeeded"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub struct Server {
    pub child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    _tmp: Option<tempfile::TempDir>,
    /// Every line the server wrote to stdout and stderr, for leak checks.
    pub output: Arc<Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Options<'a> {
    pub demo: bool,
    pub extra_args: &'a [&'a str],
    pub env: &'a [(&'a str, &'a str)],
    pub data_dir: Option<PathBuf>,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self {
            demo: true,
            extra_args: &[],
            env: &[],
            data_dir: None,
        }
    }
}

impl Server {
    pub fn start() -> Server {
        Self::start_with(Options::default())
    }

    /// Starts the binary on port 0 and waits (with a deadline) for its "listening" line.
    pub fn start_with(o: Options) -> Server {
        let (tmp, data_dir) = match o.data_dir {
            Some(d) => (None, d),
            None => {
                let t = tempfile::tempdir().expect("tempdir");
                let d = t.path().to_path_buf();
                (Some(t), d)
            }
        };
        let mut cmd = Command::new(BIN);
        cmd.arg("serve")
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data_dir);
        if o.demo {
            cmd.arg("--demo");
        }
        cmd.args(o.extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        for (k, v) in o.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start pipewright");
        let output = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let out = output.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    out.lock().unwrap().push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("pipewright listening on ") {
                        break addr.trim().to_string();
                    }
                }
                Err(_) => panic!(
                    "server did not start; output: {:#?}",
                    output.lock().unwrap()
                ),
            }
        };
        let mut s = Server {
            child,
            base,
            data_dir,
            _tmp: tmp,
            output,
        };
        if o.demo {
            // The demo prints its connection help after "listening"; wait for the token line.
            s.wait_for_line(|l| l.trim_start().starts_with("pwt_"));
        }
        s
    }

    pub fn wait_for_line(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(l) = self.output.lock().unwrap().iter().find(|l| pred(l)) {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "line not seen; output: {:#?}",
                self.output.lock().unwrap()
            );
            std::thread::yield_now();
        }
    }

    /// The token `serve --demo` printed.
    pub fn demo_token(&mut self) -> String {
        self.wait_for_line(|l| l.trim_start().starts_with("pwt_"))
            .trim()
            .to_string()
    }

    pub fn url(&self, account: &str) -> String {
        format!("{}/{account}/api/mcp", self.base)
    }

    /// Sets a user's sign-in password with the CLI, giving it on stdin as an admin would;
    /// the CLI never prints it back.
    pub fn set_password(&self, email: &str, password: &str) {
        use std::io::Write;
        let mut child = Command::new(BIN)
            .args(["user", "passwd", "--email", email, "--data-dir"])
            .arg(&self.data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run pipewright user passwd");
        writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write the password");
        let out = child.wait_with_output().expect("pipewright user passwd");
        assert!(
            out.status.success(),
            "pipewright user passwd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains(password));
    }

    /// Every OAuth access token expires now (as an hour passing would), set in the SQLite
    /// store the way an operator could, with Python's sqlite3.
    pub fn expire_oauth_tokens(&self) {
        let ok = Command::new("python3")
            .arg("-c")
            .arg("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"UPDATE tokens SET expires_at = 1 WHERE kind = 'oauth'\"); c.commit()")
            .arg(self.data_dir.join("pipewright.db"))
            .status()
            .expect("run python3");
        assert!(ok.success(), "could not expire the OAuth tokens");
    }

    pub fn token(&self, args: &[&str]) -> String {
        let mut a = vec!["token", "create"];
        a.extend_from_slice(args);
        cli(&self.data_dir, &a).trim().to_string()
    }

    pub fn logs(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }
}

/// A minimal Streamable HTTP MCP client session (initialize, then requests).
pub struct Session {
    http: reqwest::Client,
    pub url: String,
    token: String,
    session_id: Option<String>,
    next_id: i64,
}

pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl RawResponse {
    /// The JSON-RPC message in the body, whether sent as JSON or as SSE `data:` lines.
    pub fn message(&self) -> Value {
        if let Ok(v) = serde_json::from_str::<Value>(&self.body) {
            return v;
        }
        self.body
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
            .find(|v| v.get("id").is_some())
            .unwrap_or_else(|| panic!("no JSON-RPC message in body: {}", self.body))
    }
}

pub async fn post(
    url: &str,
    token: Option<&str>,
    body: &str,
    extra: &[(&str, &str)],
) -> RawResponse {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    RawResponse {
        status,
        headers,
        body: resp.text().await.unwrap_or_default(),
    }
}

pub const INIT: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e-test","version":"1"}}}"#;

impl Session {
    pub async fn open(url: &str, token: &str) -> Session {
        let mut s = Session {
            http: reqwest::Client::new(),
            url: url.into(),
            token: token.into(),
            session_id: None,
            next_id: 1,
        };
        let r = post(url, Some(token), INIT, &[]).await;
        assert_eq!(r.status, 200, "initialize failed: {}", r.body);
        s.session_id = r
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let n = s
            .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert_eq!(n.status, 202);
        s
    }

    /// One request with a fixed id, without touching the session's state.
    pub async fn request_raw(&self, method: &str) -> RawResponse {
        self.send(&json!({"jsonrpc": "2.0", "id": 999_999, "method": method, "params": {}}))
            .await
    }

    /// The `Mcp-Session-Id` the server gave this session.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    pub async fn send(&self, msg: &Value) -> RawResponse {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("authorization", format!("Bearer {}", self.token))
            .header("mcp-protocol-version", "2025-11-25")
            .body(msg.to_string());
        if let Some(id) = &self.session_id {
            req = req.header("mcp-session-id", id);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        RawResponse {
            status,
            headers,
            body: resp.text().await.unwrap_or_default(),
        }
    }

    pub async fn request(&mut self, method: &str, params: Value) -> RawResponse {
        self.next_id += 1;
        self.send(
            &json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}),
        )
        .await
    }

    /// `tools/call`; returns the `result` object (with `isError` and `structuredContent`).
    pub async fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self
            .request("tools/call", json!({"name": tool, "arguments": args}))
            .await;
        assert_eq!(
            r.status, 200,
            "tools/call {tool} HTTP {}: {}",
            r.status, r.body
        );
        let m = r.message();
        m.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("tools/call {tool} returned no result: {m}"))
    }

    /// `tools/call` that must succeed; returns `structuredContent`.
    pub async fn ok(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args.clone()).await;
        assert_eq!(r["isError"], json!(false), "{tool}({args}) failed: {r}");
        r["structuredContent"].clone()
    }

    /// `tools/call` that must fail; returns the `error` object from its JSON text block
    /// (error results carry no `structuredContent`).
    pub async fn err(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args.clone()).await;
        assert_eq!(
            r["isError"],
            json!(true),
            "{tool}({args}) should have failed: {r}"
        );
        assert!(
            r.get("structuredContent").is_none(),
            "error results must not carry structuredContent: {r}"
        );
        let text = r["content"][0]["text"].as_str().expect("error text block");
        let v: Value = serde_json::from_str(text).expect("error text is JSON");
        v["error"].clone()
    }

    pub async fn tool_names(&mut self) -> Vec<String> {
        let m = self.request("tools/list", json!({})).await.message();
        m["result"]["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The account-inventory tools every server offers.
pub const INVENTORY_TOOLS: [&str; 7] = [
    "list_workspaces",
    "list_packages",
    "get_package",
    "list_connections",
    "get_connection",
    "list_clusters",
    "search_all",
];

/// Asserts that a `tools` array (as any client reports it) names every inventory tool.
pub fn assert_inventory_listed(tools: &Value, how: &str) {
    let names: Vec<&str> = tools
        .as_array()
        .unwrap_or_else(|| panic!("{how}: no tools array: {tools}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for n in INVENTORY_TOOLS {
        assert!(names.contains(&n), "{how}: {n} not in {names:?}");
    }
}

/// A FIFO (named pipe) at `path`, its folder made first: a file no reader should wait on.
pub fn mkfifo(path: &Path) {
    std::fs::create_dir_all(path.parent().expect("a parent folder")).expect("mkdir");
    let made = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo {}", path.display());
}

/// Whether a test that needs outside services must fail (CI) rather than skip.
pub fn services_required() -> bool {
    std::env::var("PIPEWRIGHT_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// The binary with the demo account, and an MCP session on it.
pub async fn demo() -> (Server, Session) {
    let mut s = Server::start();
    let token = s.demo_token();
    let c = Session::open(&s.url("demo"), &token).await;
    (s, c)
}

/// The id of the connection called `name` (list_connections).
pub async fn connection_id(c: &mut Session, name: &str) -> i64 {
    let list = c.ok("list_connections", json!({"limit": 100})).await;
    list["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == json!(name))
        .unwrap_or_else(|| panic!("no connection {name}: {list}"))["id"]
        .as_i64()
        .unwrap()
}

/// Twenty clients edit one package at once with mixed tools (variables, new components,
/// renames, component updates); half pass the version they read first. Asserts no
/// accepted change is lost, one version per accepted change, one audit event each, and
/// that refusals are reported as conflicts. The package must have a component `big`.
pub async fn twenty_concurrent_editors(url: &str, token: &str, package_id: i64) {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (url, token) = (url.to_string(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let mut c = Session::open(&url, &token).await;
            let (tool, mut args) = match i % 4 {
                0 => ("manage_package_variables", json!({"package_id": package_id, "set": {format!("v{i}"): i}})),
                1 => ("add_package_components", json!({"package_id": package_id,
                      "components": [{"limit_component": {"name": format!("lim{i}"), "count": i + 1}}]})),
                2 => ("rename_package", json!({"package_id": package_id, "name": format!("renamed by {i}")})),
                _ => ("update_package_components", json!({"package_id": package_id,
                      "updates": [{"component_name": "big", "updates": {"predicate": format!("total > {i}")}}]})),
            };
            if i % 2 == 0 {
                let seen = c.ok("get_package", json!({"package_id": package_id})).await["version"].clone();
                args["expected_version"] = seen;
            }
            let r = c.call(tool, args).await;
            (i, r)
        }));
    }
    let mut accepted = Vec::new();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        if r["isError"] == json!(true) {
            let text = r["content"][0]["text"].as_str().unwrap();
            assert!(text.contains("\"conflict\""), "{i}: {text}");
            assert_eq!(
                i % 2,
                0,
                "a caller without expected_version was refused: {text}"
            );
        } else {
            assert_eq!(r["structuredContent"]["changed"], json!(true), "{r}");
            accepted.push(i);
        }
    }
    assert!(
        accepted.len() >= 10,
        "every caller without expected_version lands"
    );
    let mut c = Session::open(url, token).await;
    let p = c
        .ok(
            "get_package",
            json!({"package_id": package_id, "include_full_graph": true}),
        )
        .await;
    assert_eq!(
        p["version"],
        json!(1 + accepted.len() as i64),
        "one version per accepted change: {p}"
    );
    let graph = p["data_flow_json"].to_string();
    for i in &accepted {
        match i % 4 {
            0 => assert_eq!(p["variables"][format!("v{i}")], json!(i), "change {i} lost"),
            1 => assert!(
                graph.contains(&format!("\"lim{i}\"")),
                "component of {i} lost"
            ),
            _ => {}
        }
    }
    let versions = c
        .ok(
            "list_package_versions",
            json!({"package_id": package_id, "limit": 100}),
        )
        .await;
    assert_eq!(versions["total"], json!(1 + accepted.len() as i64));
    let events = c
        .ok(
            "list_audit_events",
            json!({"target_type": "package", "target_id": package_id, "limit": 100}),
        )
        .await;
    assert_eq!(
        events["total"],
        json!(1 + accepted.len() as i64),
        "one audit event per change"
    );
}
