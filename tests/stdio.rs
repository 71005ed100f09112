//! `pipewright stdio`: the same tools over stdin/stdout, token from the environment.

mod support;

use std::{
    io::{BufRead, BufReader, Write},
    process::{Command, Stdio},
    sync::mpsc,
    time::Duration,
};

use serde_json::{json, Value};
use support::{cli, Server, BIN};

struct StdioClient {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl StdioClient {
    fn start(data_dir: &std::path::Path, token: &str) -> StdioClient {
        let mut child = Command::new(BIN)
            .args(["stdio", "--account", "demo", "--data-dir"])
            .arg(data_dir)
            .env("PIPEWRIGHT_TOKEN", token)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        StdioClient {
            child,
            stdin,
            lines,
        }
    }
    fn send(&mut self, v: Value) {
        writeln!(self.stdin, "{v}").unwrap();
        self.stdin.flush().unwrap();
    }
    fn recv(&self, id: i64) -> Value {
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .expect("a reply within 20 s");
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| panic!("stdout must carry only JSON-RPC, got {line}"));
            if v["id"] == json!(id) {
                return v;
            }
        }
    }
}

#[test]
fn stdio_serves_the_tools_and_rechecks_the_token_each_request() {
    let mut s = Server::start();
    let token = s.token(&["--account", "demo", "--name", "stdio"]);
    let mut c = StdioClient::start(&s.data_dir, &token);
    c.send(json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"stdio-test","version":"1"}}}));
    assert_eq!(
        c.recv(1)["result"]["serverInfo"]["name"],
        json!("pipewright")
    );
    c.send(json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    c.send(json!({"jsonrpc":"2.0","id":2,"method":"tools/list"}));
    let tools = c.recv(2)["result"]["tools"].as_array().unwrap().len();
    assert!(tools >= 8, "{tools}");
    c.send(json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_workspaces","arguments":{"limit":1}}}));
    let r = c.recv(3);
    assert_eq!(r["result"]["structuredContent"]["total"], json!(3), "{r}");
    // Revocation reaches stdio sessions on their next request.
    let list = cli(&s.data_dir, &["token", "list", "--account", "demo"]);
    let id = list
        .lines()
        .find(|l| l.contains(" stdio "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    cli(&s.data_dir, &["token", "revoke", &id]);
    c.send(json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"list_workspaces","arguments":{}}}));
    let r = c.recv(4);
    assert!(
        r["error"]["message"].as_str().unwrap().contains("revoked"),
        "{r}"
    );
    drop(c.stdin);
    let status = c.child.wait().unwrap();
    assert!(
        status.success(),
        "closing stdin ends the server cleanly: {status:?}"
    );
    let _ = s.demo_token();
}

#[test]
fn stdio_without_a_token_says_what_to_do() {
    let s = Server::start();
    let out = Command::new(BIN)
        .args(["stdio", "--account", "demo", "--data-dir"])
        .arg(&s.data_dir)
        .env_remove("PIPEWRIGHT_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("set PIPEWRIGHT_TOKEN"));
    let out = Command::new(BIN)
        .args(["stdio", "--account", "demo", "--data-dir"])
        .arg(&s.data_dir)
        .env("PIPEWRIGHT_TOKEN", "pwt_bogus")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unauthorized"));
}
