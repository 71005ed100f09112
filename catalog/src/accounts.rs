//! Accounts, the users who belong to them, and memberships between the two.

use serde::Serialize;
use sqlx::{any::AnyRow, Row};

use crate::{time::now_ms, CatalogError, Result, Store};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Account {
    pub id: i64,
    pub subdomain: String,
    pub name: String,
    pub mcp_enabled: bool,
    /// Every token on this account is read-only, whatever it says.
    pub read_only: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
}

pub(crate) fn account_from(row: &AnyRow) -> Result<Account> {
    Ok(Account {
        id: row.try_get("id")?,
        subdomain: row.try_get("subdomain")?,
        name: row.try_get("name")?,
        mcp_enabled: row.try_get::<i64, _>("mcp_enabled")? != 0,
        read_only: row.try_get::<i64, _>("read_only")? != 0,
    })
}

const ACCOUNT_COLS: &str = "id, subdomain, name, mcp_enabled, read_only";

/// Subdomains appear in URLs: lowercase letters, digits and dashes, not all digits
/// (an all-digit reference means a numeric account id).
pub fn validate_subdomain(s: &str) -> Result<()> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(CatalogError::invalid(
            "subdomain",
            "use 1-63 lowercase letters, digits and dashes, not only digits (e.g. `acme-data`)",
        ))
    }
}

/// Whether `s` can name an account in a URL at all: a positive numeric id or a
/// well-formed subdomain. Checked before anything from the URL is echoed or queried.
pub fn is_account_reference(s: &str) -> bool {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().is_ok_and(|id| id > 0);
    }
    validate_subdomain(s).is_ok()
}

impl Store {
    pub async fn create_account(&self, subdomain: &str, name: &str) -> Result<Account> {
        validate_subdomain(subdomain)?;
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (subdomain, name, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(subdomain)
        .bind(name)
        .bind(now_ms())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match CatalogError::from(e) {
            CatalogError::Conflict(_) => {
                CatalogError::Conflict(format!("account `{subdomain}` already exists"))
            }
            other => other,
        })?;
        crate::audit::record(
            &mut tx,
            crate::audit::NewEvent::system(id, "account.create", "account", Some(id))
                .after(serde_json::json!({"subdomain": subdomain, "name": name})),
        )
        .await?;
        tx.commit().await?;
        self.account(id).await
    }

    pub async fn account(&self, id: i64) -> Result<Account> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::not_found("account", id))?;
        account_from(&row)
    }

    /// Finds an account by the reference used in URLs: its subdomain or its numeric id.
    pub async fn find_account(&self, reference: &str) -> Result<Option<Account>> {
        let row = if let Ok(id) = reference.parse::<i64>() {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        } else {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {ACCOUNT_COLS} FROM accounts WHERE subdomain = $1"
            )))
            .bind(reference)
            .fetch_optional(&self.pool)
            .await?
        };
        row.as_ref().map(account_from).transpose()
    }

    pub async fn require_account(&self, reference: &str) -> Result<Account> {
        self.find_account(reference)
            .await?
            .ok_or_else(|| CatalogError::not_found("account", reference))
    }

    pub async fn list_accounts(&self) -> Result<Vec<Account>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLS} FROM accounts ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(account_from).collect()
    }

    /// Switches the MCP endpoint on or off for an account (audited).
    pub async fn set_account_flags(
        &self,
        id: i64,
        mcp_enabled: Option<bool>,
        read_only: Option<bool>,
    ) -> Result<Account> {
        let before = self.account(id).await?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE accounts SET mcp_enabled = COALESCE($1, mcp_enabled), read_only = COALESCE($2, read_only) WHERE id = $3",
        )
        .bind(mcp_enabled.map(i64::from))
        .bind(read_only.map(i64::from))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        crate::audit::record(
            &mut tx,
            crate::audit::NewEvent::system(id, "account.update", "account", Some(id))
                .before(serde_json::json!({"mcp_enabled": before.mcp_enabled, "read_only": before.read_only}))
                .after(serde_json::json!({"mcp_enabled": mcp_enabled.unwrap_or(before.mcp_enabled), "read_only": read_only.unwrap_or(before.read_only)})),
        )
        .await?;
        tx.commit().await?;
        self.account(id).await
    }

    /// Creates the user if the email is new, then makes them a member of the account.
    pub async fn add_member(
        &self,
        account_id: i64,
        email: &str,
        name: &str,
        role: &str,
    ) -> Result<User> {
        if !email.contains('@') || email.len() > 254 {
            return Err(CatalogError::invalid(
                "email",
                "give an email address such as ada@example.com",
            ));
        }
        let mut tx = self.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
        let user_id =
            match existing {
                Some(id) => id,
                None => sqlx::query_scalar(
                    "INSERT INTO users (email, name, created_at) VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(email)
                .bind(name)
                .bind(now_ms())
                .fetch_one(&mut *tx)
                .await?,
            };
        let member: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM memberships WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(&mut *tx)
        .await?;
        if member.is_none() {
            sqlx::query("INSERT INTO memberships (account_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)")
                .bind(account_id)
                .bind(user_id)
                .bind(role)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            crate::audit::record(
                &mut tx,
                crate::audit::NewEvent::system(
                    account_id,
                    "membership.create",
                    "user",
                    Some(user_id),
                )
                .after(serde_json::json!({"email": email, "role": role})),
            )
            .await?;
        }
        tx.commit().await?;
        self.user_by_email(email)
            .await?
            .ok_or_else(|| CatalogError::not_found("user", email))
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, email, name FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(User {
                id: r.try_get("id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
            })
        })
        .transpose()
    }

    /// The accounts a user belongs to, oldest first.
    pub async fn accounts_of(&self, user_id: i64) -> Result<Vec<Account>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ACCOUNT_COLS} FROM accounts WHERE id IN \
             (SELECT account_id FROM memberships WHERE user_id = $1) ORDER BY id"
        )))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(account_from).collect()
    }

    pub async fn is_member(&self, account_id: i64, user_id: i64) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM memberships WHERE account_id = $1 AND user_id = $2",
        )
        .bind(account_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// The account's first owner: who a token belongs to when `--user` is not given.
    pub async fn account_owner(&self, account_id: i64) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.name FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.account_id = $1 ORDER BY (CASE WHEN m.role = 'owner' THEN 0 ELSE 1 END), m.created_at, u.id LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(User {
                id: r.try_get("id")?,
                email: r.try_get("email")?,
                name: r.try_get("name")?,
            })
        })
        .transpose()
    }
}
