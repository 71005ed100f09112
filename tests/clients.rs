//! Real MCP clients nobody here wrote drive the real binary: the official conformance suite
//! (behind a header-injecting proxy, since its client sends no Authorization header), the
//! MCP Inspector CLI, `mcp-remote`, and the official TypeScript and Python SDK clients.
//! The clients come from `scripts/install-tools`; without them these tests skip, unless
//! `PIPEWRIGHT_REQUIRE_SERVICES=1` (CI), where a missing client is a failure.

mod support;

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use support::*;

/// Where `scripts/install-tools` put the clients.
struct Clients {
    node22: PathBuf,
    npm_bin: PathBuf,
    npm_modules: PathBuf,
    python: PathBuf,
}

impl Clients {
    /// From the `PW_*` variables `scripts/test` exports, else from the tools folder's
    /// `env.sh`. `None` (skip) when not installed, unless services are required.
    fn find() -> Option<Clients> {
        let mut vars: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("PW_"))
            .collect();
        if !vars.contains_key("PW_NODE22") {
            let dir = std::env::var_os("PIPEWRIGHT_TOOLS_DIR")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME")
                        .map(|h| PathBuf::from(h).join(".cache/pipewright-tools"))
                });
            if let Some(text) = dir.and_then(|d| std::fs::read_to_string(d.join("env.sh")).ok()) {
                for line in text.lines() {
                    if let Some((k, v)) = line.trim_start_matches("export ").split_once('=') {
                        vars.insert(k.to_string(), v.trim_matches('"').to_string());
                    }
                }
            }
        }
        let get = |k: &str| vars.get(k).map(PathBuf::from).filter(|p| p.exists());
        match (
            get("PW_NODE22"),
            get("PW_NPM_BIN"),
            get("PW_NPM_MODULES"),
            get("PW_PYTHON"),
        ) {
            (Some(node22), Some(npm_bin), Some(npm_modules), Some(python)) => Some(Clients {
                node22,
                npm_bin,
                npm_modules,
                python,
            }),
            _ => {
                assert!(
                    !services_required(),
                    "the MCP test clients are not installed: run scripts/install-tools \
                     (scripts/test does) or set PW_NODE22/PW_NPM_BIN/PW_NPM_MODULES/PW_PYTHON"
                );
                eprintln!("skipping: MCP test clients not installed (scripts/install-tools)");
                None
            }
        }
    }

    /// A command run with Node 22 first on PATH, bounded by `timeout`.
    fn node_tool(&self, seconds: u32, program: &Path) -> Command {
        let mut c = Command::new("timeout");
        c.arg(seconds.to_string()).arg(&self.node22).arg(program);
        c.env("PATH", self.path());
        c.stdin(Stdio::null());
        c
    }

    fn path(&self) -> String {
        format!(
            "{}:{}",
            self.node22.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// The JavaScript file behind an npm bin shim.
    fn npm_script(&self, bin: &str) -> PathBuf {
        std::fs::canonicalize(self.npm_bin.join(bin)).expect("npm bin")
    }
}

/// A child process killed when dropped, even when the test panics.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run client")
}

fn stdout_json(out: &Output, what: &str) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {text}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = text
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .unwrap_or_else(|| panic!("{what} printed no JSON: {text}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{what} printed bad JSON ({e}): {line}"))
}

/// Reads lines from a child's stdout on a thread so each read can have a deadline.
fn line_reader(stream: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for the JSON-RPC response with `id` on a line-delimited stream.
fn response(rx: &mpsc::Receiver<String>, id: i64, what: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("{what}: no response {id} ({e})"));
        if let Ok(v) = serde_json::from_str::<Value>(&line) {
            if v["id"] == json!(id) {
                return v;
            }
        }
    }
}

