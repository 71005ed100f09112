//! The HTTP edge: routes, the auth check in front of the MCP endpoint, protected-resource
//! metadata, health and metrics, and graceful shutdown.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use axum::serve::ListenerExt;
use axum::{
    body::{Body, Bytes},
    extract::{Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use catalog::{
    tokens::{Access, Refusal},
    Store,
};
use mcp::{CallerSource, PipewrightServer, Shared};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rmcp::transport::streamable_http_server::{
    session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::config::Config;

const MAX_BODY: usize = 4 * 1024 * 1024;

#[derive(Clone)]
struct Edge {
    store: Store,
    public_url: Arc<str>,
    metrics: PrometheusHandle,
}

pub async fn serve(cfg: Config, demo: bool, conformance_fixtures: bool) -> anyhow::Result<()> {
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let (store, sealer) = crate::cli::open_store(&cfg).await?;
    if demo {
        crate::demo::ensure(&store, &sealer, &cfg).await?;
    }
    let shared = Arc::new(Shared {
        store: store.clone(),
        sealer,
        registry: mcp::tools::registry(conformance_fixtures),
        read_only: cfg.read_only,
        drivers: Default::default(),
    });
    let listener = tokio::net::TcpListener::bind(cfg.bind)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}; is another server using it? pick one with --bind",
                cfg.bind
            )
        })?;
    let addr = listener.local_addr()?;
    let mut cfg = cfg;
    if cfg.public_url.is_none() {
        // With --bind 127.0.0.1:0 the real port is known only now.
        cfg.public_url = Some(format!("http://{addr}"));
    }
    let shutdown = CancellationToken::new();
    let app = router(&cfg, shared, metrics.clone(), shutdown.clone())?;
    tracing::info!(%addr, public_url = %cfg.public_url(), read_only = cfg.read_only, store = ?store.backend(), "pipewright listening");
    // A line tests and scripts can wait for (stderr, so stdout stays clean).
    eprintln!("pipewright listening on http://{addr}");
    if demo {
        crate::demo::print_connect_help(&store, &cfg).await?;
    }

    let upkeep = metrics.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });

    let stop = shutdown.clone();
    // Responses are SSE streams written in several small writes; without TCP_NODELAY,
    // Nagle's algorithm meets the client's delayed ACK and every call waits ~40 ms.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing requests in flight");
            stop.cancel();
        })
        .await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

fn router(
    cfg: &Config,
    shared: Arc<Shared>,
    metrics: PrometheusHandle,
    shutdown: CancellationToken,
) -> anyhow::Result<Router> {
    let public = cfg.public_url();
    let public_uri: http::Uri = public
        .parse()
        .with_context(|| format!("public_url `{public}` is not a URL"))?;
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Some(h) = public_uri.host() {
        hosts.push(h.trim_matches(|c| c == '[' || c == ']').to_string());
    }
    let mut origins: Vec<String> = vec![format!(
        "{}://{}",
        public_uri.scheme_str().unwrap_or("http"),
        public_uri
            .authority()
            .map(|a| a.as_str())
            .unwrap_or("localhost")
    )];
    origins.extend([
        "http://localhost:*".to_string(),
        "http://127.0.0.1:*".to_string(),
    ]);
    origins.extend(cfg.allowed_origins.iter().cloned());

    let mut config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_max_request_body_bytes(MAX_BODY);
    config.cancellation_token = shutdown.child_token();
    let edge = Edge {
        store: shared.store.clone(),
        public_url: public.into(),
        metrics,
    };
    let mcp_service = StreamableHttpService::new(
        move || {
            Ok(PipewrightServer::new(
                shared.clone(),
                CallerSource::HttpMiddleware,
            ))
        },
        Arc::new(LocalSessionManager::default()),
        config,
    );
    Ok(Router::new()
        .route_service("/{account}/api/mcp", mcp_service)
        .route_layer(middleware::from_fn_with_state(edge.clone(), check_request))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route(
            "/.well-known/oauth-protected-resource",
            get(resource_metadata_root),
        )
        .route(
            "/.well-known/oauth-protected-resource/{account}/api/mcp",
            get(resource_metadata),
        )
        .with_state(edge))
}

async fn healthz(State(edge): State<Edge>) -> Response {
    match sqlx_ping(&edge.store).await {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(e) => {
            // The detail goes to the log only: a health probe is often public.
            tracing::error!(error = %e, "health check: control-plane store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "error": "the control-plane store is unreachable"})),
            )
                .into_response()
        }
    }
}

