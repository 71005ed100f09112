//! `pipewright connect URL`: a native stdio bridge to a remote Pipewright MCP endpoint, for
//! clients that speak only stdio (Claude Desktop's local servers, older tools). Each line
//! on stdin is one JSON-RPC message, POSTed to the endpoint with the bearer token from
//! `PIPEWRIGHT_TOKEN` (never argv, where `ps` shows it) and the session the server gave;
//! each JSON answer, or each event of an SSE answer, goes to stdout as one line. Requests
//! after `initialize` run concurrently (a long tool call does not hold up a cancel), their
//! answers written whole, one per line. A refusal becomes a JSON-RPC error for the request
//! that met it, with the server's words; the token is never printed. (Its own OAuth
//! sign-in is not built yet: mint a token on the Connected Applications page.)

use std::{sync::Arc, time::Duration};

use anyhow::{bail, Context};
use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    sync::Mutex,
};

/// A stdin line longer than this is refused (the server's own body limit is 4 MiB).
const MAX_LINE: usize = 4 * 1024 * 1024;
/// Requests in flight at once; more wait for one to finish.
const MAX_IN_FLIGHT: usize = 64;
/// A request that has not begun to answer by then gets an error (a tool's own deadline
/// is shorter; this only catches a server that stopped answering).
const REQUEST_DEADLINE: Duration = Duration::from_secs(600);

struct Bridge {
    http: reqwest::Client,
    url: reqwest::Url,
    token: String,
    session: Mutex<Option<String>>,
    protocol: Mutex<Option<String>>,
    out: Mutex<tokio::io::Stdout>,
}

impl Bridge {
    async fn write(&self, v: &Value) {
        let mut line = serde_json::to_vec(v).unwrap_or_default();
        line.push(b'\n');
        let mut out = self.out.lock().await;
        // A client that closed stdout has gone; the loop on stdin ends with it.
        let _ = out.write_all(&line).await;
        let _ = out.flush().await;
    }

    /// A JSON-RPC error for request `id` (nothing for a notification).
    async fn fail(&self, id: Option<&Value>, code: i64, message: String) {
        if let Some(id) = id.filter(|id| !id.is_null()) {
            self.write(
                &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
            )
            .await;
        }
    }

    async fn forward(&self, msg: Value) {
        let id = msg.get("id").cloned();
        let is_initialize = msg.get("method").and_then(Value::as_str) == Some("initialize");
        let mut req = self
            .http
            .post(self.url.clone())
            .bearer_auth(&self.token)
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            )
            .json(&msg);
        if let Some(s) = self.session.lock().await.clone() {
            req = req.header("mcp-session-id", s);
        }
        if let Some(p) = self.protocol.lock().await.clone() {
            req = req.header("mcp-protocol-version", p);
        }
        let resp = match tokio::time::timeout(REQUEST_DEADLINE, req.send()).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                let why = if e.is_connect() {
                    "cannot reach the Pipewright server; check the URL and that it is running"
                } else {
                    "the request to the Pipewright server failed"
                };
                return self.fail(id.as_ref(), -32000, why.into()).await;
            }
            Err(_) => {
                return self
                    .fail(
                        id.as_ref(),
                        -32000,
                        "the Pipewright server did not answer in time".into(),
                    )
                    .await
            }
        };
        if let Some(s) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            *self.session.lock().await = Some(s.to_string());
        }
        let status = resp.status();
        if status == reqwest::StatusCode::ACCEPTED {
            return;
        }
        // An expired session: the client's next initialize starts a new one.
        if status == reqwest::StatusCode::NOT_FOUND {
            *self.session.lock().await = None;
        }
        let sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/event-stream"));
        if !status.is_success() {
            // The server's refusal says what to do (mint a token, use this account, …).
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let said = body["error"]["message"]
                .as_str()
                .or_else(|| body["error"].as_str())
                .unwrap_or("the Pipewright server refused the request")
                .to_string();
            if status == reqwest::StatusCode::UNAUTHORIZED
                || status == reqwest::StatusCode::FORBIDDEN
            {
                eprintln!("pipewright connect: HTTP {}: {said}", status.as_u16());
            }
            return self
                .fail(
                    id.as_ref(),
                    -32000,
                    format!("HTTP {}: {said}", status.as_u16()),
                )
                .await;
        }
        if !sse {
            match resp.json::<Value>().await {
                Ok(v) => {
                    self.remember_protocol(is_initialize, &v).await;
                    self.write(&v).await
                }
                Err(_) => {
                    self.fail(
                        id.as_ref(),
                        -32000,
                        "the server's answer was not JSON".into(),
                    )
                    .await
                }
            }
            return;
        }
        // Server-sent events: each `data:` payload (joined across lines) is one message.
        let mut resp = resp;
        let mut buf = String::new();
        let mut data = String::new();
        loop {
            let chunk = match resp.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) | Err(_) => break,
            };
            buf.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(nl) = buf.find('\n') {
                let line = buf[..nl].trim_end_matches('\r').to_string();
                buf.drain(..=nl);
                if line.is_empty() {
                    if let Ok(v) = serde_json::from_str::<Value>(&data) {
                        self.remember_protocol(is_initialize, &v).await;
                        self.write(&v).await;
                    }
                    data.clear();
                } else if let Some(d) = line.strip_prefix("data:") {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(d.strip_prefix(' ').unwrap_or(d));
                }
            }
        }
        // A stream that ends without the blank line after its last event.
        if let Ok(v) = serde_json::from_str::<Value>(&data) {
            self.write(&v).await;
        }
    }

    async fn remember_protocol(&self, is_initialize: bool, v: &Value) {
        if let (true, Some(p)) = (is_initialize, v["result"]["protocolVersion"].as_str()) {
            *self.protocol.lock().await = Some(p.to_string());
        }
    }
}