fn tool_names(tools: &Value) -> Vec<String> {
    tools
        .as_array()
        .expect("tools array")
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn conformance_suite_passes_every_scenario_that_applies() {
    let Some(c) = Clients::find() else { return };
    let mut server = Server::start_with(Options {
        extra_args: &["--conformance-fixtures"],
        ..Default::default()
    });
    let token = server.demo_token();
    // Node itself (not under `timeout`), so killing it on drop really stops it.
    let mut proxy = Killed(
        Command::new(&c.node22)
            .arg(script("auth-proxy.mjs"))
            .env("UPSTREAM", &server.base)
            .env("PROXY_TOKEN", &token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start proxy"),
    );
    let lines = line_reader(proxy.0.stdout.take().unwrap());
    let proxy_base = lines
        .recv_timeout(Duration::from_secs(30))
        .expect("proxy did not start")
        .strip_prefix("proxy listening on ")
        .expect("proxy banner")
        .to_string();
    let url = format!("{proxy_base}/demo/api/mcp");
    let results = tempfile::tempdir().unwrap();

    // Every server scenario (`--suite all`: the active ones and those still pending
    // upstream, such as json-schema-2020-12), with the scenarios that need the suite's own fixture tools
    // (or capabilities we do not declare) listed as not applicable. The suite fails the run
    // on any unlisted failure and also on a listed scenario that passes, so the list in
    // tests/clients/conformance-not-applicable.yml (and README's table) cannot go stale.
    let suite = c
        .npm_modules
        .join("@modelcontextprotocol/conformance/dist/index.js");
    let out = run(c
        .node_tool(300, &suite)
        .arg("server")
        .args(["--suite", "all"])
        .arg("--url")
        .arg(&url)
        .arg("--expected-failures")
        .arg(script("conformance-not-applicable.yml"))
        .arg("-o")
        .arg(results.path()));
    let text = String::from_utf8_lossy(&out.stdout);
    drop(proxy);
    assert!(
        out.status.success(),
        "conformance suite failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Every check of the scenarios that apply, read from the suite's own results.
    let applies = [
        "server-initialize",
        "ping",
        "tools-list",
        "json-schema-2020-12",
        "server-sse-multiple-streams",
        "dns-rebinding-protection",
        "logging-set-level",
    ];
    for scenario in applies {
        let dir = std::fs::read_dir(results.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&format!("server-{scenario}-"))
            })
            .unwrap_or_else(|| panic!("no results for {scenario}:\n{text}"));
        let checks: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("checks.json")).unwrap())
                .unwrap();
        let checks = checks.as_array().unwrap();
        assert!(!checks.is_empty(), "{scenario} ran no checks");
        for check in checks {
            assert!(
                matches!(check["status"].as_str(), Some("SUCCESS" | "INFO")),
                "{scenario}: {check}"
            );
        }
    }
    assert!(server.logs().contains("listening"));
}

