//! Grants: what a user consented to for one client on one account. A consent makes a grant
//! and a single-use code bound to the redirect URI, the PKCE challenge and the resource;
//! the code buys a one-hour access token (a `tokens` row of kind `oauth`) and a refresh
//! token; each refresh replaces the refresh token, and a used one presented again revokes
//! the whole grant (it was stolen, or the client is confused: either way, sign in again).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Client, ACCESS_TOKEN_SECS, CODE_MS, REFRESH_TOKEN_MS};
use crate::{
    audit::{self, Actor},
    store::Tx,
    time::now_ms,
    tokens::{hash_token, mint_secret},
    CatalogError, Result, Store,
};

const ACCESS_PREFIX: &str = "pwo_";
const REFRESH_PREFIX: &str = "pwr_";
const CODE_PREFIX: &str = "pwa_";

/// What the user agreed to on the consent page.
pub struct Consent<'a> {
    pub account_id: i64,
    pub user_id: i64,
    pub client: &'a Client,
    pub read_only: bool,
    /// Limits chosen on the consent screen beyond read-only.
    pub scopes: crate::access::Scopes,
    pub redirect_uri: &'a str,
    /// `BASE64URL(SHA256(verifier))`; only S256 is accepted.
    pub code_challenge: &'a str,
    /// The account endpoint the tokens are for (RFC 8707).
    pub resource: &'a str,
}

/// Tokens handed to a client.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub read_only: bool,
}

