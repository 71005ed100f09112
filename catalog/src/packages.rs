//! Packages (pipeline definitions) and their version history.

use serde::Serialize;
use serde_json::Value;
use sqlx::{any::AnyRow, Row};

use crate::{
    audit, search, store::Filters, time::now_ms, CatalogError, Page, PageRequest, Result, Store,
};

pub const FLOW_TYPES: &[&str] = &["dataflow", "workflow"];
pub const STATUSES: &[&str] = &["active", "archived"];

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct PackageSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub workspace_id: Option<i64>,
    pub flow_type: String,
    pub status: String,
    pub version: i64,
    /// Status of the most recent run, if the package ever ran.
    pub last_run_status: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct Package {
    #[serde(flatten)]
    pub summary: PackageSummary,
    pub flow_version: String,
    pub data_flow_json: Value,
    pub variables: Value,
}

pub struct NewPackage<'a> {
    pub account_id: i64,
    pub workspace_id: Option<i64>,
    pub name: &'a str,
    pub description: &'a str,
    pub flow_type: &'a str,
    pub data_flow_json: Value,
    pub variables: Value,
}

#[derive(Debug, Clone, Default)]
pub struct PackageFilter<'a> {
    pub flow_type: Option<&'a str>,
    pub status: Option<&'a str>,
    pub workspace_id: Option<i64>,
}

const COLS: &str = "p.id, p.name, p.description, p.workspace_id, p.flow_type, p.flow_version, p.status, p.version, \
    p.data_flow_json, p.variables_json, p.created_at, p.updated_at, \
    (SELECT r.status FROM runs r WHERE r.package_id = p.id ORDER BY r.id DESC LIMIT 1) AS last_run_status";

fn summary(r: &AnyRow) -> Result<PackageSummary> {
    Ok(PackageSummary {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        description: r.try_get("description")?,
        workspace_id: r.try_get("workspace_id")?,
        flow_type: r.try_get("flow_type")?,
        status: r.try_get("status")?,
        version: r.try_get("version")?,
        last_run_status: r.try_get("last_run_status")?,
        created_at: crate::time::rfc3339(r.try_get("created_at")?),
        updated_at: crate::time::rfc3339(r.try_get("updated_at")?),
    })
}

impl Store {
    pub async fn create_package(&self, p: NewPackage<'_>) -> Result<i64> {
        if !FLOW_TYPES.contains(&p.flow_type) {
            return Err(CatalogError::invalid(
                "flow_type",
                "use `dataflow` or `workflow`",
            ));
        }
        let now = now_ms();
        let graph = p.data_flow_json.to_string();
        let vars = p.variables.to_string();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO packages (account_id, workspace_id, name, description, flow_type, data_flow_json, variables_json, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(p.account_id)
        .bind(p.workspace_id)
        .bind(p.name)
        .bind(p.description)
        .bind(p.flow_type)
        .bind(&graph)
        .bind(&vars)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let event = audit::record(
            &mut tx,
            audit::NewEvent::system(p.account_id, "package.create", "package", Some(id))
                .after(serde_json::json!({"name": p.name, "flow_type": p.flow_type})),
        )
        .await?;
        sqlx::query(
            "INSERT INTO package_versions (package_id, version, name, description, data_flow_json, variables_json, created_at, audit_event_id) \
             VALUES ($1, 1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(p.name)
        .bind(p.description)
        .bind(&graph)
        .bind(&vars)
        .bind(now)
        .bind(event)
        .execute(&mut *tx)
        .await?;
        search::index(
            &mut tx,
            search::Kind::Package,
            id,
            p.account_id,
            p.name,
            &format!("{} {}", p.flow_type, p.description),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn list_packages(
        &self,
        account_id: i64,
        filter: &PackageFilter<'_>,
        page: PageRequest,
    ) -> Result<Page<PackageSummary>> {
        let mut f = Filters::default();
        f.int("p.account_id = {}", account_id);
        if let Some(v) = filter.flow_type {
            f.text("p.flow_type = {}", v);
        }
        if let Some(v) = filter.status {
            f.text("p.status = {}", v);
        }
        if let Some(v) = filter.workspace_id {
            f.int("p.workspace_id = {}", v);
        }
        let total: i64 = f
            .query(format!(
                "SELECT COUNT(*) AS n FROM packages p{}",
                f.where_sql()
            ))
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let rows = f
            .query(format!(
                "SELECT {COLS} FROM packages p{} ORDER BY p.id{}",
                f.where_sql(),
                page.sql()
            ))
            .fetch_all(&self.pool)
            .await?;
        let items = rows.iter().map(summary).collect::<Result<_>>()?;
        Ok(Page {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        })
    }

    pub async fn package(&self, account_id: i64, id: i64) -> Result<Package> {
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM packages p WHERE p.id = $1 AND p.account_id = $2"
        )))
        .bind(id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| CatalogError::not_found("package", id))?;
        let graph: String = r.try_get("data_flow_json")?;
        let vars: String = r.try_get("variables_json")?;
        Ok(Package {
            summary: summary(&r)?,
            flow_version: r.try_get("flow_version")?,
            data_flow_json: serde_json::from_str(&graph).unwrap_or(Value::Null),
            variables: serde_json::from_str(&vars).unwrap_or(Value::Null),
        })
    }
}

impl Store {
    /// Sets a package's status (`active` or `archived`), bumping its version; audited.
    pub async fn set_package_status(&self, account_id: i64, id: i64, status: &str) -> Result<()> {
        if !STATUSES.contains(&status) {
            return Err(CatalogError::invalid(
                "status",
                "use `active` or `archived`",
            ));
        }
        let mut tx = self.begin().await?;
        let before: Option<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT status FROM packages WHERE id = $1 AND account_id = $2{}",
            self.for_update()
        )))
        .bind(id)
        .bind(account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let before = before.ok_or_else(|| CatalogError::not_found("package", id))?;
        sqlx::query(
            "UPDATE packages SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3",
        )
        .bind(status)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *tx)
        .await?;
        audit::record(
            &mut tx,
            audit::NewEvent::system(account_id, "package.status", "package", Some(id))
                .before(serde_json::json!({"status": before}))
                .after(serde_json::json!({"status": status})),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
