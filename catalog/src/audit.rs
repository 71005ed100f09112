//! The audit trail: who changed what, through which token and client, before and after.
//! Events are written inside the transaction of the change they describe, so a change
//! without its event (or the reverse) cannot exist.

use serde::Serialize;
use serde_json::Value;
use sqlx::{Any, Row, Transaction};

use crate::{time::now_ms, tokens::Principal, Result, Store};

#[derive(Debug, Clone)]
pub struct NewEvent {
    pub account_id: i64,
    pub actor_user_id: Option<i64>,
    pub token_id: Option<i64>,
    pub client_name: Option<String>,
    pub action: &'static str,
    pub target_type: &'static str,
    pub target_id: Option<i64>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl NewEvent {
    /// A change made by the server itself or an admin at the command line.
    pub fn system(
        account_id: i64,
        action: &'static str,
        target_type: &'static str,
        target_id: Option<i64>,
    ) -> Self {
        Self {
            account_id,
            actor_user_id: None,
            token_id: None,
            client_name: None,
            action,
            target_type,
            target_id,
            before: None,
            after: None,
        }
    }
    /// A change made through a token (MCP tool call).
    pub fn by(
        p: &Principal,
        action: &'static str,
        target_type: &'static str,
        target_id: Option<i64>,
    ) -> Self {
        Self {
            actor_user_id: Some(p.user_id),
            token_id: Some(p.token_id),
            client_name: p.client_name.clone(),
            ..Self::system(p.account.id, action, target_type, target_id)
        }
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

#[derive(Debug, Clone, Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub actor_user_id: Option<i64>,
    pub token_id: Option<i64>,
    pub client_name: Option<String>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub at: String,
}

pub async fn record(tx: &mut Transaction<'static, Any>, e: NewEvent) -> Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO audit_events (account_id, actor_user_id, token_id, client_name, action, target_type, target_id, before_json, after_json, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(e.account_id)
    .bind(e.actor_user_id)
    .bind(e.token_id)
    .bind(e.client_name)
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

impl Store {
    /// The newest events first.
    pub async fn audit_events(&self, account_id: i64, limit: i64) -> Result<Vec<AuditEvent>> {
        // LIMIT written in, not bound: see `PageRequest::sql`.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, actor_user_id, token_id, client_name, action, target_type, target_id, before_json, after_json, at \
             FROM audit_events WHERE account_id = $1 ORDER BY id DESC LIMIT {limit}"
        )))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let json = |c: &str| -> Result<Option<Value>> {
                    Ok(r.try_get::<Option<String>, _>(c)?
                        .and_then(|s| serde_json::from_str(&s).ok()))
                };
                Ok(AuditEvent {
                    id: r.try_get("id")?,
                    actor_user_id: r.try_get("actor_user_id")?,
                    token_id: r.try_get("token_id")?,
                    client_name: r.try_get("client_name")?,
                    action: r.try_get("action")?,
                    target_type: r.try_get("target_type")?,
                    target_id: r.try_get("target_id")?,
                    before: json("before_json")?,
                    after: json("after_json")?,
                    at: crate::time::rfc3339(r.try_get("at")?),
                })
            })
            .collect()
    }
}
