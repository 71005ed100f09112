//! A package's past: every version it had, whole, with who made it and through which tool.

use serde::Serialize;
use serde_json::Value;
use sqlx::{any::AnyRow, Row};

use super::{versioning::content_from, PackageContent};
use crate::{CatalogError, Page, PageRequest, Result, Store};

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct PackageVersionSummary {
    pub version: i64,
    pub name: String,
    pub status: String,
    pub created_at: String,
    /// What made this version: `package.create`, `package.update`, `package.revert`, …
    pub action: Option<String>,
    /// The MCP tool that made it, when a tool did.
    pub tool: Option<String>,
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    /// The token's name at the time.
    pub token_name: Option<String>,
    pub client_name: Option<String>,
    pub client_version: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct PackageVersion {
    pub package_id: i64,
    #[serde(flatten)]
    pub summary: PackageVersionSummary,
    pub description: String,
    pub data_flow_json: Value,
    pub variables: Value,
}

impl PackageVersion {
    /// What this version holds, in the form [`crate::Store::update_package`] edits.
    pub fn content(&self) -> PackageContent {
        PackageContent {
            name: self.summary.name.clone(),
            description: self.description.clone(),
            data_flow_json: self.data_flow_json.clone(),
            variables: self.variables.clone(),
        }
    }
}

const FROM: &str = "FROM package_versions v JOIN packages p ON p.id = v.package_id \
    LEFT JOIN audit_events e ON e.id = v.audit_event_id \
    WHERE v.package_id = $1 AND p.account_id = $2";

const COLS: &str =
    "v.version, v.name, v.status, v.created_at, e.action, e.tool, e.actor_user_id, e.token_id, \
    e.token_name, e.client_name, e.client_version";

fn summary(r: &AnyRow) -> Result<PackageVersionSummary> {
    Ok(PackageVersionSummary {
        version: r.try_get("version")?,
        name: r.try_get("name")?,
        status: r.try_get("status")?,
        created_at: crate::time::rfc3339(r.try_get("created_at")?),
        action: r.try_get("action")?,
        tool: r.try_get("tool")?,
        user_id: r.try_get("actor_user_id")?,
        token_id: r.try_get("token_id")?,
        token_name: r.try_get("token_name")?,
        client_name: r.try_get("client_name")?,
        client_version: r.try_get("client_version")?,
    })
}

impl Store {
    /// A package's versions, newest first.
    pub async fn list_package_versions(
        &self,
        account_id: i64,
        package_id: i64,
        page: PageRequest,
    ) -> Result<Page<PackageVersionSummary>> {
        let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {FROM}")))
            .bind(package_id)
            .bind(account_id)
            .fetch_one(&self.pool)
            .await?;
        if total == 0 {
            // Every package has at least its first version: none means no such package.
            return Err(CatalogError::not_found("package", package_id));
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} {FROM} ORDER BY v.version DESC{}",
            page.sql()
        )))
        .bind(package_id)
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Page {
            items: rows.iter().map(summary).collect::<Result<_>>()?,
            total,
            limit: page.limit,
            offset: page.offset,
        })
    }

    /// One version of a package, whole.
    pub async fn package_version(
        &self,
        account_id: i64,
        package_id: i64,
        version: i64,
    ) -> Result<PackageVersion> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS}, v.description, v.data_flow_json, v.variables_json {FROM} AND v.version = $3"
        )))
        .bind(package_id)
        .bind(account_id)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            // Say which is missing: the package, or that version of it.
            self.package(account_id, package_id).await?;
            return Err(CatalogError::not_found(
                "package version",
                format!("{package_id} v{version}"),
            ));
        };
        let content = content_from(&row, package_id)?;
        Ok(PackageVersion {
            package_id,
            summary: summary(&row)?,
            description: content.description,
            data_flow_json: content.data_flow_json,
            variables: content.variables,
        })
    }
}
