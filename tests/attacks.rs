//! What an attacker or a careless client does to the release binary, on loopback only,
//! bounded in time and count: slow and idle sockets, connection and session floods,
//! sessions used with another account's token, header injection through the account
//! segment, account enumeration, protocol abuse, oversized and malformed bodies, path
//! traversal, FIFOs and symbolic links in a local folder. After each, the answer must be
//! well-formed and the server alive and serving an honest client.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{cli, post, Options, RawResponse, Server, Session, INIT};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The server still answers `/healthz` and a real tool call.
async fn assert_alive(s: &Server, token: &str) {
    let h = reqwest::get(format!("{}/healthz", s.base))
        .await
        .expect("healthz reachable");
    assert_eq!(h.status(), 200);
    let mut c = Session::open(&s.url("demo"), token).await;
    c.ok("list_workspaces", json!({})).await;
}

fn addr(s: &Server) -> String {
    s.base.trim_start_matches("http://").to_string()
}

/// Reads until the peer closes; `None` if it is still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .ok()
    .map(|()| got)
}

fn with_env(env: &[(&str, &str)]) -> (Server, String) {
    let mut s = Server::start_with(Options {
        env,
        ..Default::default()
    });
    let t = s.demo_token();
    (s, t)
}

/// A second account with its own member and token.
fn other_account_token(s: &Server) -> String {
    cli(
        &s.data_dir,
        &[
            "account",
            "create",
            "--subdomain",
            "other",
            "--name",
            "Other",
            "--owner",
            "boss@other.example",
        ],
    );
    s.token(&["--account", "other", "--name", "other's token"])
}

