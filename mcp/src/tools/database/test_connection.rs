//! `test_connection`: connect to a connection of either family and say what failed, or
//! whether its user can write.

use catalog::connections::Family;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::{ErrorCode, ToolError},
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "test_connection",
            title: "Test a connection",
            description: "Connects to a connection's upstream system and runs a trivial query. Returns success; on failure error_message says what failed (host, TLS, credentials, database, permission, timeout) and what to do. Also says whether the user can write (a preview connection should not).",
            effect: Effect::ReadUpstream,
        },
        test_connection,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestConnectionArgs {
    pub connection_id: i64,
    /// `database` or `file`, checked against the connection.
    #[serde(default)]
    pub connection_type: Option<String>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct TestConnectionResult {
    pub connection_id: i64,
    /// The connection's type (postgres, mysql, sqlite, local, …).
    pub connection_type: String,
    pub success: bool,
    /// What failed and what to do; absent on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// unreachable, tls, auth_failed, database_missing, permission_denied, timeout, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    /// Whether the connection's user can change data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_write: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

async fn test_connection(
    ctx: ToolContext,
    a: TestConnectionArgs,
) -> Result<TestConnectionResult, ToolError> {
    let conn = lookup::connection(&ctx, a.connection_id).await?;
    if let Some(t) = &a.connection_type {
        let wanted = match t.as_str() {
            "database" => Family::Database,
            "file" | "cloud_storage" | "storage" => Family::File,
            _ => {
                return Err(ToolError::invalid(
                    "connection_type",
                    "use `database` or `file`",
                ))
            }
        };
        if wanted != conn.family {
            return Err(ToolError::new(
                ErrorCode::NotFound,
                format!(
                    "connection {} is a {} connection, not {t}",
                    conn.id,
                    conn.family.as_str()
                ),
            )
            .with_field("connection_type")
            .with_hint("omit connection_type, or give the connection's own family"));
        }
    }
    let mut out = TestConnectionResult {
        connection_id: conn.id,
        connection_type: conn.kind.clone(),
        success: false,
        error_message: None,
        error_kind: None,
        server_version: None,
        latency_ms: None,
        can_write: None,
        warning: None,
    };
    let outcome = ctx.connections.ping(ctx.account_id(), conn.id).await;
    match outcome {
        Ok(p) => {
            out.success = true;
            out.server_version = Some(p.server_version);
            out.latency_ms = Some((p.latency_ms * 100.0).round() / 100.0);
            out.can_write = p.can_write;
            if p.can_write == Some(true) {
                out.warning = Some(
                    "this connection's user can change data; for previews and discovery, a read-only (SELECT-only) user is safer".into(),
                );
            }
        }
        // Not the connection failing, but the test not being made.
        Err(e) if e.is_ours() => return Err(e.into()),
        Err(e) => {
            out.error_kind = Some(e.kind().to_string());
            out.error_message = Some(e.to_string());
        }
    }
    Ok(out)
}
