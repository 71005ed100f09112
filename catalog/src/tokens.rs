//! Personal Access Tokens: minted once, stored only as a SHA-256 hash, checked on every
//! request by [`crate::access`] (so revocation is immediate everywhere), and optionally
//! read-only.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{audit, time::now_ms, CatalogError, Result, Store};

/// Ten years, the seed's default PAT lifetime.
pub const DEFAULT_LIFETIME_MS: i64 = 10 * 365 * 24 * 3600 * 1000;
const TOKEN_PREFIX: &str = "pwt_";

#[derive(Debug, Clone, Serialize)]
pub struct TokenSummary {
    pub id: i64,
    pub account_id: i64,
    pub user_id: i64,
    pub name: String,
    /// The first characters, enough to recognise a token, never enough to use it.
    pub prefix: String,
    pub read_only: bool,
    /// Limits beyond read-only (tools, connections, only what it created).
    pub scopes: crate::access::Scopes,
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
    mint_secret(TOKEN_PREFIX)
}

/// 256 random bits, URL-safe, after a prefix that says what the secret is for.
pub fn mint_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
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
        self.create_scoped_token(t, &crate::access::Scopes::default())
            .await
    }

    /// Like [`Store::create_token`], limited to `scopes` (tool names are checked by the
    /// caller, which knows them).
    pub async fn create_scoped_token(
        &self,
        t: NewToken<'_>,
        scopes: &crate::access::Scopes,
    ) -> Result<(TokenSummary, String)> {
        if scopes
            .tools
            .as_ref()
            .is_some_and(|v| v.is_empty() || v.len() > 200)
        {
            return Err(CatalogError::invalid(
                "tools",
                "name between 1 and 200 tools, or leave the token unlimited",
            ));
        }
        if let Some(ids) = &scopes.connections {
            if ids.is_empty() || ids.len() > 1000 {
                return Err(CatalogError::invalid(
                    "connections",
                    "name between 1 and 1000 connections, or leave the token unlimited",
                ));
            }
            for &id in ids {
                self.connection(t.account_id, id).await.map_err(|_| {
                    CatalogError::invalid(
                        "connections",
                        format!("the account has no connection {id}; `pipewright connection list` shows them"),
                    )
                })?;
            }
        }
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
            "INSERT INTO tokens (account_id, user_id, name, kind, token_hash, token_prefix, read_only, scopes_json, created_at, expires_at) \
             VALUES ($1, $2, $3, 'pat', $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(t.account_id)
        .bind(t.user_id)
        .bind(t.name)
        .bind(hash_token(&token))
        .bind(token[..TOKEN_PREFIX.len() + 6].to_string())
        .bind(i64::from(t.read_only))
        .bind(serde_json::to_string(scopes).unwrap_or_else(|_| "{}".into()))
        .bind(now)
        .bind(now.saturating_add(lifetime))
        .fetch_one(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            audit::NewEvent::system(t.account_id, "token.create", "token", Some(id)).after(
                serde_json::json!({"name": t.name, "user_id": t.user_id, "read_only": t.read_only, "scopes": scopes}),
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
            "SELECT id, account_id, user_id, name, token_prefix, read_only, scopes_json, created_at, last_used_at, expires_at, revoked_at \
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
                    scopes: crate::access::Scopes::parse(r.try_get("scopes_json")?),
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
}
