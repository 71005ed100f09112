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
        self.send_raw(v.to_string().as_bytes());
    }
    /// Writes one line as given (a newline is added).
    fn send_raw(&mut self, line: &[u8]) {
        self.stdin.write_all(line).unwrap();
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
    }
    /// The next line on stdout, whatever its id.
    fn next(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a reply within 20 s");
        serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("stdout must carry only JSON-RPC, got {line}"))
    }
    fn initialize(&mut self) {
        self.send(json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"stdio-test","version":"1"}}}));
        assert_eq!(
            self.recv(1)["result"]["serverInfo"]["name"],
            json!("pipewright")
        );
        self.send(json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
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
    c.initialize();
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

/// Each malformed line gets the JSON-RPC error it calls for, in order, and the session goes
/// on. rmcp alone ignored the parse error, answered the over-long line as a request, gave the
/// batch a bare "Invalid request" and read string `arguments` as an unknown method (-32601).
#[test]
fn stdio_answers_malformed_lines_with_json_rpc_errors_and_keeps_serving() {
    let mut s = Server::start();
    let token = s.demo_token();
    let mut c = StdioClient::start(&s.data_dir, &token);
    c.initialize();

    let pad = "x".repeat(4 * 1024 * 1024 + 1);
    let cases = [
        (
            "parse error",
            br#"{"jsonrpc":"2.0","id":2,"method":"tools/list""#.to_vec(),
            -32700,
            Value::Null,
            "parse error",
        ),
        (
            // Well-formed but over 4 MiB: refused unread, so with no id.
            "over-long line",
            json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_workspaces","arguments":{"pad":pad}}})
                .to_string()
                .into_bytes(),
            -32600,
            Value::Null,
            "message too long: at most 4 MiB per line",
        ),
        (
            "batch",
            json!([{"jsonrpc":"2.0","id":4,"method":"tools/list"}])
                .to_string()
                .into_bytes(),
            -32600,
            Value::Null,
            "batches are not supported",
        ),
        (
            "string arguments",
            json!({"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"list_workspaces","arguments":"{\"limit\":1}"}})
                .to_string()
                .into_bytes(),
            -32602,
            json!(5),
            "`arguments`",
        ),
    ];
    for (what, line, code, id, says) in cases {
        c.send_raw(&line);
        let r = c.next();
        assert_eq!(
            (&r["error"]["code"], &r["id"]),
            (&json!(code), &id),
            "{what}: {r}"
        );
        let message = r["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{what}: {r}");
    }

    c.send(json!({"jsonrpc":"2.0","id":6,"method":"tools/list"}));
    let r = c.next();
    assert_eq!(r["id"], json!(6), "{r}");
    let tools = r["result"]["tools"].as_array().map_or(0, Vec::len);
    assert!(tools >= 8, "{r}");

    drop(c.stdin);
    let status = c.child.wait().unwrap();
    assert!(
        status.success(),
        "closing stdin ends the server cleanly: {status:?}"
    );
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

/// `pipewright connect`: a refused token becomes a JSON-RPC error naming the refusal for
/// the request that met it (never echoing the token); with no token it waits for a request
/// before signing in.
#[test]
fn connect_bridge_reports_refusals_without_the_token() {
    let s = Server::start();
    let bogus = "pwt_not_a_real_token_but_secret_looking_0123456789";
    let out = connect_with_token(
        &s.url("demo"),
        bogus,
        &[initialize().to_string(), "not json".into()],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["id"], json!(1));
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 401"),
        "{stdout}"
    );
    assert_eq!(lines[1]["error"]["code"], json!(-32700));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains(bogus) && !stderr.contains(bogus),
        "the token was printed"
    );

    // With no token, connect signs in by itself (tests/clients.rs), but only when a
    // request needs it: a client that sends nothing opens no browser.
    let config = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["connect", &s.url("demo")])
        .env_remove("PIPEWRIGHT_TOKEN")
        .env("PIPEWRIGHT_CONFIG_DIR", config.path())
        .env("PIPEWRIGHT_BROWSER", "false")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("sign in"));
    assert!(!config.path().join("connect").exists());

    // Claude Desktop passes `${user_config.token}` through when the optional token was left
    // empty: that is no token, so the first request starts the browser sign-in (the
    // address is printed on stderr; the "browser" here does nothing).
    let mut child = Command::new(BIN)
        .args(["connect", &s.url("demo")])
        .env("PIPEWRIGHT_TOKEN", "${user_config.token}")
        .env("PIPEWRIGHT_CONFIG_DIR", config.path())
        .env("PIPEWRIGHT_BROWSER", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{}", initialize()).unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let line = std::io::BufRead::lines(stderr)
        .map_while(Result::ok)
        .find(|l| l.contains("sign in to continue"))
        .expect("connect did not start a sign-in");
    assert!(line.contains("/oauth/authorize?"), "{line}");
    let _ = child.kill();
    let _ = child.wait();
}

/// A client's `initialize` request (id 1).
fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})
}

/// An upstream that echoes the bearer token back (broken or hostile): `connect` relays its
/// answer with the token replaced, so it never reaches the client or the model.
#[test]
fn connect_scrubs_a_token_the_upstream_echoes() {
    let echo = r#"
import http.server, json
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        out = json.dumps({"jsonrpc": "2.0", "id": body.get("id"),
                          "result": {"echo": self.headers.get("authorization", "")}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    def do_DELETE(self):
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;
    let mut upstream = Command::new("python3")
        .args(["-c", echo])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(upstream.stdout.take().unwrap()),
        &mut port,
    )
    .unwrap();
    let secret = "pwt_echoed_back_by_a_hostile_upstream_0123456789";
    let out = connect_with_token(
        &format!("http://127.0.0.1:{}/mcp", port.trim()),
        secret,
        &[initialize().to_string()],
    );
    let _ = upstream.kill();
    let _ = upstream.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"echo\":\"Bearer ***\""), "{stdout}");
    assert!(!stdout.contains(secret) && !String::from_utf8_lossy(&out.stderr).contains(secret));
}

/// `pipewright connect URL` with `token`, given `lines` on stdin and then its end.
fn connect_with_token(url: &str, token: &str, lines: &[String]) -> std::process::Output {
    let mut child = Command::new(BIN)
        .args(["connect", url])
        .env("PIPEWRIGHT_TOKEN", token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}