pub async fn run(url: String) -> anyhow::Result<()> {
    let url = reqwest::Url::parse(&url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .context("give the endpoint URL, e.g. https://pipewright.example.com/acme/api/mcp")?;
    let token = std::env::var("PIPEWRIGHT_TOKEN").unwrap_or_default();
    if token.trim().is_empty() {
        bail!("set PIPEWRIGHT_TOKEN to a token for this endpoint (`pipewright token create`, or the Connected Applications page)");
    }
    let bridge = Arc::new(Bridge {
        http: reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .context("cannot start the HTTP client")?,
        url,
        token: token.trim().to_string(),
        session: Mutex::new(None),
        protocol: Mutex::new(None),
        out: Mutex::new(tokio::io::stdout()),
    });
    let mut lines = BufReader::new(tokio::io::stdin());
    let mut line = Vec::new();
    let mut pending = tokio::task::JoinSet::new();
    loop {
        line.clear();
        let n = (&mut lines)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .await
            .context("cannot read stdin")?;
        if n == 0 {
            break;
        }
        if line.len() > MAX_LINE {
            bridge
                .write(&json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "message larger than 4 MiB"}}))
                .await;
            // Skip the rest of the over-long line.
            let mut rest = Vec::new();
            let _ = lines.read_until(b'\n', &mut rest).await;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        if text.trim().is_empty() {
            continue;
        }
        let Ok(msg) = serde_json::from_str::<Value>(text.trim()) else {
            bridge
                .write(&json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": "parse error: each line must be one JSON-RPC message"}}))
                .await;
            continue;
        };
        // The session starts with initialize: it is answered before anything else goes.
        if msg.get("method").and_then(Value::as_str) == Some("initialize") {
            bridge.forward(msg).await;
        } else {
            if pending.len() >= MAX_IN_FLIGHT {
                pending.join_next().await;
            }
            let b = bridge.clone();
            pending.spawn(async move { b.forward(msg).await });
        }
        while pending.try_join_next().is_some() {}
    }
    while pending.join_next().await.is_some() {}
    // End the session on the server too.
    if let Some(s) = bridge.session.lock().await.clone() {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            bridge
                .http
                .delete(bridge.url.clone())
                .bearer_auth(&bridge.token)
                .header("mcp-session-id", s)
                .send(),
        )
        .await;
    }
    Ok(())
}
