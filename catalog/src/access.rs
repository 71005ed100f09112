//! Who is calling and what they may do: one check of a bearer credential against one
//! account, the same for Personal Access Tokens and OAuth access tokens (both are rows of
//! `tokens`, told apart by `kind`), the [`Principal`] it yields with its [`Credential`],
//! and the words a refused caller is told.

use sqlx::Row;

use crate::{accounts::Account, time::now_ms, tokens::hash_token, CatalogError, Result, Store};

/// Who is calling: the result of a successful token check against one account.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account: Account,
    pub user_id: i64,
    pub token_id: i64,
    pub token_name: String,
    /// The token, or the account, or the server is read-only.
    pub read_only: bool,
    /// The MCP client's self-reported name, for the audit trail.
    pub client_name: Option<String>,
    /// The MCP client's self-reported version (`clientInfo.version`), for the audit trail.
    pub client_version: Option<String>,
    /// The tool being called, set per call by the MCP layer, so every change it makes is
    /// audited under the tool's name.
    pub tool: Option<String>,
    /// The credential the caller presented.
    pub credential: Credential,
}

/// What kind of credential a caller presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// Minted with `pipewright token create` or on the Connected Applications page.
    PersonalAccessToken,
    /// Issued to an OAuth client at the end of a sign-in and consent.
    OAuth,
}

impl CredentialKind {
    fn from_column(kind: &str) -> Self {
        match kind {
            "oauth" => CredentialKind::OAuth,
            _ => CredentialKind::PersonalAccessToken,
        }
    }
}

/// The credential behind a [`Principal`]: its kind and the scopes it was given beyond
/// read-only (kept in the token's `scopes_json`; absent lists mean "no limit").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub kind: CredentialKind,
    pub scopes: Scopes,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct Scopes {
    /// Only these tools may be called (and listed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Only these connections are visible and usable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<i64>>,
    /// Changes only the packages and schedules it created itself (a safe mode for agents):
    /// it may create and clone packages, and change, run and schedule only those.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub created_only: bool,
}

impl Scopes {
    /// From a stored `scopes_json`; an unreadable one counts as no limits beyond the row's
    /// `read_only` (it was written by this code, from this type).
    pub fn parse(json: Option<String>) -> Scopes {
        json.and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default()
    }

    /// The limits in words, for the Connected Applications page and the CLI.
    pub fn describe(&self, read_only: bool) -> String {
        let mut parts = vec![if read_only {
            "read only".to_string()
        } else if self.created_only {
            "changes only what it created".to_string()
        } else {
            "read and change".to_string()
        }];
        if let Some(t) = &self.tools {
            parts.push(format!("tools: {}", t.join(", ")));
        }
        if let Some(c) = &self.connections {
            let ids: Vec<String> = c.iter().map(i64::to_string).collect();
            parts.push(format!("connections: {}", ids.join(", ")));
        }
        parts.join("; ")
    }

    /// Whether a tool may be listed to and called by this credential.
    pub fn allows_tool(&self, name: &str) -> bool {
        self.tools
            .as_ref()
            .is_none_or(|t| t.iter().any(|x| x == name))
    }

    /// Whether a connection may be seen and used through this credential.
    pub fn allows_connection(&self, id: i64) -> bool {
        self.connections.as_ref().is_none_or(|c| c.contains(&id))
    }
}

/// `last_used_at` is refreshed at most this often per token, to keep reads off the write path.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

/// The token columns [`Store::authenticate`] and [`Store::authenticate_at`] read, named
/// apart from the account's.
const TOKEN_COLS: &str =
    "t.id AS token_id, t.account_id AS token_account_id, t.user_id AS token_user_id, \
    t.name AS token_name, t.kind AS token_kind, t.scopes_json AS token_scopes, \
    t.read_only AS token_read_only, t.expires_at, t.last_used_at, \
    COALESCE(t.revoked_at, (SELECT g.revoked_at FROM oauth_grants g WHERE g.id = t.grant_id)) AS revoked_at";

/// What a request's URL account and bearer token amount to.
#[derive(Debug)]
pub enum Access {
    /// No account by that subdomain or id (404).
    UnknownAccount,
    Refused(Refusal),
    Granted(Box<Principal>),
}

/// Why a token was refused. Each maps to one HTTP status at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 401: no such token.
    Unknown,
    /// 401: revoked.
    Revoked,
    /// 401: past its expiry.
    Expired,
    /// 403: the token's user is not a member of this account (or the token is for another one).
    NotAMember,
    /// 403: MCP is switched off for the account.
    McpDisabled,
}

impl Refusal {
    /// What a refused caller is told, whatever the transport (the HTTP edge adds a status).
    pub fn message(&self) -> &'static str {
        match self {
            Refusal::Unknown => "Unauthorized: the token is missing or unknown; mint one with `pipewright token create`",
            Refusal::Revoked => "Unauthorized: the token was revoked; mint a new one with `pipewright token create`",
            Refusal::Expired => "Unauthorized: the token has expired; mint a new one with `pipewright token create`",
            Refusal::NotAMember => "Forbidden: the token's user is not a member of this account; use a token for this account",
            Refusal::McpDisabled => "PTP MCP server is not enabled for this account",
        }
    }
}

