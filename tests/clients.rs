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

/// The conformance suite's client scenarios, with `pipewright connect` as the client under
/// test (driven over stdio by the official Python SDK, `tests/clients/connect_client.py`):
/// every scenario of 2025-03-26, 2025-06-18 and 2025-11-25 (the OAuth ones: metadata
/// discovery in four layouts, Client ID Metadata Documents, scope selection and step-up,
/// the retry limit, the three token-endpoint authentications, a pre-registered client, the
/// 2025-03-26 fallbacks) and the drafts, plus `initialize`, `tools_call` and `sse-retry`.
/// Those that do not apply are listed, with why, in conformance-not-applicable.yml; the
/// suite fails on any other failure or warning, and on a listed one that passes.
#[test]
fn conformance_client_scenarios_pass_with_pipewright_connect() {
    let Some(c) = Clients::find() else { return };
    let suite = c
        .npm_modules
        .join("@modelcontextprotocol/conformance/dist/index.js");
    let results = tempfile::tempdir().unwrap();
    let command = format!(
        "{} {}",
        c.python.display(),
        script("connect_client.py").display()
    );
    // Every client scenario the suite lists, less those listed as not applicable (which
    // must still be listed by the suite, so the list cannot go stale). One at a time: run
    // together on two cores, `sse-retry`'s 200 ms tolerance measures the machine's load.
    let listed = run(c.node_tool(60, &suite).args(["list", "--client"]));
    let listed = String::from_utf8_lossy(&listed.stdout).to_string();
    let scenarios: Vec<&str> = listed
        .split("Client scenarios")
        .nth(1)
        .expect("the suite lists client scenarios")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let yml = std::fs::read_to_string(script("conformance-not-applicable.yml")).unwrap();
    let not_applicable: Vec<&str> = yml
        .split("\nclient:")
        .nth(1)
        .expect("a client: list")
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .collect();
    for n in &not_applicable {
        assert!(
            scenarios.contains(n),
            "{n} is listed as not applicable but the suite has no such scenario"
        );
    }
    let mut failed = Vec::new();
    for scenario in scenarios.iter().filter(|s| !not_applicable.contains(s)) {
        let out = run(c
            .node_tool(120, &suite)
            .arg("client")
            .args(["--scenario", scenario])
            .arg("--command")
            .arg(&command)
            .arg("-o")
            .arg(results.path())
            .env("PIPEWRIGHT_BIN", BIN));
        if !out.status.success() {
            failed.push(format!(
                "{scenario}:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "conformance client scenarios failed:\n{}",
        failed.join("\n")
    );
    // Every scenario that applies ran and passed each of its checks (read from the
    // suite's own results, so a scenario that silently ran nothing fails here).
    // (`auth/x` scenarios are kept under `auth/`.)
    let mut dirs = Vec::new();
    for entry in std::fs::read_dir(results.path()).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("checks.json").exists() {
            dirs.push(dir);
        } else {
            dirs.extend(std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()));
        }
    }
    let mut seen = Vec::new();
    for dir in dirs {
        let name = dir
            .strip_prefix(results.path())
            .unwrap()
            .to_string_lossy()
            .to_string();
        let checks: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("checks.json")).unwrap())
                .unwrap();
        // What connect printed (the driver's stderr holds it) has none of the secrets the
        // scenario handed out: client secrets and access tokens.
        let stderr = std::fs::read_to_string(dir.join("stderr.txt")).unwrap();
        for secret in [
            "pre-registered-secret",
            "test-client-secret",
            "test-secret-",
            "test-token-",
        ] {
            assert!(!stderr.contains(secret), "{name}: connect printed a secret");
        }
        let checks = checks.as_array().unwrap();
        assert!(!checks.is_empty(), "{name} ran no checks");
        for check in checks {
            assert!(
                matches!(check["status"].as_str(), Some("SUCCESS" | "INFO")),
                "{name}: {check}"
            );
        }
        seen.push(name);
    }
    let applicable = scenarios.len() - not_applicable.len();
    assert!(
        applicable >= 22,
        "the suite lists fewer client scenarios than 0.1.16:\n{listed}"
    );
    assert_eq!(
        seen.len(),
        applicable,
        "not every scenario left results: {seen:?}"
    );
}

