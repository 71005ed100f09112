//! `pipewright connect URL`: a native stdio bridge to a remote Pipewright MCP endpoint, for
//! clients that speak only stdio (Claude Desktop's local servers, older tools). Each line
//! on stdin is one JSON-RPC message, POSTed to the endpoint with the session the server
//! gave; each JSON answer, or each event of an SSE answer, goes to stdout as one line. An
//! SSE answer that ends before its response resumes with a GET and `Last-Event-ID` after
//! the server's `retry`. Requests after `initialize` run concurrently (a long tool call
//! does not hold up a cancel), their answers written whole, one per line. A refusal
//! becomes a JSON-RPC error for the request that met it, with the server's words.
//!
//! The credential is the token in `PIPEWRIGHT_TOKEN` (never argv, where `ps` shows it),
//! or else the bridge's own OAuth sign-in (`signin`): on the endpoint's 401 the browser
//! opens, and the tokens it gets are kept for next time and refreshed. Neither is ever
//! printed.

mod callback;
mod challenge;
mod signin;
mod sse;
mod store;

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use serde_json::{json, Value};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    sync::Mutex,
};

use challenge::Challenge;
use signin::SignIn;

/// A stdin line longer than this is refused (the server's own body limit is 4 MiB).
const MAX_LINE: usize = 4 * 1024 * 1024;
/// Requests in flight at once; more wait for one to finish.
const MAX_IN_FLIGHT: usize = 64;
/// A request that has not begun to answer by then gets an error (a tool's own deadline
/// is shorter; this only catches a server that stopped answering).
const REQUEST_DEADLINE: Duration = Duration::from_secs(600);
/// Times one answer's stream is resumed after the server closed it early.
const MAX_RESUMES: u32 = 5;
/// The wait before resuming when the server named none, and the most it may name.
const DEFAULT_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);
/// A JSON answer larger than this is refused (the server caps its own well below).
const MAX_ANSWER: usize = 16 * 1024 * 1024;
/// After stdin closes, answers still coming get this long before the bridge exits.
const EOF_GRACE: Duration = Duration::from_secs(30);

/// What the bridge sends as `Authorization`.
enum Credential {
    /// `PIPEWRIGHT_TOKEN`: refused means refused (the user chose this token).
    Token(String),
    /// The bridge's own OAuth sign-in.
    SignIn(Box<SignIn>),
}

impl Credential {
    async fn bearer(&self) -> Option<String> {
        match self {
            Credential::Token(t) => Some(t.clone()),
            Credential::SignIn(s) => s.bearer().await,
        }
    }

    /// The token in use now, without renewing it (to scrub it from what the server says).
    async fn current(&self) -> Option<String> {
        match self {
            Credential::Token(t) => Some(t.clone()),
            Credential::SignIn(s) => s.current().await,
        }
    }
}

struct Bridge {
    http: reqwest::Client,
    url: reqwest::Url,
    credential: Credential,
    session: Mutex<Option<String>>,
    protocol: Mutex<Option<String>>,
    out: Mutex<tokio::io::Stdout>,
}

/// How one answer stream ended.
struct StreamEnd {
    answered: bool,
    last_id: Option<String>,
    retry: Option<Duration>,
}

impl Bridge {
    /// Writes one message as a line. A server that echoes the bearer token (a broken or
    /// hostile one) does not get it into the client's, and the model's, context.
    async fn write(&self, v: &Value) {
        let mut line = serde_json::to_string(v).unwrap_or_default();
        if let Some(t) = self.credential.current().await.filter(|t| t.len() >= 8) {
            if line.contains(&t) {
                line = line.replace(&t, "***");
            }
        }
        let mut line = line.into_bytes();
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

    /// The session, protocol version and credential every request carries.
    async fn with_headers(
        &self,
        mut req: reqwest::RequestBuilder,
        bearer: Option<&str>,
    ) -> reqwest::RequestBuilder {
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(s) = self.session.lock().await.clone() {
            req = req.header("mcp-session-id", s);
        }
        if let Some(p) = self.protocol.lock().await.clone() {
            req = req.header("mcp-protocol-version", p);
        }
        req
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<reqwest::Response, &'static str> {
        match tokio::time::timeout(REQUEST_DEADLINE, req.send()).await {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) if e.is_connect() => {
                Err("cannot reach the Pipewright server; check the URL and that it is running")
            }
            Ok(Err(_)) => Err("the request to the Pipewright server failed"),
            Err(_) => Err("the Pipewright server did not answer in time"),
        }
    }

