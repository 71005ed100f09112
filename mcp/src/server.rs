//! The MCP server handler: lists and calls tools from the [`Registry`] for an
//! authenticated caller. Over HTTP the caller was authenticated by the binary's auth
//! middleware (a [`Principal`] in the request's extensions); over stdio the handler
//! re-checks the token from the environment on every request, so revocation applies to
//! stdio sessions too.

use std::{sync::Arc, time::Instant};

use catalog::{access::Access, seal::Sealer, Principal, Store};
#[allow(deprecated)]
use rmcp::{
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, ListToolsResult,
        PaginatedRequestParams, ServerCapabilities, ServerConfig, SetLevelRequestParams,
    },
    service::RequestContext,
    ErrorData as McpError, RoleServer, ServerHandler,
};
use serde_json::Value;

use crate::{context::ToolContext, error::ErrorCode, error::ToolError, registry::Registry};

const INSTRUCTIONS: &str = "Pipewright: data-integration control plane. Start with list_workspaces, then list_packages / \
list_connections / list_clusters; use search_all to find anything by name. Every list is paginated with limit/offset and \
returns total. Errors come back as results with isError true and an error.field naming the argument to fix.";

/// How the caller is identified.
#[derive(Clone)]
pub enum CallerSource {
    /// The HTTP auth middleware put a `Principal` in the request's extensions.
    HttpMiddleware,
    /// A token and account given at start (stdio), re-checked on every request.
    Fixed { account: String, token: Arc<str> },
}

/// State shared by every session.
pub struct Shared {
    pub store: Store,
    pub sealer: Arc<Sealer>,
    pub registry: Registry,
    /// Open drivers, one per connection (and bucket).
    pub connections: Arc<connectors::Connections>,
    /// The whole server is read-only: mutating tools are neither listed nor callable.
    pub read_only: bool,
}

#[derive(Clone)]
pub struct PipewrightServer {
    shared: Arc<Shared>,
    caller: CallerSource,
}

impl PipewrightServer {
    pub fn new(shared: Arc<Shared>, caller: CallerSource) -> Self {
        Self { shared, caller }
    }

    async fn principal(&self, ctx: &RequestContext<RoleServer>) -> Result<Principal, McpError> {
        let mut p = match &self.caller {
            CallerSource::HttpMiddleware => ctx
                .extensions
                .get::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<Principal>())
                .cloned()
                .ok_or_else(|| {
                    McpError::internal_error("request reached a tool without authentication", None)
                })?,
            CallerSource::Fixed { account, token } => {
                let access = self
                    .shared
                    .store
                    .authenticate_at(token, account)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "store unavailable while authenticating");
                        McpError::internal_error(
                            "the control-plane store is unavailable; try again shortly",
                            None,
                        )
                    })?;
                match access {
                    Access::Granted(p) => *p,
                    Access::UnknownAccount => {
                        return Err(McpError::invalid_request(
                            format!("account `{account}` not found; check --account"),
                            None,
                        ))
                    }
                    Access::Refused(r) => {
                        return Err(McpError::invalid_request(r.message().to_string(), None))
                    }
                }
            }
        };
        p.read_only |= self.shared.read_only;
        if let Some(info) = ctx.peer.peer_info() {
            if p.client_name.is_none() {
                p.client_name = Some(info.client_info.name.clone());
            }
            if p.client_version.is_none() {
                p.client_version = Some(info.client_info.version.clone());
            }
        }
        Ok(p)
    }
}

// Logging is deprecated in MCP 2026-07-28 but still part of 2025-11-25, which most clients
// (and the conformance suite) speak today; declared so `logging/setLevel` is answered.
#[allow(deprecated)]
impl ServerHandler for PipewrightServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_logging()
                .build(),
        )
        .with_server_info(
            Implementation::new("pipewright", env!("CARGO_PKG_VERSION")).with_title("Pipewright"),
        )
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let p = self.principal(&ctx).await?;
        Ok(ListToolsResult::with_all_items(
            self.shared
                .registry
                .visible(p.read_only)
                .filter(|t| p.credential.scopes.allows_tool(&t.definition.name))
                .map(|t| t.definition.clone())
                .collect(),
        ))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let mut principal = self.principal(&ctx).await?;
        let name = request.name.as_ref();
        // Every change the tool makes is audited under its name.
        principal.tool = Some(name.to_string());
        let Some(spec) = self.shared.registry.get(name) else {
            return Err(McpError::invalid_params(
                format!("unknown tool `{name}`; tools/list shows the available tools"),
                None,
            ));
        };
        let started = Instant::now();
        let result = if !principal.credential.scopes.allows_tool(name) {
            Err(ToolError::new(
                ErrorCode::Forbidden,
                format!("`{name}` is outside this token's scopes: it may call only the tools tools/list shows it"),
            )
            .with_hint("use a token whose --tools include this tool, or one without --tools"))
        } else if principal.read_only && !spec.read_only() {
            Err(ToolError::new(
                ErrorCode::Forbidden,
                format!("`{name}` changes state and this token or server is read-only"),
            )
            .with_hint(
                "use a token created without --read-only, on a server not started with --read-only",
            ))
        } else {
            let args = request.arguments.map(Value::Object).unwrap_or(Value::Null);
            let ctx = ToolContext {
                store: self.shared.store.clone(),
                sealer: self.shared.sealer.clone(),
                principal: principal.clone(),
                connections: self.shared.connections.clone(),
            };
            let guarded = match crate::scope::check(&ctx, &args).await {
                Ok(()) => {
                    crate::scope::check_created_only(&ctx, name, spec.read_only(), &args).await
                }
                e => e,
            };
            match guarded {
                Err(e) => Err(e),
                Ok(()) => spec.call(ctx.clone(), args).await.map(|mut v| {
                    crate::scope::filter(&ctx, name, &mut v);
                    v
                }),
            }
        };
        let elapsed = started.elapsed();
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) if e.code == ErrorCode::InvalidArgument => "invalid_argument",
            Err(_) => "error",
        };
        metrics::counter!("pipewright_tool_calls_total", "tool" => spec.meta.name, "outcome" => outcome).increment(1);
        metrics::histogram!("pipewright_tool_call_seconds", "tool" => spec.meta.name)
            .record(elapsed.as_secs_f64());
        tracing::info!(
            tool = spec.meta.name,
            account = principal.account.id,
            token_id = principal.token_id,
            client = principal.client_name.as_deref().unwrap_or("-"),
            outcome,
            ms = elapsed.as_secs_f64() * 1000.0,
            "tool call"
        );
        Ok(match result {
            Ok(v) => CallToolResult::structured(v),
            Err(e) => e.into_result(),
        }
        .into())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        tracing::debug!(level = ?request.level, "client set its log level");
        Ok(())
    }
}