#[test]
fn inspector_cli_lists_tools_and_calls_list_workspaces() {
    let Some(c) = Clients::find() else { return };
    let mut server = Server::start();
    let token = server.demo_token();
    let url = server.url("demo");
    let inspector = c.npm_script("mcp-inspector");
    let auth = format!("Authorization: Bearer {token}");

    let out = run(c
        .node_tool(120, &inspector)
        .args(["--cli", &url, "--header", &auth])
        .args(["--method", "tools/list", "--format", "json", "-q"]));
    let listed = stdout_json(&out, "inspector tools/list");
    assert_inventory_listed(&listed["result"]["tools"], "inspector");

    let out = run(c
        .node_tool(120, &inspector)
        .args(["--cli", &url, "--header", &auth])
        .args(["--method", "tools/call", "--tool-name", "list_workspaces"])
        .args([
            "--tool-args-json",
            r#"{"limit":2}"#,
            "--format",
            "json",
            "-q",
        ]));
    let called = stdout_json(&out, "inspector tools/call");
    let sc = &called["result"]["structuredContent"];
    assert_eq!(called["result"]["isError"], json!(false), "{called}");
    assert_eq!(sc["workspaces"].as_array().unwrap().len(), 2, "{sc}");
    assert_eq!(sc["total"], json!(3), "{sc}");

    // A tool error: exit code 5 (tool_is_error), with our message naming the field.
    let out = run(c
        .node_tool(120, &inspector)
        .args(["--cli", &url, "--header", &auth])
        .args(["--method", "tools/call", "--tool-name", "get_package"])
        .args([
            "--tool-args-json",
            r#"{"package_id":"seven"}"#,
            "--format",
            "json",
        ])
        .arg("-q"));
    assert_eq!(out.status.code(), Some(5), "{out:?}");

    // No token: the 401 challenge makes it ask for OAuth, which it refuses without a TTY (3).
    let out = run(c
        .node_tool(120, &inspector)
        .args(["--cli", &url, "--method", "tools/list", "--format", "json"])
        .args(["--stored-auth-only", "-q"]));
    assert_eq!(out.status.code(), Some(3), "{out:?}");

    // And over stdio, with the token in the child's environment.
    let out = run(c
        .node_tool(120, &inspector)
        .args(["--cli", "-e", &format!("PIPEWRIGHT_TOKEN={token}"), BIN])
        .args(["stdio", "--account", "demo", "--data-dir"])
        .arg(&server.data_dir)
        .args(["--method", "tools/list", "--format", "json", "-q"]));
    let listed = stdout_json(&out, "inspector stdio tools/list");
    assert!(tool_names(&listed["result"]["tools"]).contains(&"search_all".to_string()));
}

#[test]
fn mcp_remote_bridges_a_stdio_session_to_the_http_endpoint() {
    let Some(c) = Clients::find() else { return };
    let mut server = Server::start();
    let token = server.demo_token();
    let config_dir = tempfile::tempdir().unwrap();
    // Exactly the Claude Desktop config the demo prints: the token travels in the
    // environment, never in argv.
    let mut child = c
        .node_tool(120, &c.npm_script("mcp-remote"))
        .arg(server.url("demo"))
        .args(["--header", "Authorization:${AUTH_HEADER}", "--silent"])
        .env("AUTH_HEADER", format!("Bearer {token}"))
        .env("MCP_REMOTE_CONFIG_DIR", config_dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mcp-remote");
    let rx = line_reader(child.stdout.take().unwrap());
    let mut stdin = child.stdin.take().unwrap();
    let mut send = |v: Value| {
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
    };
    send(
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}),
    );
    let init = response(&rx, 1, "mcp-remote initialize");
    assert_eq!(
        init["result"]["serverInfo"]["name"],
        json!("pipewright"),
        "{init}"
    );
    send(json!({"jsonrpc":"2.0","method":"notifications/initialized"}));
    send(json!({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}));
    let names = tool_names(&response(&rx, 2, "mcp-remote tools/list")["result"]["tools"]);
    assert!(names.contains(&"list_workspaces".to_string()), "{names:?}");
    send(
        json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{
        "name":"list_workspaces","arguments":{"limit":1,"offset":1}}}),
    );
    let called = response(&rx, 3, "mcp-remote tools/call");
    assert_eq!(called["result"]["isError"], json!(false), "{called}");
    assert_eq!(
        called["result"]["structuredContent"]["offset"],
        json!(1),
        "{called}"
    );
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "mcp-remote exited with {status}");
}

