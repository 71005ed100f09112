//! Personal Access Tokens: minted once, stored only as a SHA-256 hash, checked on every
//! request (so revocation is immediate everywhere), and optionally read-only.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{accounts::Account, audit, time::now_ms, CatalogError, Result, Store};

/// Ten years, the seed's default PAT lifetime.
pub const DEFAULT_LIFETIME_MS: i64 = 10 * 365 * 24 * 3600 * 1000;
const TOKEN_PREFIX: &str = "pwt_";
/// `last_used_at` is refreshed at most this often per token, to keep reads off the write path.
const LAST_USED_GRANULARITY_MS: i64 = 60_000;

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
}

/// The token columns [`Store::authenticate`] and [`Store::authenticate_at`] read, named
/// apart from the account's.
const TOKEN_COLS: &str = "t.id AS token_id, t.account_id AS token_account_id, t.user_id AS token_user_id, \
    t.name AS token_name, t.read_only AS token_read_only, t.expires_at, t.revoked_at, t.last_used_at";

/// What a request's URL account and bearer token amount to.
#[derive(Debug)]
pub enum Access {
    /// No account by that subdomain or id (404).
    UnknownAccount,
    Refused(Refusal),
    Granted(Principal),
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

#[derive(Debug, Clone, Serialize)]
pub struct TokenSummary {
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters, enough to recognise a token, never enough to use it.
    pub prefix: String,
    pub read_only: bool,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn mint() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub struct NewToken<'a> {
    pub account_id: i64,
    pub user_id: i64,
    pub name: &'a str,
    /// `None` means the default lifetime; `Some(ms)` a lifetime in milliseconds.
    pub lifetime_ms: Option<i64>,
    pub read_only: bool,
}

impl Store {
    /// Mints a token and returns it in clear, once. Only its hash is kept.
    pub async fn create_token(&self, t: NewToken<'_>) -> Result<(TokenSummary, String)> {
        if t.name.trim().is_empty() || t.name.len() > 200 {
            return Err(CatalogError::invalid(
                "name",
                "give the token a recognisable name, e.g. \"Claude Desktop on laptop\"",
            ));
        }
        let lifetime = t.lifetime_ms.unwrap_or(DEFAULT_LIFETIME_MS);
        if lifetime <= 0 {
            return Err(CatalogError::invalid(
                "expires_in",
                "the lifetime must be positive, e.g. 90d",
            ));
        }
        if !self.is_member(t.account_id, t.user_id).await? {
            return Err(CatalogError::invalid(
                "user",
                "the user is not a member of this account",
            ));
        }
        let token = mint();
        let now = now_ms();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO tokens (account_id, user_id, name, kind, token_hash, token_prefix, read_only, created_at, expires_at) \
             VALUES ($1, $2, $3, 'pat', $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(t.account_id)
        .bind(t.user_id)
        .bind(t.name)
        .bind(hash_token(&token))
        .bind(token[..TOKEN_PREFIX.len() + 6].to_string())
        .bind(i64::from(t.read_only))
        .bind(now)
        .bind(now.saturating_add(lifetime))
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            audit::NewEvent::system(t.account_id, "token.create", "token", Some(id)).after(
                serde_json::json!({"name": t.name, "user_id": t.user_id, "read_only": t.read_only}),
            ),
        )
        .await?;
        tx.commit().await?;
        let summary = self.token(id).await?;
        Ok((summary, token))
    }

    pub async fn token(&self, id: i64) -> Result<TokenSummary> {
        self.tokens_where("id = $1", id)
            .await?
            .pop()
            .ok_or_else(|| CatalogError::not_found("token", id))
    }

    pub async fn list_tokens(&self, account_id: i64) -> Result<Vec<TokenSummary>> {
        self.tokens_where("account_id = $1", account_id).await
    }

    async fn tokens_where(&self, clause: &str, v: i64) -> Result<Vec<TokenSummary>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, account_id, user_id, name, token_prefix, read_only, created_at, last_used_at, expires_at, revoked_at \
             FROM tokens WHERE {clause} ORDER BY id"
        )))
        .bind(v)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TokenSummary {
                    id: r.try_get("id")?,
                    account_id: r.try_get("account_id")?,
                    user_id: r.try_get("user_id")?,
                    name: r.try_get("name")?,
                    prefix: r.try_get("token_prefix")?,
                    read_only: r.try_get::<i64, _>("read_only")? != 0,
                    created_at: crate::time::rfc3339(r.try_get("created_at")?),
                    last_used_at: crate::time::rfc3339_opt(r.try_get("last_used_at")?),
                    expires_at: crate::time::rfc3339_opt(r.try_get("expires_at")?),
                    revoked_at: crate::time::rfc3339_opt(r.try_get("revoked_at")?),
                })
            })
            .collect()
    }

    /// Revokes a token; the next request that carries it is refused.
    pub async fn revoke_token(&self, id: i64) -> Result<TokenSummary> {
        let mut tx = self.begin().await?;
        let account_id: Option<i64> =
            sqlx::query_scalar("SELECT account_id FROM tokens WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let account_id = account_id.ok_or_else(|| CatalogError::not_found("token", id))?;
        sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            audit::NewEvent::system(account_id, "token.revoke", "token", Some(id)),
        )
        .await?;
        tx.commit().await?;
        self.token(id).await
    }

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
            Ok(p) => Access::Granted(p),
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
        }))
    }
}
