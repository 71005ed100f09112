//! The HTTP edge, by concern: the accept loop and its limits ([`listener`]), the checks
//! in front of the MCP endpoint ([`endpoint`]), MCP sessions ([`sessions`]),
//! protected-resource metadata ([`well_known`]), health and metrics ([`ops`]), the OAuth
//! authorization server ([`oauth`]) and the web pages ([`pages`]).

mod bundles;
mod endpoint;
mod listener;
mod oauth;
mod ops;
mod pages;
mod sessions;
mod well_known;

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use axum::{
    middleware,
    routing::{get, post},
    Router,
};
use catalog::Store;
use mcp::{CallerSource, PipewrightServer, Shared};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use rmcp::transport::streamable_http_server::{
    session::local::LocalSessionManager, StreamableHttpServerConfig, StreamableHttpService,
};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use sessions::{SessionLimits, Sessions};

const MAX_BODY: usize = 4 * 1024 * 1024;

/// Descriptors kept free for the store, drivers and logs when the connection cap is
/// derived from the open-file limit.
const FD_RESERVE: u64 = 128;

#[derive(Clone)]
struct Edge {
    store: Store,
    public_url: Arc<str>,
    metrics: PrometheusHandle,
    sessions: Arc<Sessions>,
    body_timeout: Duration,
    limiter: Arc<pages::Limiter>,
    /// Signs device cookies (derived from the master key: the same on every replica).
    device_key: Arc<str>,
    /// Password checks at once.
    hashing: Arc<tokio::sync::Semaphore>,
    secure_cookies: bool,
    allow_loopback_metadata: bool,
    trust_forwarded_for: bool,
    /// Claude Desktop extensions offered on Connected Applications.
    bundles_dir: Option<Arc<std::path::Path>>,
    /// Every tool's name, offered as a limit on the consent screen.
    tool_names: Arc<[&'static str]>,
}

pub async fn serve(cfg: Config, demo: bool, conformance_fixtures: bool) -> anyhow::Result<()> {
    let metrics = PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let shared = crate::app::open(&cfg, conformance_fixtures).await?;
    let store = shared.store.clone();
    if demo {
        crate::demo::ensure(&store, &shared.sealer, &cfg).await?;
    }
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
    let limits = connection_limits(&cfg);
    let shutdown = CancellationToken::new();
    let worker = crate::worker::spawn(&cfg, &shared, shutdown.child_token());
    let scheduler = crate::scheduler::spawn(&cfg, &store, shutdown.child_token());
    let (app, sessions) = router(&cfg, shared, metrics.clone(), shutdown.clone())?;
    tracing::info!(%addr, public_url = %cfg.public_url(), read_only = cfg.read_only, store = ?store.backend(),
        max_connections = limits.max_connections, max_sessions = cfg.max_sessions, "pipewright listening");
    // A line tests and scripts can wait for (stderr, so stdout stays clean).
    eprintln!("pipewright listening on http://{addr}");
    if demo {
        crate::demo::print_connect_help(&store, &cfg).await?;
    }

    let upkeep = metrics.clone();
    let upkeep_stop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(5)) => upkeep.run_upkeep(),
                () = upkeep_stop.cancelled() => return,
            }
        }
    });
    tokio::spawn(sessions.run_sweeper(shutdown.clone()));

    let stop = shutdown.clone();
    listener::serve(listener, app, limits, async move {
        shutdown_signal().await;
        // Ends SSE streams and the sweeper, so draining connections can finish.
        stop.cancel();
    })
    .await?;
    shutdown.cancel();
    if let Some(s) = scheduler {
        let _ = tokio::time::timeout(Duration::from_secs(5), s).await;
    }
    if let Some(w) = worker {
        let _ = tokio::time::timeout(Duration::from_secs(10), w).await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The connection limits from the configuration, the cap kept below the open-file limit.
fn connection_limits(cfg: &Config) -> listener::Limits {
    let mut max_connections = cfg.max_connections.max(1);
    if let Some(nofile) = listener::raise_fd_limit() {
        let room = nofile.saturating_sub(FD_RESERVE).max(8) as usize;
        if room < max_connections {
            tracing::warn!(
                max_connections,
                open_file_limit = nofile,
                "the open-file limit is low: serving at most {room} connections (raise `ulimit -n`)"
            );
            max_connections = room;
        }
    }
    listener::Limits {
        max_connections,
        header_timeout: Duration::from_secs(cfg.header_timeout_secs.max(1)),
        write_stall_timeout: Duration::from_secs(cfg.write_stall_timeout_secs.max(1)),
        max_requests_per_connection: cfg.max_requests_per_connection.max(1),
        shutdown_grace: Duration::from_secs(cfg.shutdown_grace_secs),
    }
}

pub(crate) async fn shutdown_signal() {
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
    tracing::info!("shutting down");
}

fn router(
    cfg: &Config,
    shared: Arc<Shared>,
    metrics: PrometheusHandle,
    shutdown: CancellationToken,
) -> anyhow::Result<(Router, Arc<Sessions>)> {
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
    // Sessions expire through our registry, which counts an open GET stream as use.
    // rmcp's own idle timer counts only messages, so it would end a session whose client
    // merely holds its stream open: it stays, long, as a backstop.
    let mut manager = LocalSessionManager::default();
    manager.session_config.keep_alive = Some(Duration::from_secs(cfg.session_idle_secs.max(3600)));
    let manager = Arc::new(manager);
    let sessions = Sessions::new(
        manager.clone(),
        SessionLimits {
            max_sessions: cfg.max_sessions.max(1),
            max_per_token: cfg.max_sessions_per_token.max(1),
            idle: Duration::from_secs(cfg.session_idle_secs.max(1)),
        },
    );
    let edge = Edge {
        store: shared.store.clone(),
        public_url: public.into(),
        metrics,
        sessions: sessions.clone(),
        body_timeout: Duration::from_secs(cfg.body_timeout_secs.max(1)),
        limiter: Arc::default(),
        device_key: catalog::tokens::hash_token(&String::from_utf8_lossy(
            &shared.sealer.derive("device cookies"),
        ))
        .into(),
        hashing: Arc::new(tokio::sync::Semaphore::new(pages::HASHING_AT_ONCE)),
        secure_cookies: secure_cookies(&public_uri),
        allow_loopback_metadata: cfg.oauth_loopback_metadata,
        trust_forwarded_for: cfg.trust_forwarded_for,
        bundles_dir: cfg.bundles_dir.as_deref().map(Arc::from),
        // The tools this server serves (the shared table, not a second one).
        tool_names: shared
            .registry
            .visible(false)
            .map(|t| t.meta.name)
            .collect(),
    };
    let mcp_service = StreamableHttpService::new(
        move || {
            Ok(PipewrightServer::new(
                shared.clone(),
                CallerSource::HttpMiddleware,
            ))
        },
        manager,
        config,
    );
    let app = Router::new()
        .route_service("/{account}/api/mcp", mcp_service)
        .route_layer(middleware::from_fn_with_state(
            edge.clone(),
            endpoint::check_request,
        ))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics_text))
        .route(
            "/.well-known/oauth-protected-resource",
            get(well_known::resource_metadata_root),
        )
        .route(
            "/.well-known/oauth-protected-resource/{account}/api/mcp",
            get(well_known::resource_metadata),
        )
        // A download streams for as long as it takes (the listener's write-stall deadline
        // still holds), so it is not under the pages' answer deadline.
        .route("/downloads/{file}", get(bundles::download))
        .merge(web_routes(edge.clone()))
        .with_state(edge);
    Ok((app, sessions))
}