/// `pipewright connect` signing in to a Pipewright server by itself: the first request
/// meets the 401, connect discovers the server, registers, and opens "the browser" (Debian's
/// Chromium, which signs in and consents); the tools work. The sign-in is kept in the config
/// directory (folder 0700, file 0600) and used by the next run with no browser; an expired
/// access token is refreshed on its own; `--sign-out` forgets it and revokes it on the
/// server. Neither connect nor the server prints a token or the password.
#[test]
fn pipewright_connect_signs_in_in_the_browser_keeps_refreshes_and_signs_out() {
    let Some(c) = Clients::find() else { return };
    let Some(chromium) = chromium() else { return };
    let server = Server::start();
    let password = "a connect passphrase long enough";
    server.set_password("demo@pipewright.local", password);
    let config = tempfile::tempdir().unwrap();
    let result = config.path().join("browser.json");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-pages/6-connect-consent.png");
    let calls = r#"[["list_workspaces", {"limit": 2}]]"#;
    let client = |browser: &str| {
        let mut cmd = Command::new("timeout");
        cmd.arg("150")
            .arg(&c.python)
            .arg(script("connect_client.py"))
            .arg(server.url("demo"))
            .stdin(Stdio::null())
            .env("PIPEWRIGHT_BIN", BIN)
            .env("PIPEWRIGHT_CONFIG_DIR", config.path())
            .env("PIPEWRIGHT_BROWSER", browser)
            .env("CALLS", calls);
        cmd
    };
    let chromium_browser = format!(
        "{} {}",
        c.node22.display(),
        script("browser_sign_in.mjs").display()
    );
    let out = run(client(&chromium_browser)
        .env("PW_NPM_MODULES", &c.npm_modules)
        .env("PW_CHROMIUM", &chromium)
        .env("EMAIL", "demo@pipewright.local")
        .env("PASSWORD", password)
        .env("RESULT", &result)
        .env("SHOT", &shot));
    let browser: Value =
        serde_json::from_str(&std::fs::read_to_string(&result).unwrap_or_default())
            .unwrap_or(Value::Null);
    let v = stdout_json(
        &out,
        &format!("connect's first sign-in (browser saw {browser})"),
    );
    let first = out;
    assert!(v["tools"].as_u64().unwrap() > 30, "{v}");
    assert_eq!(v["calls"][0]["is_error"], json!(false), "{v}");
    assert_eq!(
        browser["authorizePath"],
        json!("/oauth/authorize"),
        "{browser}"
    );
    assert_eq!(browser["challengeMethod"], json!("S256"), "{browser}");
    assert_eq!(browser["resource"], json!(server.url("demo")), "{browser}");
    assert!(
        browser["redirectUri"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{browser}"
    );
    assert!(
        browser["consentText"]
            .as_str()
            .unwrap()
            .contains("Pipewright connect is requesting access to your Pipewright account demo"),
        "{browser}"
    );
    assert!(
        browser["landed"]
            .as_str()
            .unwrap()
            .starts_with("Signed in to Pipewright"),
        "{browser}"
    );

    // Kept where only the user can read it.
    let kept: Vec<PathBuf> = std::fs::read_dir(config.path().join("connect"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&config.path().join("connect")), 0o700);
        assert_eq!(mode(&kept[0]), 0o600);
    }
    let saved = |what: &str| -> String {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&kept[0]).unwrap()).unwrap();
        v[what].as_str().unwrap_or_default().to_string()
    };
    let (access, refresh) = (saved("access_token"), saved("refresh_token"));
    assert!(access.starts_with("pwo_") && refresh.starts_with("pwr_"));

    // The next run uses it: a browser opened now would be a failure.
    let opened = config.path().join("opened");
    let touch = format!("touch {}", opened.display());
    let second = run(&mut client(&touch));
    let v = stdout_json(&second, "connect's second run");
    assert_eq!(v["calls"][0]["is_error"], json!(false), "{v}");
    assert!(
        !opened.exists(),
        "the browser was opened although a sign-in was kept"
    );

    // An hour later (expiry set in the store): refreshed without the browser, rotated.
    server.expire_oauth_tokens();
    let out = run(&mut client(&touch));
    let v = stdout_json(&out, "connect after the access token expired");
    assert_eq!(v["calls"][0]["is_error"], json!(false), "{v}");
    assert!(
        !opened.exists(),
        "the browser was opened instead of refreshing"
    );
    assert_ne!(
        saved("refresh_token"),
        refresh,
        "the refresh token was not rotated"
    );
    assert_ne!(saved("access_token"), access);
    let mut printed = vec![first, second, out];

    // Two bridges sharing the sign-in (Claude Desktop and Claude Code, say), both finding it
    // expired at once (in the store and in the file): one refreshes and the other adopts
    // what it kept, so the refresh token is spent once and the grant survives.
    let (access2, refresh2) = (saved("access_token"), saved("refresh_token"));
    server.expire_oauth_tokens();
    let mut file: Value =
        serde_json::from_str(&std::fs::read_to_string(&kept[0]).unwrap()).unwrap();
    file["expires_at"] = json!(1);
    std::fs::write(&kept[0], file.to_string()).unwrap();
    let spawn = |mut cmd: Command| std::thread::spawn(move || cmd.output().expect("run client"));
    let (a, b) = (spawn(client(&touch)), spawn(client(&touch)));
    for out in [a.join().unwrap(), b.join().unwrap()] {
        let v = stdout_json(&out, "one of two bridges after expiry");
        assert_eq!(v["calls"][0]["is_error"], json!(false), "{v}");
        printed.push(out);
    }
    assert!(
        !opened.exists(),
        "a bridge opened the browser: the grant was lost"
    );
    assert_ne!(saved("refresh_token"), refresh2);
    let out = run(&mut client(&touch));
    assert_eq!(
        stdout_json(&out, "a third bridge")["calls"][0]["is_error"],
        json!(false)
    );
    assert!(
        !opened.exists(),
        "the grant was revoked by a refresh token spent twice"
    );
    printed.push(out);

    // Signing out forgets it here and revokes it there.
    let (latest, client_id) = (saved("refresh_token"), saved("client_id"));
    let out = run(Command::new(BIN)
        .args(["connect", "--sign-out", &server.url("demo")])
        .env("PIPEWRIGHT_CONFIG_DIR", config.path()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("signed out"));
    assert!(!kept[0].exists());
    // The revoked refresh token buys nothing (curl, as any client would ask).
    let refused = run(Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--data-urlencode",
            "grant_type=refresh_token",
            "--data-urlencode",
        ])
        .arg(format!("refresh_token={latest}"))
        .args(["--data-urlencode"])
        .arg(format!("client_id={client_id}"))
        .arg(format!("{}/oauth/token", server.base)));
    assert_eq!(
        String::from_utf8_lossy(&refused.stdout),
        "400",
        "a revoked refresh token was accepted"
    );

    printed.push(out);
    let log = server.output.lock().unwrap().join("\n");
    for secret in [password, &access, &refresh, &access2, &refresh2, &latest] {
        assert!(!log.contains(secret), "a secret reached the server log");
        for out in &printed {
            assert!(
                !String::from_utf8_lossy(&out.stderr).contains(secret)
                    && !String::from_utf8_lossy(&out.stdout).contains(secret),
                "connect printed a secret"
            );
        }
    }
}