#[test]
fn typescript_sdk_client_over_streamable_http() {
    let Some(c) = Clients::find() else { return };
    let mut server = Server::start();
    let token = server.demo_token();
    let out = run(c
        .node_tool(120, &script("ts_client.mjs"))
        .arg(server.url("demo"))
        .env("TOKEN", &token)
        .env("PW_NPM_MODULES", &c.npm_modules));
    let v = stdout_json(&out, "TypeScript SDK client");
    assert_eq!(v["server"]["name"], json!("pipewright"), "{v}");
    assert!(v["session"].is_string(), "no session id: {v}");
    assert_inventory_listed(&v["tools"], "TypeScript SDK");
    // The SDK validated these against each tool's output schema.
    assert_eq!(v["workspaces"]["workspaces"].as_array().unwrap().len(), 2);
    assert_eq!(v["packages"]["limit"], json!(3), "{v}");
    assert_eq!(v["bad"]["isError"], json!(true), "{v}");
    let err: Value = serde_json::from_str(v["bad"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(err["error"]["field"], json!("package_id"), "{err}");
}

/// The TypeScript SDK's own OAuth client, from the bare endpoint URL to revocation: it
/// discovers the authorization server from the 401, registers, gets a code through sign-in
/// and consent (driven over HTTP, as a headless browser would), calls tools, refreshes a
/// stale access token on its own, and is refused after revocation.
#[test]
fn typescript_sdk_oauth_client_signs_in_refreshes_and_is_cut_off() {
    let Some(c) = Clients::find() else { return };
    let server = Server::start();
    let password = "an e2e passphrase that is long enough";
    server.set_password("demo@pipewright.local", password);
    let out = run(c
        .node_tool(120, &script("ts_oauth.mjs"))
        .arg(server.url("demo"))
        .env("EMAIL", "demo@pipewright.local")
        .env("PASSWORD", password)
        .env("PW_NPM_MODULES", &c.npm_modules));
    let v = stdout_json(&out, "TypeScript SDK OAuth client");
    assert_eq!(v["authUrl"], json!("/oauth/authorize"), "{v}");
    assert_eq!(v["resource"], json!(server.url("demo")), "{v}");
    assert_eq!(v["challengeMethod"], json!("S256"), "{v}");
    assert_eq!(
        (v["registered"].clone(), v["consentShown"].clone()),
        (json!(true), json!(true)),
        "{v}"
    );
    assert!(v["tools"].as_u64().unwrap() > 30, "{v}");
    assert_eq!(v["workspacesIsError"], json!(false), "{v}");
    assert_eq!(
        (v["refreshed"].clone(), v["toolsAfterRefresh"].clone()),
        (json!(true), v["tools"].clone()),
        "{v}"
    );
    assert_eq!(v["revokeStatus"], json!(200), "{v}");
    assert_eq!(v["afterRevoke"], json!("unauthorized"), "{v}");
    assert_eq!(v["askedToSignInAgain"], json!(true), "{v}");
    let log = server.output.lock().unwrap().join("\n");
    assert!(!log.contains(password), "the password reached the log");
}

/// The pages in Debian's Chromium (playwright-core): sign in, create a token and see it
/// once, revoke it and see the endpoint refuse it, answer an OAuth client's consent; the
/// cookies' flags and the CSRF field of every form; screenshots kept as artifacts.
#[test]
fn browser_signs_in_creates_and_revokes_a_token_and_consents() {
    let Some(c) = Clients::find() else { return };
    let chromium = std::env::var("PW_CHROMIUM")
        .ok()
        .or_else(|| which("chromium"))
        .filter(|p| Path::new(p).exists());
    let Some(chromium) = chromium else {
        assert!(
            !services_required(),
            "Debian's chromium is not installed: run scripts/install-tools"
        );
        return;
    };
    let server = Server::start();
    let password = "a browser passphrase long enough";
    server.set_password("demo@pipewright.local", password);
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-pages");
    let out = run(c
        .node_tool(180, &script("browser_pages.mjs"))
        .arg(&server.base)
        .env("EMAIL", "demo@pipewright.local")
        .env("PASSWORD", password)
        .env("PW_CHROMIUM", &chromium)
        .env("ARTIFACTS", &artifacts)
        .env("PW_NPM_MODULES", &c.npm_modules));
    let v = stdout_json(&out, "Chromium");
    assert_eq!(v["loginHasPairing"], json!(true), "{v}");
    assert_eq!(v["afterSignIn"], json!("/apps/demo"), "{v}");
    for cookie in v["cookies"].as_array().unwrap() {
        assert_eq!(cookie["httpOnly"], json!(true), "{cookie}");
        assert_eq!(cookie["secure"], json!(true), "{cookie}");
        assert_eq!(cookie["sameSite"], json!("Lax"), "{cookie}");
    }
    assert!(v["cookies"].to_string().contains("pw_session"), "{v}");
    assert_eq!(v["csrfOnEveryForm"], json!(true), "{v}");
    assert_eq!(
        (
            v["tokenShown"].clone(),
            v["tokenShownAgain"].clone(),
            v["tokenListed"].clone()
        ),
        (json!(true), json!(false), json!(true)),
        "{v}"
    );
    assert_eq!(v["tokenWorks"], json!(200), "{v}");
    assert_eq!(v["tokenListedAfterRevoke"], json!(false), "{v}");
    assert_eq!(
        (
            v["revokedStatus"].clone(),
            v["revokedWwwAuthenticate"].clone()
        ),
        (json!(401), json!(true)),
        "{v}"
    );
    assert!(v["consentText"].as_str().unwrap().contains("Browser Test Client is requesting access to your Pipewright account demo via the MCP server"), "{v}");
    assert_eq!(
        (
            v["codeReturned"].clone(),
            v["stateReturned"].clone(),
            v["grantListed"].clone()
        ),
        (json!(true), json!("s1"), json!(true)),
        "{v}"
    );
    for shot in [
        "1-sign-in",
        "2-token-created",
        "3-token-revoked",
        "4-consent",
        "5-connected-applications",
    ] {
        let png = artifacts.join(format!("{shot}.png"));
        assert!(
            std::fs::metadata(&png).is_ok_and(|m| m.len() > 1000),
            "no screenshot {}",
            png.display()
        );
    }
}

fn which(bin: &str) -> Option<String> {
    std::env::var("PATH")
        .ok()?
        .split(':')
        .map(|d| format!("{d}/{bin}"))
        .find(|p| Path::new(p).exists())
}

#[test]
fn python_sdk_client_over_streamable_http_and_stdio() {
    let Some(c) = Clients::find() else { return };
    let mut server = Server::start();
    let token = server.demo_token();

    let check = |v: &Value, how: &str| {
        assert_eq!(v["server"], json!("pipewright"), "{how}: {v}");
        assert_inventory_listed(&v["tools"], how);
        assert_eq!(v["workspaces_is_error"], json!(false), "{how}: {v}");
        assert_eq!(v["workspaces"]["total"], json!(3), "{how}: {v}");
        assert_eq!(v["bad"]["is_error"], json!(true), "{how}: {v}");
        let err: Value = serde_json::from_str(v["bad"]["text"].as_str().unwrap()).unwrap();
        assert_eq!(err["error"]["field"], json!("limit"), "{how}: {err}");
    };

    let python = || {
        let mut cmd = Command::new("timeout");
        cmd.arg("120")
            .arg(&c.python)
            .arg(script("py_client.py"))
            .stdin(Stdio::null());
        cmd
    };
    let out = run(python()
        .args(["http", &server.url("demo")])
        .env("TOKEN", &token));
    check(&stdout_json(&out, "Python SDK over HTTP"), "http");

    // The same client through `pipewright connect`, the native stdio bridge to the endpoint.
    let out = run(python()
        .args(["stdio", BIN, "connect", &server.url("demo")])
        .env("PIPEWRIGHT_TOKEN", &token));
    check(
        &stdout_json(&out, "Python SDK over stdio through pipewright connect"),
        "connect",
    );

    let out = run(python()
        .args(["stdio", BIN, "stdio", "--account", "demo", "--data-dir"])
        .arg(&server.data_dir)
        .env("PIPEWRIGHT_TOKEN", &token));
    check(&stdout_json(&out, "Python SDK over stdio"), "stdio");
}
