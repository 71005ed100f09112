//! Workspaces group packages. Listing them also reports the health of their packages.

use serde::Serialize;
use sqlx::Row;

use crate::{audit, search, time::now_ms, CatalogError, Page, PageRequest, Result, Store};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Workspace {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Active packages in the workspace.
    pub package_count: i64,
    /// Packages whose most recent run failed.
    pub last_failed_jobs_count: i64,
    /// Packages whose most recent run completed.
    pub last_completed_jobs_count: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// A workspace with its health counts, and `total_rows`: how many rows match before
/// LIMIT/OFFSET.
const SELECT_WITH_TOTAL: &str = "SELECT w.id, w.name, w.description, w.created_at, w.updated_at, \
    (SELECT COUNT(*) FROM packages p WHERE p.workspace_id = w.id AND p.status = 'active') AS package_count, \
    (SELECT COUNT(*) FROM packages p JOIN runs r ON r.id = (SELECT MAX(r2.id) FROM runs r2 WHERE r2.package_id = p.id) \
        WHERE p.workspace_id = w.id AND p.status = 'active' AND r.status = 'failed') AS failed, \
    (SELECT COUNT(*) FROM packages p JOIN runs r ON r.id = (SELECT MAX(r2.id) FROM runs r2 WHERE r2.package_id = p.id) \
        WHERE p.workspace_id = w.id AND p.status = 'active' AND r.status = 'completed') AS completed, \
    COUNT(*) OVER () AS total_rows \
    FROM workspaces w";

impl Store {
    pub async fn create_workspace(
        &self,
        account_id: i64,
        name: &str,
        description: &str,
    ) -> Result<i64> {
        if name.trim().is_empty() {
            return Err(CatalogError::invalid("name", "give the workspace a name"));
        }
        let now = now_ms();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO workspaces (account_id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(account_id)
        .bind(name)
        .bind(description)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        search::index(
            &mut tx,
            search::Kind::Workspace,
            id,
            account_id,
            name,
            description,
        )
        .await?;
        audit::record(
            &mut tx,
            audit::NewEvent::system(account_id, "workspace.create", "workspace", Some(id))
                .after(serde_json::json!({"name": name})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn list_workspaces(
        &self,
        account_id: i64,
        page: PageRequest,
    ) -> Result<Page<Workspace>> {
        // The total rides along as a window count (one round trip instead of two); only a
        // page past the end needs its own COUNT.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_WITH_TOTAL} WHERE w.account_id = $1 ORDER BY w.id{}",
            page.sql()
        )))
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = match rows.first() {
            Some(r) => r.try_get("total_rows")?,
            None if page.offset == 0 => 0,
            None => {
                sqlx::query_scalar("SELECT COUNT(*) FROM workspaces WHERE account_id = $1")
                    .bind(account_id)
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        let items = rows
            .iter()
            .map(|r| {
                Ok(Workspace {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    description: r.try_get("description")?,
                    package_count: r.try_get("package_count")?,
                    last_failed_jobs_count: r.try_get("failed")?,
                    last_completed_jobs_count: r.try_get("completed")?,
                    created_at: crate::time::rfc3339(r.try_get("created_at")?),
                    updated_at: crate::time::rfc3339(r.try_get("updated_at")?),
                })
            })
            .collect::<Result<_>>()?;
        Ok(Page {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        })
    }

    pub async fn workspace_exists(&self, account_id: i64, id: i64) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM workspaces WHERE id = $1 AND account_id = $2")
                .bind(id)
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found.is_some())
    }
}
