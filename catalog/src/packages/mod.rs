//! Packages (pipeline definitions): reading them here, changing them in `authoring`
//! (every change locked, versioned and audited), their past in `history`.

use serde::Serialize;
use serde_json::Value;
use sqlx::{any::AnyRow, Row};

use crate::{store::Filters, CatalogError, Page, PageRequest, Result, Store};

mod authoring;
mod history;
mod versioning;

pub use authoring::{CloneOverrides, PackageChange, PackageSpec};
pub use history::{PackageVersion, PackageVersionSummary};

pub const FLOW_TYPES: &[&str] = &["dataflow", "workflow"];
pub const STATUSES: &[&str] = &["active", "archived"];
/// The `flow_version` a package gets when its spec names none (the seed's default).
pub const DEFAULT_FLOW_VERSION: &str = "2.0.0";

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

/// What authoring can change in a package, and what each version keeps whole.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq)]
pub struct PackageContent {
    pub name: String,
    pub description: String,
    pub data_flow_json: Value,
    /// Public variables: name → default value. Secret variables are never kept here.
    pub variables: Value,
}

/// The demo's way to create a package, authored by the system; tool calls use
/// [`Store::create_package_by`] with a [`PackageSpec`].
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
        f.page(&self.pool, (COLS, "packages p", "p.id"), page, summary)
            .await
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
