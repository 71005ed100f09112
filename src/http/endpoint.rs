//! Everything that must pass before a request reaches the MCP service: a well-formed
//! account segment, the bearer token, the account, membership, MCP switched on, a body
//! that arrives in time and is one well-formed JSON-RPC message, and a session that
//! belongs to this token (or room for a new one).

use std::{
    pin::Pin,
    task::{Context, Poll},
};

use axum::{
    body::{Body, Bytes},
    extract::{Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use catalog::access::{Access, Refusal};
use serde_json::json;

use super::{
    sessions::{Activity, Owner, Refused},
    Edge, MAX_BODY,
};

const SESSION_HEADER: &str = "mcp-session-id";

pub(super) async fn check_request(
    State(edge): State<Edge>,
    Path(account_ref): Path<String>,
    req: Request,
    next: Next,
) -> Response {
    // Nothing from the URL is echoed or queried until it has the shape of an account.
    if !catalog::accounts::is_account_reference(&account_ref) {
        return refusal(
            &edge,
            None,
            StatusCode::NOT_FOUND,
            "Not Found: the path must be /{account}/api/mcp with the account's subdomain or numeric id",
        );
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(|t| t.trim().to_string());
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return refusal(
            &edge,
            Some(&account_ref),
            StatusCode::UNAUTHORIZED,
            Refusal::Unknown.message(),
        );
    };
    // One query: the account by subdomain or id, the token, membership.
    let principal = match edge.store.authenticate_at(&token, &account_ref).await {
        Ok(Access::Granted(p)) => *p,
        Ok(Access::UnknownAccount) => {
            return refusal(
                &edge,
                Some(&account_ref),
                StatusCode::NOT_FOUND,
                "Not Found: no such account; use the account subdomain or numeric id from `pipewright account list`",
            )
        }
        Ok(Access::Refused(r)) => {
            let status = match r {
                Refusal::Unknown | Refusal::Revoked | Refusal::Expired => StatusCode::UNAUTHORIZED,
                Refusal::NotAMember | Refusal::McpDisabled => StatusCode::FORBIDDEN,
            };
            tracing::info!(account = %account_ref, refusal = ?r, "refused MCP request");
            return refusal(
                &edge,
                Some(&account_ref),
                status,
                r.message(),
            );
        }
        Err(e) => return store_down(e),
    };
    let owner = Owner {
        token_id: principal.token_id,
        account_id: principal.account.id,
    };
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(principal);

    let mut initialize = false;
    let body = if parts.method == http::Method::POST {
        let bytes = match read_body(&edge, body).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        if let Err(rejection) = mcp::jsonrpc::precheck(&bytes) {
            let status = if rejection.is_protocol_fault() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            return (status, Json(rejection.to_json())).into_response();
        }
        initialize = is_initialize(&bytes);
        Body::from(bytes)
    } else {
        body
    };

    // A session is reachable only with the credential that opened it.
    let session = parts
        .headers
        .get(SESSION_HEADER)
        .map(|v| v.to_str().unwrap_or_default().to_string());
    if let Some(id) = session {
        let Some(activity) = edge.sessions.enter(&id, owner) else {
            return session_not_found();
        };
        let delete = parts.method == http::Method::DELETE;
        let resp = next.run(Request::from_parts(parts, body)).await;
        if delete && resp.status().is_success() {
            edge.sessions.forget(&id);
        }
        return hold_while_streaming(resp, activity);
    }
    if !initialize {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let reservation = match edge.sessions.admit(owner.token_id).await {
        Ok(r) => r,
        Err(why) => return too_many_sessions(&edge, why),
    };
    let resp = next.run(Request::from_parts(parts, body)).await;
    match resp
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(id) => {
            let id = id.to_string();
            reservation.commit(&id, owner);
            match edge.sessions.enter(&id, owner) {
                Some(activity) => hold_while_streaming(resp, activity),
                None => resp,
            }
        }
        None => resp,
    }
}

/// The body, whole, within the size limit and the body deadline (a client trickling a
/// body one byte a minute does not hold a connection for an hour).
async fn read_body(edge: &Edge, body: Body) -> Result<Bytes, Response> {
    match tokio::time::timeout(edge.body_timeout, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(_)) => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({"error": "request body too large (max 4 MiB)"})),
        )
            .into_response()),
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            Json(json!({"error": "the request body did not arrive in time; send it in one go"})),
        )
            .into_response()),
    }
}

fn is_initialize(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Method<'a> {
        #[serde(borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Method>(body)
        .ok()
        .and_then(|m| m.method)
        .is_some_and(|m| m == "initialize")
}

fn session_not_found() -> Response {
    // The words rmcp uses for an expired session, so clients start a new one.
    (StatusCode::NOT_FOUND, "Not Found: Session not found").into_response()
}

fn too_many_sessions(edge: &Edge, why: Refused) -> Response {
    metrics::counter!("pipewright_mcp_sessions_refused_total").increment(1);
    let (status, message) = match why {
        Refused::TokenAtCap => (
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "this token already has {} MCP sessions in use; end one (DELETE with its Mcp-Session-Id) or wait for one to finish",
                edge.sessions.limits().max_per_token
            ),
        ),
        Refused::ServerAtCap => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is at its MCP session limit; retry in a minute".to_string(),
        ),
    };
    (
        status,
        [(header::RETRY_AFTER, "30")],
        Json(json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32000, "message": message}})),
    )
        .into_response()
}

/// Keeps the session busy until the response body (an SSE stream, often) has ended.
fn hold_while_streaming(resp: Response, activity: Activity) -> Response {
    resp.map(|body| {
        Body::new(Held {
            body,
            _activity: activity,
        })
    })
}

struct Held {
    body: Body,
    _activity: Activity,
}

impl http_body::Body for Held {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A refusal before any tool runs. A 401 points at the protected-resource metadata of
/// the account endpoint, which is echoed only once known to be a well-formed reference.
fn refusal(edge: &Edge, account: Option<&str>, status: StatusCode, message: &str) -> Response {
    metrics::counter!("pipewright_http_refusals_total", "status" => status.as_str().to_string())
        .increment(1);
    let mut resp = (status, Json(json!({"error": message}))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        let url = match account {
            Some(a) => super::well_known::metadata_url(&edge.public_url, a),
            None => format!("{}/.well-known/oauth-protected-resource", edge.public_url),
        };
        let v = format!("Bearer resource_metadata=\"{}\"", quote_escape(&url));
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    resp
}

/// RFC 9110 quoted-string escaping: a `"` or `\` inside cannot end the parameter.
fn quote_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn store_down(e: catalog::CatalogError) -> Response {
    tracing::error!(error = %e, "store unavailable while authenticating");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": "the control-plane store is unavailable; try again shortly"})),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn quote_escape_keeps_a_parameter_whole() {
        assert_eq!(super::quote_escape(r#"a", evil="b\"#), r#"a\", evil=\"b\\"#);
    }

    #[test]
    fn initialize_is_recognised_by_its_method() {
        assert!(super::is_initialize(
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#
        ));
        assert!(!super::is_initialize(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
        ));
    }
}
