//! `list_audit_events`: the account's audit trail, newest first, filtered.

use catalog::audit::{AuditEvent, AuditFilter};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "list_audit_events",
            title: "List audit events",
            description: "The account's audit trail, newest first: action, target, before/after, user, token, client and tool. Filter by target, actor, tool, action and since/until. Paginated.",
            effect: Effect::Read,
        },
        list_audit_events,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    /// e.g. `package`, `schedule`, `connection`.
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    pub token_name: Option<String>,
    /// e.g. `update_package_components`.
    pub tool: Option<String>,
    /// e.g. `package.update`.
    pub action: Option<String>,
    /// RFC 3339 time, inclusive.
    pub since: Option<String>,
    /// RFC 3339 time, exclusive.
    pub until: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Events {
    pub audit_events: Vec<AuditEvent>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

fn millis(field: &str, v: Option<&str>) -> Result<Option<i64>, ToolError> {
    v.map(|s| {
        chrono::DateTime::parse_from_rfc3339(s.trim())
            .map(|t| t.timestamp_millis())
            .map_err(|_| {
                ToolError::invalid(field, "is not an RFC 3339 time")
                    .with_hint("write it like 2026-11-30T12:00:00Z")
            })
    })
    .transpose()
}

async fn list_audit_events(ctx: ToolContext, a: Args) -> Result<Events, ToolError> {
    let page = lookup::page(a.limit, a.offset)?;
    if a.target_id.is_some() && a.target_type.is_none() {
        return Err(ToolError::invalid(
            "target_type",
            "give target_type with target_id (e.g. package)",
        ));
    }
    let filter = AuditFilter {
        target_type: a.target_type.as_deref(),
        target_id: a.target_id,
        user_id: a.user_id,
        token_id: a.token_id,
        token_name: a.token_name.as_deref(),
        tool: a.tool.as_deref(),
        action: a.action.as_deref(),
        since_ms: millis("since", a.since.as_deref())?,
        until_ms: millis("until", a.until.as_deref())?,
    };
    let p = ctx
        .store
        .list_audit_events(ctx.account_id(), &filter, page)
        .await?;
    Ok(Events {
        audit_events: p.items,
        total: p.total,
        limit: p.limit,
        offset: p.offset,
    })
}