async fn sqlx_ping(store: &Store) -> Result<(), String> {
    store.ping().await.map_err(|e| e.to_string())
}

async fn metrics_text(State(edge): State<Edge>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        edge.metrics.render(),
    )
        .into_response()
}

fn metadata_url(edge: &Edge, account: &str) -> String {
    format!(
        "{}/.well-known/oauth-protected-resource/{account}/api/mcp",
        edge.public_url
    )
}

/// RFC 9728 protected-resource metadata. Tokens are Personal Access Tokens minted with
/// `pipewright token create`; no authorization server is advertised yet.
async fn resource_metadata(State(edge): State<Edge>, Path(account): Path<String>) -> Json<Value> {
    Json(json!({
        "resource": format!("{}/{account}/api/mcp", edge.public_url),
        "authorization_servers": [],
        "bearer_methods_supported": ["header"],
        "resource_name": "Pipewright MCP",
        "resource_documentation": "Mint a Personal Access Token with `pipewright token create --account ACCOUNT --name NAME` and send it as `Authorization: Bearer <token>`.",
    }))
}

async fn resource_metadata_root(State(edge): State<Edge>) -> Json<Value> {
    Json(json!({
        "resource": edge.public_url.to_string(),
        "authorization_servers": [],
        "bearer_methods_supported": ["header"],
        "resource_name": "Pipewright MCP",
    }))
}

fn refusal(edge: &Edge, account: &str, status: StatusCode, message: &str) -> Response {
    metrics::counter!("pipewright_http_refusals_total", "status" => status.as_str().to_string())
        .increment(1);
    let mut resp = (status, Json(json!({"error": message}))).into_response();
    if status == StatusCode::UNAUTHORIZED {
        let v = format!(
            "Bearer resource_metadata=\"{}\"",
            metadata_url(edge, account)
        );
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
    }
    resp
}

fn jsonrpc_error(code: i64, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// Every check that must pass before a request reaches a tool: the bearer token, the
/// account, membership, MCP switched on, and (for POST) a well-formed JSON-RPC body.
async fn check_request(
    State(edge): State<Edge>,
    Path(account_ref): Path<String>,
    req: Request,
    next: Next,
) -> Response {
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
            &account_ref,
            StatusCode::UNAUTHORIZED,
            mcp::server::refusal_message(&Refusal::Unknown),
        );
    };
    // One query: the account by subdomain or id, the token, membership.
    let principal = match edge.store.authenticate_at(&token, &account_ref).await {
        Ok(Access::Granted(p)) => p,
        Ok(Access::UnknownAccount) => {
            return refusal(
                &edge,
                &account_ref,
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
                &account_ref,
                status,
                mcp::server::refusal_message(&r),
            );
        }
        Err(e) => return store_down(e),
    };
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(principal);
    if parts.method != http::Method::POST {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes: Bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({"error": "request body too large (max 4 MiB)"})),
            )
                .into_response()
        }
    };
    if let Some(resp) = malformed(&bytes) {
        return resp;
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// JSON-RPC 2.0 shape check: a parse failure is -32700, anything that is JSON but not a
/// JSON-RPC message (or batch of them) is -32600, as the seed's troubleshooting table says.
fn malformed(body: &[u8]) -> Option<Response> {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return Some(jsonrpc_error(-32700, "Parse error: the body is not JSON")),
    };
    let ok = |m: &Value| {
        m.get("jsonrpc").and_then(Value::as_str) == Some("2.0")
            && (m.get("method").is_some_and(Value::is_string)
                || m.get("result").is_some()
                || m.get("error").is_some())
    };
    let valid = match &v {
        Value::Object(_) => ok(&v),
        Value::Array(items) => !items.is_empty() && items.iter().all(ok),
        _ => false,
    };
    (!valid).then(|| {
        jsonrpc_error(
            -32600,
            "Invalid Request: the body must be a JSON-RPC 2.0 message with \"jsonrpc\": \"2.0\" and a string \"method\"",
        )
    })
}

fn store_down(e: catalog::CatalogError) -> Response {
    tracing::error!(error = %e, "store unavailable while authenticating");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": "the control-plane store is unavailable; try again shortly"})),
    )
        .into_response()
}