async fn send_on(url: &str, token: &str, session: &str, method: reqwest::Method) -> RawResponse {
    let mut req = reqwest::Client::new()
        .request(method.clone(), url)
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", session);
    if method == reqwest::Method::POST {
        req = req
            .header("content-type", "application/json")
            .body(r#"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}}"#);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    // A GET answered with an SSE stream never ends: read only what the status says.
    let body = if status == 200 && method == reqwest::Method::GET {
        String::new()
    } else {
        resp.text().await.unwrap_or_default()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

// ---- defect 2: idle sockets, connection cap, shutdown -------------------------------

#[tokio::test]
async fn a_socket_that_sends_nothing_is_closed_after_the_header_timeout() {
    let (s, t) = with_env(&[("PIPEWRIGHT_HEADER_TIMEOUT_SECS", "1")]);
    let started = Instant::now();
    let mut idle = TcpStream::connect(addr(&s)).await.unwrap();
    // Half a request line, then silence (slowloris).
    let mut slow = TcpStream::connect(addr(&s)).await.unwrap();
    slow.write_all(b"POST /demo/api/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut idle, Duration::from_secs(10))
            .await
            .is_some(),
        "an idle socket stayed open"
    );
    assert!(
        closed_within(&mut slow, Duration::from_secs(10))
            .await
            .is_some(),
        "a socket trickling its headers stayed open"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_alive(&s, &t).await;
}

#[tokio::test]
async fn connections_over_the_cap_are_refused_with_503_and_the_server_recovers() {
    let (s, t) = with_env(&[
        ("PIPEWRIGHT_MAX_CONNECTIONS", "8"),
        ("PIPEWRIGHT_HEADER_TIMEOUT_SECS", "60"),
    ]);
    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(addr(&s)).await.unwrap());
    }
    // The held sockets are accepted in order; the ninth finds no slot.
    let mut extra = TcpStream::connect(addr(&s)).await.unwrap();
    let answer = closed_within(&mut extra, Duration::from_secs(10))
        .await
        .expect("the refused socket is closed");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(text.contains("connection limit"), "{text}");
    assert!(text.to_lowercase().contains("retry-after"), "{text}");
    drop(held);
    // Slots come back as the server notices the closed sockets.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let ok = reqwest::get(format!("{}/healthz", s.base))
            .await
            .is_ok_and(|r| r.status() == 200);
        if ok {
            break;
        }
        assert!(Instant::now() < deadline, "the server never recovered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_alive(&s, &t).await;
}

#[tokio::test]
async fn shutdown_ends_within_the_grace_period_whatever_clients_hold() {
    let (mut s, t) = with_env(&[
        ("PIPEWRIGHT_SHUTDOWN_GRACE_SECS", "1"),
        ("PIPEWRIGHT_HEADER_TIMEOUT_SECS", "600"),
    ]);
    // An open SSE stream, an idle socket and a half-sent request.
    let c = Session::open(&s.url("demo"), &t).await;
    let sse = reqwest::Client::new()
        .get(s.url("demo"))
        .header("authorization", format!("Bearer {t}"))
        .header("accept", "text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .header("mcp-session-id", c.session_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    let _idle = TcpStream::connect(addr(&s)).await.unwrap();
    let mut half = TcpStream::connect(addr(&s)).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let pid = s.child.id().to_string();
    let started = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if s.child.try_wait().unwrap().is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not stop within 20 s of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() < Duration::from_secs(15));
    drop(sse);
}

// ---- defects 3 and 4: sessions --------------------------------------------------------

#[tokio::test]
async fn sessions_are_capped_per_token_evicting_the_idle_one_first() {
    let (s, t) = with_env(&[("PIPEWRIGHT_MAX_SESSIONS_PER_TOKEN", "3")]);
    let first = Session::open(&s.url("demo"), &t).await;
    let mut rest = Vec::new();
    for _ in 0..2 {
        rest.push(Session::open(&s.url("demo"), &t).await);
    }
    // A fourth session makes room by closing the longest-idle one.
    let mut fourth = Session::open(&s.url("demo"), &t).await;
    fourth.ok("list_workspaces", json!({})).await;
    let r = first.request_raw("tools/list").await;
    assert_eq!(
        r.status, 404,
        "the evicted session still answers: {}",
        r.body
    );
    for c in &rest {
        assert_eq!(c.request_raw("tools/list").await.status, 200);
    }
    // A token with every session busy (each holding its GET stream) is refused, clearly.
    let mut streams = Vec::new();
    for c in rest.iter().chain([&fourth]) {
        let r = reqwest::Client::new()
            .get(s.url("demo"))
            .header("authorization", format!("Bearer {t}"))
            .header("accept", "text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .header("mcp-session-id", c.session_id().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        streams.push(r);
    }
    let r = post(&s.url("demo"), Some(&t), INIT, &[]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("sessions"), "{}", r.body);
    assert_eq!(r.message()["error"]["code"], json!(-32000));
    // Another token of the same account is not affected.
    let other = s.token(&["--account", "demo", "--name", "second"]);
    Session::open(&s.url("demo"), &other).await;
    drop(streams);
}

#[tokio::test]
async fn the_server_refuses_sessions_beyond_its_cap() {
    let (s, t) = with_env(&[("PIPEWRIGHT_MAX_SESSIONS", "4")]);
    let mut open = Vec::new();
    for _ in 0..4 {
        open.push(Session::open(&s.url("demo"), &t).await);
    }
    let r = post(&s.url("demo"), Some(&t), INIT, &[]).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.headers.contains_key("retry-after"));
    // Ending one (DELETE) frees its place at once.
    let del = send_on(
        &s.url("demo"),
        &t,
        open[0].session_id().unwrap(),
        reqwest::Method::DELETE,
    )
    .await;
    assert!(del.status < 300, "{}", del.body);
    Session::open(&s.url("demo"), &t).await;
}

#[tokio::test]
async fn idle_sessions_expire_and_their_memory_is_released() {
    let (s, t) = with_env(&[("PIPEWRIGHT_SESSION_IDLE_SECS", "1")]);
    let c = Session::open(&s.url("demo"), &t).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = reqwest::get(format!("{}/metrics", s.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("pipewright_mcp_sessions_expired_total") {
            break;
        }
        assert!(Instant::now() < deadline, "no session expired: {metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(c.request_raw("tools/list").await.status, 404);
    assert_alive(&s, &t).await;
}

#[tokio::test]
async fn a_session_is_reachable_only_with_the_token_that_opened_it() {
    let (s, t) = with_env(&[]);
    let owner = Session::open(&s.url("demo"), &t).await;
    let id = owner.session_id().unwrap().to_string();
    let stranger = other_account_token(&s);
    let same_account = s.token(&["--account", "demo", "--name", "colleague"]);
    for token in [&stranger, &same_account] {
        for url in [s.url("demo"), s.url("other")] {
            for m in [
                reqwest::Method::POST,
                reqwest::Method::GET,
                reqwest::Method::DELETE,
            ] {
                let r = send_on(&url, token, &id, m.clone()).await;
                assert!(
                    r.status == 404 || r.status == 403,
                    "{m} {url} with another token answered {}: {}",
                    r.status,
                    r.body
                );
            }
        }
    }
    // The session survived every attempt.
    let r = owner.request_raw("tools/list").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

// ---- defects 6 and 9: the account segment --------------------------------------------

#[tokio::test]
async fn the_account_segment_cannot_inject_into_www_authenticate() {
    let (s, t) = with_env(&[]);
    let evil = "demo%22%2C%20resource_metadata%3D%22https%3A%2F%2Fevil.example%2Fx";
    for token in [None, Some("pwt_wrong"), Some(t.as_str())] {
        let r = post(&format!("{}/{evil}/api/mcp", s.base), token, INIT, &[]).await;
        let www = r
            .headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        assert!(!www.contains("evil"), "{www}");
        assert!(!r.body.contains("evil"), "{}", r.body);
        assert_eq!(www.matches("resource_metadata").count().max(1), 1, "{www}");
        assert!(r.status == 404 || r.status == 401, "{}", r.status);
    }
    assert_alive(&s, &t).await;
}

#[tokio::test]
async fn without_a_valid_token_every_account_answers_the_same_401() {
    let (s, t) = with_env(&[]);
    let mut answers = Vec::new();
    for account in ["demo", "no-such-account", "1", "999999"] {
        for token in [None, Some("pwt_not-a-real-token")] {
            let r = post(&s.url(account), token, INIT, &[]).await;
            assert_eq!(r.status, 401, "{account} {token:?}: {}", r.body);
            assert!(r.headers.contains_key("www-authenticate"));
            answers.push((token.is_some(), r.body));
        }
    }
    for (with_token, body) in &answers {
        let first = answers
            .iter()
            .find(|(w, _)| w == with_token)
            .map(|(_, b)| b)
            .unwrap();
        assert_eq!(body, first, "bodies differ between accounts");
    }
    // A valid token still learns that an account does not exist.
    assert_eq!(
        post(&s.url("no-such-account"), Some(&t), INIT, &[])
            .await
            .status,
        404
    );
}

// ---- defect 10 over HTTP: protocol errors ---------------------------------------------

#[tokio::test]
async fn protocol_errors_get_their_json_rpc_codes_over_http() {
    let (s, t) = with_env(&[]);
    let c = Session::open(&s.url("demo"), &t).await;
    let sid = c.session_id().unwrap().to_string();
    let headers = [
        ("mcp-session-id", sid.as_str()),
        ("mcp-protocol-version", "2025-11-25"),
    ];
    // A batch: JSON-RPC -32600 as JSON, not a plain-text 415.
    let batch =
        r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#;
    let r = post(&s.url("demo"), Some(&t), batch, &headers).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.message()["error"]["code"], json!(-32600), "{}", r.body);
    // tools/call with arguments of the wrong type: -32602 with the request's id.
    let bad = r#"{"jsonrpc":"2.0","id":41,"method":"tools/call","params":{"name":"list_workspaces","arguments":"SECRET-ARG"}}"#;
    let r = post(&s.url("demo"), Some(&t), bad, &headers).await;
    let m = r.message();
    assert_eq!(m["error"]["code"], json!(-32602), "{}", r.body);
    assert_eq!(m["id"], json!(41));
    assert!(!r.body.contains("SECRET-ARG"), "{}", r.body);
    // Bad JSON and deep nesting: -32700 / -32600, never a crash.
    for body in ["{not json".to_string(), "[".repeat(100_000)] {
        let r = post(&s.url("demo"), Some(&t), &body, &headers).await;
        assert_eq!(r.status, 400);
        let code = r.message()["error"]["code"].as_i64().unwrap();
        assert!(code == -32700 || code == -32600, "{code}");
    }
    assert_alive(&s, &t).await;
}

// ---- categories the probe found holding: keep them holding --------------------------

#[tokio::test]
async fn oversized_bodies_are_refused_and_the_server_lives() {
    let (s, t) = with_env(&[]);
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(5 * 1024 * 1024)
    );
    let r = post(&s.url("demo"), Some(&t), &big, &[]).await;
    assert_eq!(r.status, 413, "{}", &r.body[..r.body.len().min(200)]);
    assert_alive(&s, &t).await;
}

#[tokio::test]
async fn a_body_that_never_finishes_is_cut_off() {
    let (s, t) = with_env(&[("PIPEWRIGHT_BODY_TIMEOUT_SECS", "1")]);
    let mut sock = TcpStream::connect(addr(&s)).await.unwrap();
    let head = format!(
        "POST /demo/api/mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {t}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         Content-Length: 1000\r\n\r\n{{\"jsonrpc\""
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    let answer = closed_within(&mut sock, Duration::from_secs(10))
        .await
        .expect("a stalled body holds the connection open");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert_alive(&s, &t).await;
}

#[tokio::test]
async fn auth_attacks_get_well_formed_refusals() {
    let (s, t) = with_env(&[]);
    let other = other_account_token(&s);
    let cases: Vec<(Option<&str>, &str, u16)> = vec![
        (None, "demo", 401),
        (Some(""), "demo", 401),
        (Some("pwt_"), "demo", 401),
        (Some(&other), "demo", 403),
        (Some("' OR 1=1 --"), "demo", 401),
    ];
    for (token, account, status) in cases {
        let r = post(&s.url(account), token, INIT, &[]).await;
        assert_eq!(r.status, status, "{token:?}: {}", r.body);
        let v: Value = serde_json::from_str(&r.body).expect("a JSON refusal");
        assert!(v["error"].is_string());
    }
    // Basic auth and a token in the query string are not accepted.
    let r = reqwest::Client::new()
        .post(format!("{}?access_token={t}", s.url("demo")))
        .basic_auth("demo", Some(&t))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INIT)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_alive(&s, &t).await;
}

#[tokio::test]
async fn path_traversal_goes_nowhere() {
    let (s, t) = with_env(&[]);
    for path in [
        "/demo/../healthz/api/mcp",
        "/..%2F..%2Fetc/api/mcp",
        "/%2e%2e/api/mcp",
        "/.well-known/oauth-protected-resource/..%2F..%2Fetc/api/mcp",
    ] {
        let r = post(&format!("{}{path}", s.base), Some(&t), INIT, &[]).await;
        assert!(
            r.status == 404 || r.status == 401 || r.status == 405,
            "{path}: {} {}",
            r.status,
            r.body
        );
        assert!(!r.body.contains("root:"), "{path}");
    }
    let mut c = Session::open(&s.url("demo"), &t).await;
    let files = support::connection_id(&mut c, "sample-files").await;
    for path in [
        "../../../../etc/passwd",
        "/etc/passwd",
        "..\\..\\etc\\passwd",
    ] {
        let e = c
            .err(
                "discover_file_schema",
                json!({"connection_id": files, "path": path}),
            )
            .await;
        let text = e.to_string();
        assert!(!text.contains("root:"), "{text}");
        assert!(!text.contains("/etc"), "the path was echoed: {text}");
    }
    assert_alive(&s, &t).await;
}

#[cfg(unix)]
#[tokio::test]
async fn fifos_and_links_out_of_a_local_folder_are_refused_promptly() {
    let (s, t) = with_env(&[]);
    let folder = s.data_dir.join("demo/files");
    let fifo = folder.join("pipe.csv");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    std::os::unix::fs::symlink("/etc/passwd", folder.join("passwd.csv")).unwrap();
    std::os::unix::fs::symlink("/etc", folder.join("etc")).unwrap();
    let mut c = Session::open(&s.url("demo"), &t).await;
    let files = support::connection_id(&mut c, "sample-files").await;
    for (path, expected) in [
        ("pipe.csv", &["regular file"][..]),
        ("passwd.csv", &["symbolic link"]),
        ("etc/passwd", &["symbolic link"]),
        ("etc/*", &["symbolic link", "no file matches"]),
    ] {
        let e = tokio::time::timeout(
            Duration::from_secs(20),
            c.err(
                "discover_file_schema",
                json!({"connection_id": files, "path": path}),
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("discover_file_schema on {path} hung"));
        let text = e.to_string();
        assert!(!text.contains("root:"), "{path}: {text}");
        assert!(
            expected.iter().any(|x| text.to_lowercase().contains(x)),
            "{path}: expected one of {expected:?} in {text}"
        );
        assert!(
            !text.contains(folder.to_str().unwrap()),
            "{path}: a server path leaked: {text}"
        );
    }
    assert_alive(&s, &t).await;
}

#[tokio::test]
async fn a_session_flood_stays_bounded() {
    let (s, t) = with_env(&[
        ("PIPEWRIGHT_MAX_SESSIONS_PER_TOKEN", "5"),
        ("PIPEWRIGHT_MAX_SESSIONS", "50"),
    ]);
    for _ in 0..200 {
        let r = post(&s.url("demo"), Some(&t), INIT, &[]).await;
        assert!(r.status == 200 || r.status == 429, "{}", r.status);
    }
    let metrics = reqwest::get(format!("{}/metrics", s.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let open: f64 = metrics
        .lines()
        .find(|l| l.starts_with("pipewright_mcp_sessions "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("the session gauge");
    assert!(open <= 5.0, "{open} sessions open for one token");
    assert_alive(&s, &t).await;
}