    /// POSTs `msg`, signing in (once) on a 401 and asking for more scope (once) on a 403
    /// `insufficient_scope`, when the bridge signs in itself.
    async fn post(&self, msg: &Value) -> Result<reqwest::Response, String> {
        let (mut renewed, mut stepped_up) = (false, false);
        loop {
            let bearer = self.credential.bearer().await;
            let req = self
                .http
                .post(self.url.clone())
                .header(
                    reqwest::header::ACCEPT,
                    "application/json, text/event-stream",
                )
                .json(msg);
            let resp = self
                .send(self.with_headers(req, bearer.as_deref()).await)
                .await?;
            let Credential::SignIn(sign_in) = &self.credential else {
                return Ok(resp);
            };
            let status = resp.status();
            if status == reqwest::StatusCode::UNAUTHORIZED && !renewed {
                renewed = true;
                let ch = Challenge::from_headers(resp.headers());
                sign_in
                    .recover(bearer.as_deref(), &ch)
                    .await
                    .map_err(|e| format!("sign-in failed: {e:#}"))?;
                continue;
            }
            if status == reqwest::StatusCode::FORBIDDEN && !stepped_up {
                let ch = Challenge::from_headers(resp.headers());
                if ch.insufficient_scope() {
                    stepped_up = true;
                    let again = sign_in
                        .step_up(bearer.as_deref(), &ch)
                        .await
                        .map_err(|e| format!("sign-in for more access failed: {e:#}"))?;
                    if again {
                        continue;
                    }
                }
            }
            return Ok(resp);
        }
    }

