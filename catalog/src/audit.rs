//! The audit trail: who changed what, through which token, client and tool, before and
//! after. Events are written inside the transaction of the change they describe, so a
//! change without its event (or the reverse) cannot exist.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;

use crate::{
    access::Principal,
    store::{Filters, Tx},
    time::now_ms,
    Page, PageRequest, Result, Store,
};

/// Who makes a change, and through what. From a [`Principal`] for a tool call (token,
/// client and tool included), or [`Actor::system`] for the server itself (demo data, CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub account_id: i64,
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    /// The token's name when the change was made; kept, as names can change later.
    pub token_name: Option<String>,
    pub client_name: Option<String>,
    pub client_version: Option<String>,
    /// The MCP tool (or command) that asked for the change.
    pub tool: Option<String>,
}

impl Actor {
    /// The server itself, or an admin at the command line.
    pub fn system(account_id: i64) -> Self {
        Self {
            account_id,
            user_id: None,
            token_id: None,
            token_name: None,
            client_name: None,
            client_version: None,
            tool: None,
        }
    }

    /// The same actor, naming the tool it acts through.
    pub fn with_tool(mut self, tool: impl Into<String>) -> Self {
        self.tool = Some(tool.into());
        self
    }
}

impl From<&Principal> for Actor {
    fn from(p: &Principal) -> Self {
        Self {
            account_id: p.account.id,
            user_id: Some(p.user_id),
            token_id: Some(p.token_id),
            token_name: Some(p.token_name.clone()),
            client_name: p.client_name.clone(),
            client_version: p.client_version.clone(),
            tool: p.tool.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub actor: Actor,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<i64>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl NewEvent {
    pub fn new(
        actor: &Actor,
        action: &'static str,
        target_type: &'static str,
        target_id: Option<i64>,
    ) -> Self {
        Self {
            actor: actor.clone(),
            action,
            target_type,
            target_id,
            before: None,
            after: None,
        }
    }
    /// A change made by the server itself or an admin at the command line.
    pub fn system(
        account_id: i64,
        action: &'static str,
        target_type: &'static str,
        target_id: Option<i64>,
    ) -> Self {
        Self::new(&Actor::system(account_id), action, target_type, target_id)
    }
    /// A change made through a token (MCP tool call).
    pub fn by(
        p: &Principal,
        action: &'static str,
        target_type: &'static str,
        target_id: Option<i64>,
    ) -> Self {
        Self::new(&Actor::from(p), action, target_type, target_id)
    }
    pub fn before(mut self, v: Value) -> Self {
        self.before = Some(v);
        self
    }
    pub fn after(mut self, v: Value) -> Self {
        self.after = Some(v);
        self
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct AuditEvent {
    pub id: i64,
    pub actor_user_id: Option<i64>,
    pub token_id: Option<i64>,
    pub token_name: Option<String>,
    pub client_name: Option<String>,
    pub client_version: Option<String>,
    pub tool: Option<String>,
    /// What happened, e.g. `package.update`.
    pub action: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    /// For package events, the changed values keyed by JSON Pointer (`/name`,
    /// `/data_flow_json/components/2`); other keys are notes such as `cloned_from`.
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub at: String,
}

/// Which events to list; every filter given must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter<'a> {
    pub target_type: Option<&'a str>,
    pub target_id: Option<i64>,
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    pub token_name: Option<&'a str>,
    pub tool: Option<&'a str>,
    pub action: Option<&'a str>,
    /// Epoch milliseconds, inclusive.
    pub since_ms: Option<i64>,
    /// Epoch milliseconds, exclusive.
    pub until_ms: Option<i64>,
}

pub(crate) async fn record(tx: &mut Tx, e: NewEvent) -> Result<i64> {
    let a = e.actor;
    let id = sqlx::query_scalar(
        "INSERT INTO audit_events (account_id, actor_user_id, token_id, token_name, client_name, client_version, tool, \
         action, target_type, target_id, before_json, after_json, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(a.account_id)
    .bind(a.user_id)
    .bind(a.token_id)
    .bind(a.token_name)
    .bind(a.client_name)
    .bind(a.client_version)
    .bind(a.tool)
    .bind(e.action)
    .bind(e.target_type)
    .bind(e.target_id)
    .bind(e.before.map(|v| v.to_string()))
    .bind(e.after.map(|v| v.to_string()))
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?;
    Ok(id)
}

const COLS: &str =
    "id, actor_user_id, token_id, token_name, client_name, client_version, tool, action, \
    target_type, target_id, before_json, after_json, at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<AuditEvent> {
    let json = |c: &str| -> Result<Option<Value>> {
        Ok(r.try_get::<Option<String>, _>(c)?
            .and_then(|s| serde_json::from_str(&s).ok()))
    };
    Ok(AuditEvent {
        id: r.try_get("id")?,
        actor_user_id: r.try_get("actor_user_id")?,
        token_id: r.try_get("token_id")?,
        token_name: r.try_get("token_name")?,
        client_name: r.try_get("client_name")?,
        client_version: r.try_get("client_version")?,
        tool: r.try_get("tool")?,
        action: r.try_get("action")?,
        target_type: r.try_get("target_type")?,
        target_id: r.try_get("target_id")?,
        before: json("before_json")?,
        after: json("after_json")?,
        at: crate::time::rfc3339(r.try_get("at")?),
    })
}

impl Store {
    /// Events matching `filter`, newest first.
    pub async fn list_audit_events(
        &self,
        account_id: i64,
        filter: &AuditFilter<'_>,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let mut f = Filters::default();
        f.int("account_id = {}", account_id);
        if let Some(v) = filter.target_type {
            f.text("target_type = {}", v);
        }
        if let Some(v) = filter.target_id {
            f.int("target_id = {}", v);
        }
        if let Some(v) = filter.user_id {
            f.int("actor_user_id = {}", v);
        }
        if let Some(v) = filter.token_id {
            f.int("token_id = {}", v);
        }
        if let Some(v) = filter.token_name {
            f.text("token_name = {}", v);
        }
        if let Some(v) = filter.tool {
            f.text("tool = {}", v);
        }
        if let Some(v) = filter.action {
            f.text("action = {}", v);
        }
        if let Some(v) = filter.since_ms {
            f.int("at >= {}", v);
        }
        if let Some(v) = filter.until_ms {
            f.int("at < {}", v);
        }
        f.page(
            &self.pool,
            (COLS, "audit_events", "id DESC"),
            page,
            from_row,
        )
        .await
    }

    /// The newest `limit` events of the account.
    /// Whether the credential of token `token_id` created `target_type` `target_id`: the
    /// trail's creation event (create or clone) was made through this token or, for an
    /// OAuth access token, through any token of its grant (refreshes mint new ones).
    pub async fn created_by(
        &self,
        account_id: i64,
        target_type: &str,
        target_id: i64,
        token_id: i64,
    ) -> Result<bool> {
        let hit: Option<i64> = sqlx::query_scalar(
            "SELECT a.id FROM audit_events a \
             WHERE a.account_id = $1 AND a.target_type = $2 AND a.target_id = $3 \
               AND a.action IN ('package.create', 'package.clone', 'schedule.create') \
               AND a.token_id IN ( \
                 SELECT t2.id FROM tokens t1 JOIN tokens t2 \
                   ON t2.id = t1.id OR (t1.grant_id IS NOT NULL AND t2.grant_id = t1.grant_id) \
                 WHERE t1.id = $4) \
             LIMIT 1",
        )
        .bind(account_id)
        .bind(target_type)
        .bind(target_id)
        .bind(token_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(hit.is_some())
    }

    pub async fn audit_events(&self, account_id: i64, limit: i64) -> Result<Vec<AuditEvent>> {
        Ok(self
            .list_audit_events(
                account_id,
                &AuditFilter::default(),
                PageRequest::new(limit, 0),
            )
            .await?
            .items)
    }
}