impl Store {
    /// Checks `token` for use on `account`. One query on the hot path; `last_used_at` is
    /// refreshed at most once a minute.
    pub async fn authenticate(
        &self,
        token: &str,
        account: &Account,
    ) -> Result<Result<Principal, Refusal>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLS}, \
                    (SELECT COUNT(*) FROM memberships m WHERE m.user_id = t.user_id AND m.account_id = $2) AS member \
             FROM tokens t WHERE t.token_hash = $1"
        )))
        .bind(hash_token(token))
        .bind(account.id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(Err(Refusal::Unknown)),
            Some(row) => self.judge(&row, account).await,
        }
    }

    /// The HTTP edge's check: the account named in the URL (subdomain or numeric id) and
    /// the token, in one query. Same rules as [`Store::authenticate`].
    pub async fn authenticate_at(&self, token: &str, account_ref: &str) -> Result<Access> {
        let by_id = account_ref.parse::<i64>().ok();
        let sql = format!(
            "SELECT a.id, a.subdomain, a.name, a.mcp_enabled, a.read_only, {TOKEN_COLS}, \
                    (SELECT COUNT(*) FROM memberships m WHERE m.user_id = t.user_id AND m.account_id = a.id) AS member \
             FROM accounts a LEFT JOIN tokens t ON t.token_hash = $1 WHERE {}",
            if by_id.is_some() { "a.id = $2" } else { "a.subdomain = $2" }
        );
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hash_token(token));
        let q = match by_id {
            Some(id) => q.bind(id),
            None => q.bind(account_ref),
        };
        let Some(row) = q.fetch_optional(&self.pool).await? else {
            // Without a valid token every account answers the same: a stranger must not
            // learn which accounts exist from 404-versus-401.
            return self.unknown_account(token).await;
        };
        let account = crate::accounts::account_from(&row)?;
        if row.try_get::<Option<i64>, _>("token_id")?.is_none() {
            return Ok(Access::Refused(Refusal::Unknown));
        }
        Ok(match self.judge(&row, &account).await? {
            Ok(p) => Access::Granted(Box::new(p)),
            Err(r) => Access::Refused(r),
        })
    }

    /// No account by that reference: `UnknownAccount` only for a caller whose token is
    /// valid (somewhere); anyone else gets the refusal their token earns.
    async fn unknown_account(&self, token: &str) -> Result<Access> {
        let row = sqlx::query("SELECT expires_at, revoked_at FROM tokens WHERE token_hash = $1")
            .bind(hash_token(token))
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else {
            return Ok(Access::Refused(Refusal::Unknown));
        };
        if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
            return Ok(Access::Refused(Refusal::Revoked));
        }
        if row
            .try_get::<Option<i64>, _>("expires_at")?
            .is_some_and(|e| e <= now_ms())
        {
            return Ok(Access::Refused(Refusal::Expired));
        }
        Ok(Access::UnknownAccount)
    }

    /// Applies the rules to a row holding [`TOKEN_COLS`] and `member`.
    async fn judge(
        &self,
        row: &sqlx::any::AnyRow,
        account: &Account,
    ) -> Result<Result<Principal, Refusal>> {
        let now = now_ms();
        if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
            return Ok(Err(Refusal::Revoked));
        }
        if row
            .try_get::<Option<i64>, _>("expires_at")?
            .is_some_and(|e| e <= now)
        {
            return Ok(Err(Refusal::Expired));
        }
        if row.try_get::<i64, _>("member")? == 0
            || row.try_get::<i64, _>("token_account_id")? != account.id
        {
            return Ok(Err(Refusal::NotAMember));
        }
        if !account.mcp_enabled {
            return Ok(Err(Refusal::McpDisabled));
        }
        let id: i64 = row.try_get("token_id")?;
        if row
            .try_get::<Option<i64>, _>("last_used_at")?
            .is_none_or(|t| now - t > LAST_USED_GRANULARITY_MS)
        {
            sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Ok(Principal {
            account: account.clone(),
            user_id: row.try_get("token_user_id")?,
            token_id: id,
            token_name: row.try_get("token_name")?,
            read_only: row.try_get::<i64, _>("token_read_only")? != 0 || account.read_only,
            client_name: None,
            client_version: None,
            tool: None,
            credential: Credential {
                kind: CredentialKind::from_column(&row.try_get::<String, _>("token_kind")?),
                // Scopes the server cannot read grant nothing beyond read-only: refuse.
                scopes: serde_json::from_str(&row.try_get::<String, _>("token_scopes")?)
                    .map_err(|_| CatalogError::Store("a token's scopes are unreadable".into()))?,
            },
        }))
    }
}