    async fn forward(&self, msg: Value) {
        let id = msg.get("id").cloned();
        let is_initialize = msg.get("method").and_then(Value::as_str) == Some("initialize");
        let resp = match self.post(&msg).await {
            Ok(r) => r,
            Err(why) => return self.fail(id.as_ref(), -32000, why).await,
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
        if !status.is_success() {
            // The server's refusal says what to do (mint a token, use this account, …).
            let body: Value = read_json(resp).await.unwrap_or(Value::Null);
            let said = body["error"]["message"]
                .as_str()
                .or_else(|| body["error_description"].as_str())
                .or_else(|| body["error"].as_str())
                .unwrap_or("the Pipewright server refused the request")
                .chars()
                .take(500)
                .collect::<String>();
            let said = match self.credential.current().await {
                Some(t) if t.len() >= 8 => said.replace(&t, "***"),
                _ => said,
            };
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
        if !is_event_stream(&resp) {
            match read_json(resp).await {
                Some(v) => {
                    self.remember_protocol(is_initialize, &v).await;
                    self.write(&v).await
                }
                None => {
                    self.fail(
                        id.as_ref(),
                        -32000,
                        "the server's answer was not JSON (or larger than 16 MiB, or cut off)"
                            .into(),
                    )
                    .await
                }
            }
            return;
        }
        let mut end = self.relay(resp, id.as_ref(), is_initialize).await;
        // A stream closed before its response, by a server that numbers its events, is
        // resumed with a GET after the wait the server asked for (SEP-1699).
        let mut resumes = 0;
        while !end.answered && id.is_some() && resumes < MAX_RESUMES {
            let Some(last) = end.last_id.clone() else {
                break;
            };
            resumes += 1;
            tokio::time::sleep(end.retry.unwrap_or(DEFAULT_RETRY).min(MAX_RETRY)).await;
            let bearer = self.credential.bearer().await;
            let req = self
                .http
                .get(self.url.clone())
                .header(reqwest::header::ACCEPT, "text/event-stream")
                .header("last-event-id", last);
            let resp = match self
                .send(self.with_headers(req, bearer.as_deref()).await)
                .await
            {
                Ok(r) if r.status().is_success() && is_event_stream(&r) => r,
                _ => break,
            };
            let next = self.relay(resp, id.as_ref(), is_initialize).await;
            end = StreamEnd {
                answered: next.answered,
                last_id: next.last_id.or(end.last_id),
                retry: next.retry.or(end.retry),
            };
        }
        if !end.answered {
            self.fail(
                id.as_ref(),
                -32000,
                "the Pipewright server closed the stream before answering".into(),
            )
            .await;
        }
    }

    /// Writes each message of an SSE answer as a line; says whether the response to `id`
    /// came, and where the stream can be resumed.
    async fn relay(
        &self,
        mut resp: reqwest::Response,
        id: Option<&Value>,
        is_initialize: bool,
    ) -> StreamEnd {
        let mut parser = sse::Parser::default();
        let mut answered = false;
        let handle = |v: Value, answered: &mut bool| {
            if id.is_some_and(|id| v.get("id") == Some(id))
                && (v.get("result").is_some() || v.get("error").is_some())
            {
                *answered = true;
            }
            v
        };
        loop {
            // A stream silent for the whole deadline has stopped (the server's keep-alive
            // comments count as speech).
            let chunk = match tokio::time::timeout(REQUEST_DEADLINE, resp.chunk()).await {
                Ok(Ok(Some(c))) => c,
                _ => break,
            };
            let Ok(events) = parser.push(&chunk) else {
                eprintln!("pipewright connect: the server sent an event larger than 16 MiB; dropped the stream");
                break;
            };
            for e in events {
                if let Ok(v) = serde_json::from_str::<Value>(&e.data) {
                    let v = handle(v, &mut answered);
                    self.remember_protocol(is_initialize, &v).await;
                    self.write(&v).await;
                }
            }
            // The response is the stream's last message; a resumed GET stream may stay
            // open for other requests, so reading stops here.
            if answered {
                return StreamEnd {
                    answered,
                    last_id: parser.last_id.clone(),
                    retry: parser.retry_ms.map(Duration::from_millis),
                };
            }
        }
        if let Some(e) = parser.finish() {
            if let Ok(v) = serde_json::from_str::<Value>(&e.data) {
                let v = handle(v, &mut answered);
                self.remember_protocol(is_initialize, &v).await;
                self.write(&v).await;
            }
        }
        StreamEnd {
            answered: answered || id.is_none(),
            last_id: parser.last_id.clone(),
            retry: parser.retry_ms.map(Duration::from_millis),
        }
    }

    async fn remember_protocol(&self, is_initialize: bool, v: &Value) {
        if let (true, Some(p)) = (is_initialize, v["result"]["protocolVersion"].as_str()) {
            *self.protocol.lock().await = Some(p.to_string());
        }
    }
}

/// A JSON body, read within the size bound and the deadline.
async fn read_json(mut resp: reqwest::Response) -> Option<Value> {
    let mut body = Vec::new();
    let read = async {
        while let Some(chunk) = resp.chunk().await.ok()? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ANSWER {
                return None;
            }
        }
        Some(())
    };
    tokio::time::timeout(REQUEST_DEADLINE, read).await.ok()??;
    serde_json::from_slice(&body).ok()
}

fn is_event_stream(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/event-stream"))
}

pub async fn run(url: String, sign_out: bool) -> anyhow::Result<()> {
    let url = reqwest::Url::parse(&url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .context("give the endpoint URL, e.g. https://pipewright.example.com/acme/api/mcp")?;
    if sign_out {
        let s = SignIn::new(url)?;
        let was = s.sign_out().await?;
        eprintln!(
            "pipewright connect: {}",
            if was {
                "signed out"
            } else {
                "no sign-in was kept for this endpoint"
            }
        );
        return Ok(());
    }
    let token = std::env::var("PIPEWRIGHT_TOKEN").unwrap_or_default();
    let token = token.trim();
    // A launcher with no value for an optional setting may pass its placeholder through
    // (Claude Desktop's `${user_config.token}`): that is no token.
    let placeholder = token.starts_with("${") && token.ends_with('}');
    let credential = if token.is_empty() || placeholder {
        let s = SignIn::new(url.clone())?;
        if let Some(p) = s.store_path() {
            tracing::debug!(path = %p.display(), "sign-ins kept here");
        }
        Credential::SignIn(Box::new(s))
    } else {
        Credential::Token(token.to_string())
    };
    let bridge = Arc::new(Bridge {
        // No redirects: the token and the session go to the endpoint given, nowhere else.
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .build()
            .context("cannot start the HTTP client")?,
        url,
        credential,
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
        let ended = line.last() == Some(&b'\n');
        if line.len() - usize::from(ended) > MAX_LINE {
            bridge
                .write(&json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "message larger than 4 MiB"}}))
                .await;
            // Skip the rest of the over-long line, a bounded piece at a time.
            if !ended {
                let mut rest = Vec::new();
                loop {
                    rest.clear();
                    let n = (&mut lines)
                        .take(64 * 1024)
                        .read_until(b'\n', &mut rest)
                        .await
                        .context("cannot read stdin")?;
                    if n == 0 || rest.last() == Some(&b'\n') {
                        break;
                    }
                }
            }
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
    // The client has gone: answers still coming get a grace period, then are dropped.
    let drained = tokio::time::timeout(EOF_GRACE, async {
        while pending.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        pending.abort_all();
    }
    // End the session on the server too.
    if let Some(s) = bridge.session.lock().await.clone() {
        let bearer = bridge.credential.bearer().await;
        let mut req = bridge
            .http
            .delete(bridge.url.clone())
            .header("mcp-session-id", s);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), req.send()).await;
    }
    Ok(())
}
