//! Connections to databases and file stores. Identifying fields (host, port, database,
//! bucket, …) are kept in clear; credentials are sealed and only ever opened for a driver.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{any::AnyRow, Row};

use crate::{
    audit, seal::Sealer, search, store::Filters, time::now_ms, CatalogError, Page, PageRequest,
    Result, Store,
};

/// Connection types and the family each belongs to. Data, so a new vendor is one line.
pub use connectors::connection_types::Family;
use connectors::connection_types::{connection_type, CONNECTION_TYPES};

/// Field names that must never be stored in clear (they go to the sealed part).
const SECRET_WORDS: &[&str] = &[
    "password",
    "secret",
    "private_key",
    "token",
    "passphrase",
    "credential",
    "access_key",
];

/// Which family stores connections of type `kind`; `None` for a type nobody serves.
pub fn family_of(kind: &str) -> Option<Family> {
    connection_type(kind).map(|t| t.family)
}

/// The list view: what `list_connections` returns.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct ConnectionSummary {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: String,
}

/// One connection without any credential.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Connection {
    pub id: i64,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub family: Family,
    pub status: String,
    /// Non-credential identifying fields: host, port, database, user, tunnel_type, bucket, …
    #[serde(flatten)]
    pub fields: Map<String, Value>,
    /// Which credentials are set (names only, never values).
    pub secrets_set: Vec<String>,
    pub created_at: String,
    pub updated_at: String,
}

pub struct NewConnection<'a> {
    pub account_id: i64,
    pub name: &'a str,
    pub kind: &'a str,
    pub fields: Map<String, Value>,
    pub secrets: BTreeMap<String, String>,
}

fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| k.contains(w)) && !k.ends_with("_env") && !k.ends_with("_file")
}

fn from_row(r: &AnyRow) -> Result<Connection> {
    let fields: String = r.try_get("fields_json")?;
    let mut fields: Map<String, Value> = serde_json::from_str(&fields).unwrap_or_default();
    let secrets_set = match fields.remove("secret_names") {
        Some(Value::Array(names)) => names
            .into_iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => vec![],
    };
    Ok(Connection {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        kind: r.try_get("type")?,
        family: if r.try_get::<String, _>("family")? == "file" {
            Family::File
        } else {
            Family::Database
        },
        status: r.try_get("status")?,
        fields,
        secrets_set,
        created_at: crate::time::rfc3339(r.try_get("created_at")?),
        updated_at: crate::time::rfc3339(r.try_get("updated_at")?),
    })
}

impl Store {
    pub async fn create_connection(&self, sealer: &Sealer, c: NewConnection<'_>) -> Result<i64> {
        let family = family_of(c.kind).ok_or_else(|| {
            let known: Vec<_> = CONNECTION_TYPES.iter().map(|t| t.kind).collect();
            CatalogError::invalid(
                "type",
                format!(
                    "unknown connection type `{}`; use one of: {}",
                    c.kind,
                    known.join(", ")
                ),
            )
        })?;
        if c.name.trim().is_empty() {
            return Err(CatalogError::invalid("name", "give the connection a name"));
        }
        // A true/false switch (`allow_cleartext_password`) is never itself a credential.
        if let Some(k) = c
            .fields
            .iter()
            .find(|(k, v)| !v.is_boolean() && looks_secret(k))
            .map(|(k, _)| k)
        {
            return Err(CatalogError::invalid(
                "fields",
                format!("`{k}` looks like a credential; pass it as a secret so it is sealed, not stored in clear"),
            ));
        }
        let sealed = if c.secrets.is_empty() {
            None
        } else {
            Some(sealer.seal(&c.secrets)?)
        };
        let mut fields = c.fields.clone();
        // Secret *names* are not secret and tell a reader what is configured.
        let names: Vec<&str> = c.secrets.keys().map(String::as_str).collect();
        fields.remove("secret_names");
        let now = now_ms();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO connections (account_id, name, type, family, fields_json, sealed_secrets, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        )
        .bind(c.account_id)
        .bind(c.name)
        .bind(c.kind)
        .bind(family.as_str())
        .bind(Value::Object(with_secret_names(fields.clone(), &names)).to_string())
        .bind(sealed)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match CatalogError::from(e) {
            CatalogError::Conflict(_) => CatalogError::Conflict(format!("a connection named `{}` already exists", c.name)),
            other => other,
        })?;
        let body = fields
            .values()
            .filter_map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        search::index(
            &mut tx,
            search::Kind::Connection,
            id,
            c.account_id,
            c.name,
            &format!("{} {body}", c.kind),
        )
        .await?;
        audit::record(
            &mut tx,
            audit::NewEvent::system(c.account_id, "connection.create", "connection", Some(id))
                .after(serde_json::json!({"name": c.name, "type": c.kind, "fields": fields, "secrets_set": names})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Deletes a connection, its search entry and its sealed secrets; audited. Packages that
    /// name it keep their text and fail validation until pointed elsewhere.
    pub async fn delete_connection(&self, account_id: i64, id: i64) -> Result<Connection> {
        let before = self.connection(account_id, id).await?;
        let mut tx = self.begin().await?;
        let gone = sqlx::query("DELETE FROM connections WHERE id = $1 AND account_id = $2")
            .bind(id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Err(CatalogError::not_found("connection", id));
        }
        search::unindex(&mut tx, search::Kind::Connection, id).await?;
        audit::record(
            &mut tx,
            audit::NewEvent::system(account_id, "connection.delete", "connection", Some(id))
                .before(serde_json::json!({"name": before.name, "type": before.kind, "fields": before.fields})),
        )
        .await?;
        tx.commit().await?;
        Ok(before)
    }

    pub async fn list_connections(
        &self,
        account_id: i64,
        type_filter: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<ConnectionSummary>> {
        let mut f = Filters::default();
        f.int("account_id = {}", account_id);
        if let Some(t) = type_filter {
            if t == "database" || t == "file" {
                f.text("family = {}", t);
            } else {
                f.text("type = {}", t);
            }
        }
        f.page(
            &self.pool,
            ("id, name, type, status", "connections", "id"),
            page,
            |r| {
                Ok(ConnectionSummary {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    kind: r.try_get("type")?,
                    status: r.try_get("status")?,
                })
            },
        )
        .await
    }

    pub async fn connection(&self, account_id: i64, id: i64) -> Result<Connection> {
        let row = sqlx::query(
            "SELECT id, name, type, family, status, fields_json, created_at, updated_at \
             FROM connections WHERE id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::not_found("connection", id))?;
        from_row(&row)
    }

    /// The connection's credentials in clear, for a driver about to connect. Never
    /// serialise the result or put it in an error.
    pub async fn open_secrets(
        &self,
        sealer: &Sealer,
        account_id: i64,
        id: i64,
    ) -> Result<BTreeMap<String, String>> {
        let sealed: Option<Option<String>> = sqlx::query_scalar(
            "SELECT sealed_secrets FROM connections WHERE id = $1 AND account_id = $2",
        )
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        match sealed.ok_or_else(|| CatalogError::not_found("connection", id))? {
            Some(s) => sealer.open(&s),
            None => Ok(BTreeMap::new()),
        }
    }
}

fn with_secret_names(mut fields: Map<String, Value>, names: &[&str]) -> Map<String, Value> {
    if !names.is_empty() {
        fields.insert("secret_names".into(), Value::from(names.to_vec()));
    }
    fields
}