/// The authorization server and the pages: every request within the body deadline.
fn web_routes(edge: Edge) -> Router<Edge> {
    Router::new()
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth::authorization_server_metadata),
        )
        .route("/oauth/register", post(oauth::register))
        .route(
            "/oauth/authorize",
            get(oauth::authorize_page).post(oauth::authorize_decision),
        )
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/revoke", post(oauth::revoke))
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/apps", get(pages::apps_home))
        .route("/apps/{account}", get(pages::apps))
        .route("/apps/{account}/tokens", post(pages::create_token))
        .route("/apps/{account}/revoke", post(pages::revoke))
        .layer(middleware::from_fn_with_state(edge, within_deadline))
}

/// A page or token request, body included, is answered within the body deadline.
async fn within_deadline(
    axum::extract::State(edge): axum::extract::State<Edge>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(edge.body_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => (
            http::StatusCode::REQUEST_TIMEOUT,
            [(http::header::CONNECTION, "close")],
            "the request did not complete in time; send it in one go",
        )
            .into_response(),
    }
}

/// Cookies are `Secure` unless the server is plain HTTP on a host browsers would not
/// treat as secure (then a warning: OAuth sign-in belongs behind HTTPS).
fn secure_cookies(public: &http::Uri) -> bool {
    let loopback = matches!(
        public.host(),
        Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
    );
    let https = public.scheme_str() == Some("https");
    if !https && !loopback {
        tracing::warn!("public_url is plain HTTP on a non-loopback host: sign-in cookies are not Secure; serve Pipewright behind HTTPS");
    }
    https || loopback
}