/// Why the token endpoint says no, as RFC 6749 §5.2 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthRefusal {
    InvalidGrant(&'static str),
    InvalidTarget(&'static str),
}

impl OAuthRefusal {
    pub fn error(&self) -> &'static str {
        match self {
            OAuthRefusal::InvalidGrant(_) => "invalid_grant",
            OAuthRefusal::InvalidTarget(_) => "invalid_target",
        }
    }
    pub fn description(&self) -> &'static str {
        match self {
            OAuthRefusal::InvalidGrant(d) | OAuthRefusal::InvalidTarget(d) => d,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct GrantSummary {
    pub id: i64,
    pub account_id: i64,
    pub client_id: String,
    pub client_name: String,
    pub read_only: bool,
    pub scopes: crate::access::Scopes,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// RFC 7636: a verifier of 43 to 128 unreserved characters whose S256 is the challenge.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let shaped = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    shaped && URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
}

/// A challenge as S256 makes it: 43 base64url characters.
pub fn is_s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

fn web_actor(account_id: i64, user_id: i64) -> Actor {
    Actor {
        user_id: Some(user_id),
        tool: Some("oauth".into()),
        ..Actor::system(account_id)
    }
}

/// Ends a grant: its access tokens stop working at once, its refresh tokens are spent.
async fn end_grant(tx: &mut Tx, grant_id: i64, now: i64) -> Result<()> {
    sqlx::query("UPDATE oauth_grants SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2")
        .bind(now)
        .bind(grant_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE grant_id = $2")
        .bind(now)
        .bind(grant_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "UPDATE oauth_refresh_tokens SET used_at = COALESCE(used_at, $1) WHERE grant_id = $2",
    )
    .bind(now)
    .bind(grant_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A new access token and refresh token for a live grant.
async fn issue(tx: &mut Tx, grant: &sqlx::any::AnyRow, now: i64) -> Result<Issued> {
    let grant_id: i64 = grant.try_get("id")?;
    // What no check will ever accept again goes: expired access tokens and codes. Spent
    // refresh tokens stay until they expire, to catch their reuse. An access token that
    // created a package or schedule stays (refused all the same), so the grant still owns
    // what it made (`Store::created_by` finds its tokens through `grant_id`).
    sqlx::query(
        "DELETE FROM tokens WHERE grant_id = $1 AND kind = 'oauth' AND expires_at < $2 \
         AND id NOT IN (SELECT a.token_id FROM audit_events a \
           WHERE a.account_id = $3 AND a.target_type IN ('package', 'schedule') \
             AND a.action IN ('package.create', 'package.clone', 'schedule.create') \
             AND a.token_id IS NOT NULL)",
    )
    .bind(grant_id)
    .bind(now)
    .bind(grant.try_get::<i64, _>("account_id")?)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM oauth_codes WHERE grant_id = $1 AND expires_at < $2")
        .bind(grant_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM oauth_refresh_tokens WHERE grant_id = $1 AND expires_at < $2")
        .bind(grant_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    let read_only = grant.try_get::<i64, _>("read_only")? != 0;
    let access = mint_secret(ACCESS_PREFIX);
    let refresh = mint_secret(REFRESH_PREFIX);
    sqlx::query(
        "INSERT INTO tokens (account_id, user_id, name, kind, token_hash, token_prefix, read_only, scopes_json, created_at, expires_at, grant_id) \
         VALUES ($1, $2, $3, 'oauth', $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(grant.try_get::<i64, _>("account_id")?)
    .bind(grant.try_get::<i64, _>("user_id")?)
    .bind(grant.try_get::<String, _>("client_name")?)
    .bind(hash_token(&access))
    .bind(access[..ACCESS_PREFIX.len() + 6].to_string())
    .bind(i64::from(read_only))
    .bind(grant.try_get::<String, _>("scopes_json")?)
    .bind(now)
    .bind(now + ACCESS_TOKEN_SECS * 1000)
    .bind(grant_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO oauth_refresh_tokens (token_hash, grant_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(hash_token(&refresh))
    .bind(grant_id)
    .bind(now)
    .bind(now + REFRESH_TOKEN_MS)
    .execute(&mut **tx)
    .await?;
    Ok(Issued {
        access_token: access,
        refresh_token: refresh,
        expires_in: ACCESS_TOKEN_SECS,
        read_only,
    })
}

const GRANT_COLS: &str =
    "g.id, g.account_id, g.user_id, g.client_id, g.client_name, g.read_only, g.scopes_json, g.resource, g.revoked_at";

impl Store {
    /// Records a consent: the user's earlier grant to this client on this account is
    /// replaced, and a single-use code is returned for the redirect.
    pub async fn authorize(&self, c: Consent<'_>) -> Result<String> {
        if !is_s256_challenge(c.code_challenge) {
            return Err(CatalogError::invalid(
                "code_challenge",
                "send a PKCE S256 challenge (43 base64url characters)",
            ));
        }
        if !self.is_member(c.account_id, c.user_id).await? {
            return Err(CatalogError::invalid(
                "account",
                "you are not a member of this account",
            ));
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let earlier: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM oauth_grants WHERE account_id = $1 AND user_id = $2 AND client_id = $3 AND revoked_at IS NULL",
        )
        .bind(c.account_id)
        .bind(c.user_id)
        .bind(&c.client.client_id)
        .fetch_all(&mut *tx)
        .await?;
        for id in earlier {
            end_grant(&mut tx, id, now).await?;
        }
        let grant_id: i64 = sqlx::query_scalar(
            "INSERT INTO oauth_grants (account_id, user_id, client_id, client_name, read_only, scopes_json, resource, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(c.account_id)
        .bind(c.user_id)
        .bind(&c.client.client_id)
        .bind(&c.client.client_name)
        .bind(i64::from(c.read_only))
        .bind(serde_json::to_string(&c.scopes).unwrap_or_else(|_| "{}".into()))
        .bind(c.resource)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let code = mint_secret(CODE_PREFIX);
        sqlx::query(
            "INSERT INTO oauth_codes (code_hash, grant_id, redirect_uri, code_challenge, resource, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash_token(&code))
        .bind(grant_id)
        .bind(c.redirect_uri)
        .bind(c.code_challenge)
        .bind(c.resource)
        .bind(now + CODE_MS)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            audit::NewEvent::new(
                &web_actor(c.account_id, c.user_id),
                "oauth.grant",
                "grant",
                Some(grant_id),
            )
            .after(serde_json::json!({
                "client_id": c.client.client_id,
                "client_name": c.client.client_name,
                "read_only": c.read_only,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// The token endpoint's `authorization_code` grant. A code presented twice revokes
    /// what it bought.
    pub async fn redeem_code(
        &self,
        code: &str,
        client_id: &str,
        redirect_uri: &str,
        verifier: &str,
        resource: Option<&str>,
    ) -> Result<std::result::Result<Issued, OAuthRefusal>> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {GRANT_COLS}, c.redirect_uri, c.code_challenge, c.expires_at AS code_expires, c.used_at \
             FROM oauth_codes c JOIN oauth_grants g ON g.id = c.grant_id WHERE c.code_hash = $1"
        )))
        .bind(hash_token(code))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Err(OAuthRefusal::InvalidGrant(
                "the code is unknown; start the authorization again",
            )));
        };
        let grant_id: i64 = row.try_get("id")?;
        let refuse = |r| Ok(Err(r));
        if row.try_get::<String, _>("client_id")? != client_id {
            return refuse(OAuthRefusal::InvalidGrant(
                "the code was issued to another client",
            ));
        }
        let claimed = sqlx::query(
            "UPDATE oauth_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(hash_token(code))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            end_grant(&mut tx, grant_id, now).await?;
            tx.commit().await?;
            return refuse(OAuthRefusal::InvalidGrant(
                "the code was already used; its tokens are revoked, start the authorization again",
            ));
        }
        if row.try_get::<i64, _>("code_expires")? <= now {
            tx.commit().await?;
            return refuse(OAuthRefusal::InvalidGrant(
                "the code has expired; start the authorization again",
            ));
        }
        if row.try_get::<String, _>("redirect_uri")? != redirect_uri {
            tx.commit().await?;
            return refuse(OAuthRefusal::InvalidGrant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        if resource.is_some_and(|r| r != row.try_get::<String, _>("resource").unwrap_or_default()) {
            tx.commit().await?;
            return refuse(OAuthRefusal::InvalidTarget(
                "resource differs from the authorization request's",
            ));
        }
        if !pkce_matches(verifier, &row.try_get::<String, _>("code_challenge")?) {
            tx.commit().await?;
            return refuse(OAuthRefusal::InvalidGrant(
                "code_verifier does not match the code_challenge",
            ));
        }
        if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
            tx.commit().await?;
            return refuse(OAuthRefusal::InvalidGrant("the grant was revoked"));
        }
        let issued = issue(&mut tx, &row, now).await?;
        tx.commit().await?;
        Ok(Ok(issued))
    }

    /// The token endpoint's `refresh_token` grant: the refresh token is spent and a new
    /// pair issued; a spent one presented again revokes the grant.
    pub async fn refresh_grant(
        &self,
        refresh_token: &str,
        client_id: &str,
        resource: Option<&str>,
    ) -> Result<std::result::Result<Issued, OAuthRefusal>> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {GRANT_COLS}, r.expires_at AS refresh_expires FROM oauth_refresh_tokens r \
             JOIN oauth_grants g ON g.id = r.grant_id WHERE r.token_hash = $1"
        )))
        .bind(hash_token(refresh_token))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(Err(OAuthRefusal::InvalidGrant(
                "the refresh token is unknown; sign in again",
            )));
        };
        let grant_id: i64 = row.try_get("id")?;
        if row.try_get::<String, _>("client_id")? != client_id {
            return Ok(Err(OAuthRefusal::InvalidGrant(
                "the refresh token was issued to another client",
            )));
        }
        let claimed = sqlx::query(
            "UPDATE oauth_refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(hash_token(refresh_token))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            let live = row.try_get::<Option<i64>, _>("revoked_at")?.is_none();
            end_grant(&mut tx, grant_id, now).await?;
            if live {
                audit::record(
                    &mut tx,
                    audit::NewEvent::system(
                        row.try_get("account_id")?,
                        "oauth.grant.revoke",
                        "grant",
                        Some(grant_id),
                    )
                    .after(serde_json::json!({"reason": "refresh token reused"})),
                )
                .await?;
            }
            tx.commit().await?;
            return Ok(Err(OAuthRefusal::InvalidGrant(
                "the refresh token was already used; the grant is revoked, sign in again",
            )));
        }
        let refusal = if row.try_get::<Option<i64>, _>("revoked_at")?.is_some() {
            Some(OAuthRefusal::InvalidGrant(
                "the grant was revoked; sign in again",
            ))
        } else if row.try_get::<i64, _>("refresh_expires")? <= now {
            Some(OAuthRefusal::InvalidGrant(
                "the refresh token has expired; sign in again",
            ))
        } else if resource
            .is_some_and(|r| r != row.try_get::<String, _>("resource").unwrap_or_default())
        {
            Some(OAuthRefusal::InvalidTarget(
                "resource differs from the grant's",
            ))
        } else {
            None
        };
        if let Some(r) = refusal {
            tx.commit().await?;
            return Ok(Err(r));
        }
        let issued = issue(&mut tx, &row, now).await?;
        tx.commit().await?;
        Ok(Ok(issued))
    }

    /// RFC 7009: an access or refresh token of `client_id`'s ends its whole grant. Unknown
    /// tokens, and other clients' tokens, are no error and change nothing.
    pub async fn revoke_oauth_token(&self, token: &str, client_id: &str) -> Result<()> {
        let h = hash_token(token);
        let grant: Option<i64> = match sqlx::query_scalar::<_, Option<i64>>(
            "SELECT grant_id FROM tokens WHERE token_hash = $1 AND kind = 'oauth'",
        )
        .bind(&h)
        .fetch_optional(&self.pool)
        .await?
        {
            Some(g) => g,
            None => {
                sqlx::query_scalar(
                    "SELECT grant_id FROM oauth_refresh_tokens WHERE token_hash = $1",
                )
                .bind(&h)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        let Some(g) = grant else { return Ok(()) };
        let owner: Option<String> =
            sqlx::query_scalar("SELECT client_id FROM oauth_grants WHERE id = $1")
                .bind(g)
                .fetch_optional(&self.pool)
                .await?;
        if owner.as_deref() == Some(client_id) {
            self.end_grant_audited(g, None).await?;
        }
        Ok(())
    }

    /// Revokes one of the user's grants on an account (the Connected Applications page).
    pub async fn revoke_grant(&self, account_id: i64, user_id: i64, grant_id: i64) -> Result<()> {
        let owner: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM oauth_grants WHERE id = $1 AND account_id = $2 AND user_id = $3",
        )
        .bind(grant_id)
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        owner.ok_or_else(|| CatalogError::not_found("grant", grant_id))?;
        self.end_grant_audited(grant_id, Some(user_id)).await
    }

    async fn end_grant_audited(&self, grant_id: i64, user_id: Option<i64>) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let row = sqlx::query("SELECT account_id, revoked_at FROM oauth_grants WHERE id = $1")
            .bind(grant_id)
            .fetch_one(&mut *tx)
            .await?;
        let account_id: i64 = row.try_get("account_id")?;
        let live = row.try_get::<Option<i64>, _>("revoked_at")?.is_none();
        end_grant(&mut tx, grant_id, now).await?;
        if live {
            let actor = match user_id {
                Some(u) => web_actor(account_id, u),
                None => Actor::system(account_id),
            };
            audit::record(
                &mut tx,
                audit::NewEvent::new(&actor, "oauth.grant.revoke", "grant", Some(grant_id)),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A user's live grants on an account, newest first.
    pub async fn grants_of(&self, account_id: i64, user_id: i64) -> Result<Vec<GrantSummary>> {
        let rows = sqlx::query(
            "SELECT g.id, g.account_id, g.client_id, g.client_name, g.read_only, g.scopes_json, g.created_at, \
                    (SELECT MAX(t.last_used_at) FROM tokens t WHERE t.grant_id = g.id) AS last_used_at \
             FROM oauth_grants g WHERE g.account_id = $1 AND g.user_id = $2 AND g.revoked_at IS NULL \
             ORDER BY g.id DESC",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(GrantSummary {
                    id: r.try_get("id")?,
                    account_id: r.try_get("account_id")?,
                    client_id: r.try_get("client_id")?,
                    client_name: r.try_get("client_name")?,
                    read_only: r.try_get::<i64, _>("read_only")? != 0,
                    scopes: crate::access::Scopes::parse(r.try_get("scopes_json")?),
                    created_at: crate::time::rfc3339(r.try_get("created_at")?),
                    last_used_at: crate::time::rfc3339_opt(r.try_get("last_used_at")?),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256() {
        // The challenge computed apart, with Python's hashlib and base64.urlsafe_b64encode.
        let verifier = "dBjftJeZ4CVP-mJ92K9Ws7o4Jnvb6kWBuKfh9ttrgK4";
        let challenge = "bsWAifRm-68VmnvxMsA7-UC_nVyoxP7klSgqm-2Vj7o";
        assert!(is_s256_challenge(challenge));
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mJ92K9Ws7o4Jnvb6kWBuKfh9ttrgK5",
            challenge
        ));
        assert!(!pkce_matches("short", challenge));
        assert!(!is_s256_challenge("abc") && !is_s256_challenge(&format!("{challenge}x")));
        assert!(!is_s256_challenge(
            "bsWAifRm+68VmnvxMsA7/UC_nVyoxP7klSgqm-2Vj7o"
        ));
    }
}