/// The Claude Desktop extension: `scripts/mcpb-bundle` builds a `binary` bundle around this
/// binary, which `mcpb validate` (inside the script), `mcpb pack` and `mcpb info` accept;
/// unpacked, its manifest's command, with the values Claude Desktop would fill in, is
/// `pipewright connect` and serves the tools to the official Python SDK's stdio client.
#[test]
fn claude_desktop_bundle_validates_packs_and_its_server_runs() {
    let Some(c) = Clients::find() else { return };
    let mut server = Server::start();
    let token = server.demo_token();
    let out_dir = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let env_path = c.path();
    let out = run(Command::new("timeout")
        .arg("600")
        .arg(root.join("scripts/mcpb-bundle"))
        .args([BIN, "linux", "x86_64"])
        .arg(out_dir.path())
        .env("PW_NPM_BIN", &c.npm_bin)
        .env("PW_NODE22", &c.node22)
        .env("PATH", &env_path));
    assert!(
        out.status.success(),
        "mcpb-bundle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        bundle
            .file_name()
            .unwrap()
            .to_string_lossy()
            .ends_with("-linux-x86_64.mcpb"),
        "{bundle:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Manifest schema validation passes"));

    let mcpb = |args: &[&std::ffi::OsStr]| run(c.node_tool(300, &c.npm_script("mcpb")).args(args));
    let info = mcpb(&["info".as_ref(), bundle.as_os_str()]);
    let info_text = format!(
        "{}{}",
        String::from_utf8_lossy(&info.stdout),
        String::from_utf8_lossy(&info.stderr)
    );
    assert!(
        info.status.success() && info_text.contains("pipewright"),
        "{info_text}"
    );
    let unpacked = out_dir.path().join("unpacked");
    let out = mcpb(&["unpack".as_ref(), bundle.as_os_str(), unpacked.as_os_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(unpacked.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["server"]["type"], json!("binary"));
    assert_eq!(manifest["user_config"]["token"]["sensitive"], json!(true));
    assert_eq!(
        manifest["user_config"]["server_url"]["required"],
        json!(true)
    );
    assert_eq!(manifest["compatibility"]["platforms"], json!(["linux"]));
    let config = &manifest["server"]["mcp_config"];
    let dir = unpacked.to_string_lossy().to_string();
    let url = server.url("demo");
    let fill = |v: &Value| {
        v.as_str()
            .unwrap()
            .replace("${__dirname}", &dir)
            .replace("${user_config.server_url}", &url)
            .replace("${user_config.token}", &token)
    };
    let command = fill(&config["command"]);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&command).unwrap().permissions().mode();
        assert!(
            mode & 0o111 != 0,
            "the bundled binary is not executable ({mode:o})"
        );
    }
    let args: Vec<String> = config["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(fill)
        .collect();
    assert_eq!(args, vec!["connect".to_string(), url.clone()]);
    assert_eq!(
        config["env"]["PIPEWRIGHT_TOKEN"],
        json!("${user_config.token}")
    );
    let out = run(Command::new("timeout")
        .arg("120")
        .arg(&c.python)
        .arg(script("py_client.py"))
        .arg("stdio")
        .arg(&command)
        .args(&args)
        .stdin(Stdio::null())
        .env("PIPEWRIGHT_TOKEN", fill(&config["env"]["PIPEWRIGHT_TOKEN"])));
    let v = stdout_json(&out, "the bundle's server under the Python SDK");
    assert_eq!(v["server"], json!("pipewright"), "{v}");
    assert_eq!(v["workspaces_is_error"], json!(false), "{v}");
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
    let Some(chromium) = chromium() else { return };
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

/// Debian's Chromium for the browser tests; `None` (skip) when missing, unless services are
/// required.
fn chromium() -> Option<String> {
    let found = std::env::var("PW_CHROMIUM")
        .ok()
        .or_else(|| which("chromium"))
        .filter(|p| Path::new(p).exists());
    if found.is_none() {
        assert!(
            !services_required(),
            "Debian's chromium is not installed: run scripts/install-tools"
        );
    }
    found
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
