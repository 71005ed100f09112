//! Full-text search over workspaces, packages, connections and clusters, in the store
//! itself (SQLite FTS5, PostgreSQL `tsvector`) so every replica answers the same.
//! Queries are reduced to words and matched as prefixes, all words required.

use serde::Serialize;
use sqlx::Row;

use crate::{store::Tx, Backend, Result, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Connection,
    Package,
    Cluster,
    Workspace,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Connection,
        Kind::Package,
        Kind::Cluster,
        Kind::Workspace,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Connection => "connection",
            Kind::Package => "package",
            Kind::Cluster => "cluster",
            Kind::Workspace => "workspace",
        }
    }
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s || format!("{}s", k.as_str()) == s)
    }
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Hit {
    pub id: i64,
    pub name: String,
    /// Higher is better; comparable within one search only.
    pub score: f64,
}

/// Adds or replaces the searchable text of one object, inside the caller's transaction.
pub(crate) async fn index(
    tx: &mut Tx,
    kind: Kind,
    id: i64,
    account_id: i64,
    name: &str,
    body: &str,
) -> Result<()> {
    sqlx::query("DELETE FROM search_index WHERE kind = $1 AND ref_id = $2")
        .bind(kind.as_str())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("INSERT INTO search_index (kind, ref_id, account_id, name, body) VALUES ($1, $2, $3, $4, $5)")
        .bind(kind.as_str())
        .bind(id)
        .bind(account_id)
        .bind(name)
        .bind(body)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Removes one object from the index, inside the caller's transaction.
pub(crate) async fn unindex(tx: &mut Tx, kind: Kind, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM search_index WHERE kind = $1 AND ref_id = $2")
        .bind(kind.as_str())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Words of the query: letters and digits only, so no query syntax reaches the engine.
pub fn words(query: &str) -> Vec<String> {
    query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| w.to_lowercase())
        .collect()
}

impl Store {
    /// Best matches of one kind, best first.
    pub async fn search(
        &self,
        account_id: i64,
        kind: Kind,
        query: &str,
        limit: i64,
    ) -> Result<Vec<Hit>> {
        let words = words(query);
        if words.is_empty() {
            return Ok(vec![]);
        }
        let (sql, expr) = match self.backend() {
            Backend::Sqlite => (
                "SELECT ref_id, name, -bm25(search_index, 0, 0, 0, 10.0, 1.0) AS score FROM search_index \
                 WHERE search_index MATCH $1 AND kind = $2 AND account_id = $3 ORDER BY score DESC, ref_id LIMIT ",
                words.iter().map(|w| format!("\"{w}\"*")).collect::<Vec<_>>().join(" AND "),
            ),
            Backend::Postgres => (
                "SELECT ref_id, name, CAST(ts_rank(tsv, to_tsquery('simple', $1)) AS DOUBLE PRECISION) AS score FROM search_index \
                 WHERE tsv @@ to_tsquery('simple', $1) AND kind = $2 AND account_id = $3 ORDER BY score DESC, ref_id LIMIT ",
                words.iter().map(|w| format!("{w}:*")).collect::<Vec<_>>().join(" & "),
            ),
        };
        // LIMIT written in, not bound: see `PageRequest::sql`.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{sql}{limit}")))
            .bind(expr)
            .bind(kind.as_str())
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Hit {
                    id: r.try_get("ref_id")?,
                    name: r.try_get("name")?,
                    score: r.try_get("score")?,
                })
            })
            .collect()
    }
}
