//! Changing packages. Every change is one transaction that locks the package row
//! (`FOR UPDATE` on PostgreSQL, the write lock on SQLite), checks the optional
//! `expected_version`, writes, bumps `version` by exactly one, keeps the new version whole
//! in `package_versions`, and writes one audit event with a before/after diff. A refused
//! change writes nothing at all; a change that changes nothing writes nothing either.
//!
//! The store does not know what components or edges are: the MCP layer edits
//! `data_flow_json` inside [`Store::update_package`]'s closure, which sees the locked,
//! current content, so concurrent edits never overwrite each other.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{
    versioning::{content_from, insert, write},
    NewPackage, PackageContent, STATUSES,
};
use crate::{audit::Actor, CatalogError, Result, Store};

/// A new package, whole. The account is the actor's.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageSpec {
    pub workspace_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub flow_type: String,
    /// `None` means [`super::DEFAULT_FLOW_VERSION`].
    pub flow_version: Option<String>,
    pub data_flow_json: Value,
    pub variables: Value,
}

impl PackageSpec {
    /// A package with no description, no variables, no workspace and the default
    /// `flow_version`.
    pub fn new(
        name: impl Into<String>,
        flow_type: impl Into<String>,
        data_flow_json: Value,
    ) -> Self {
        Self {
            workspace_id: None,
            name: name.into(),
            description: String::new(),
            flow_type: flow_type.into(),
            flow_version: None,
            data_flow_json,
            variables: json!({}),
        }
    }
}

/// What [`Store::clone_package`] may change in the copy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloneOverrides {
    /// Default: "Copy of <source name>".
    pub name: Option<String>,
    /// Default: the source's workspace.
    pub workspace_id: Option<i64>,
}

/// What a package mutation did.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema, PartialEq, Eq)]
pub struct PackageChange {
    pub package_id: i64,
    /// The package's version now.
    pub version: i64,
    /// False when the package already was as asked: nothing was written.
    pub changed: bool,
    /// The fields that changed (`name`, `description`, `status`, `data_flow_json`,
    /// `variables`; on creation also `flow_type`, `flow_version`, `workspace_id`).
    pub fields: Vec<String>,
    pub audit_event_id: Option<i64>,
}

impl Store {
    /// Creates a package from a whole spec, at version 1; audited as `package.create`.
    pub async fn create_package_by(&self, who: &Actor, spec: PackageSpec) -> Result<PackageChange> {
        let mut tx = self.begin().await?;
        let r = insert(&mut tx, who, "package.create", spec, Map::new()).await;
        tx.finish(r).await
    }

    /// The demo's form of [`Store::create_package_by`]: authored by the system.
    pub async fn create_package(&self, p: NewPackage<'_>) -> Result<i64> {
        let spec = PackageSpec {
            workspace_id: p.workspace_id,
            description: p.description.to_string(),
            variables: p.variables,
            ..PackageSpec::new(p.name, p.flow_type, p.data_flow_json)
        };
        let change = self
            .create_package_by(&Actor::system(p.account_id), spec)
            .await?;
        Ok(change.package_id)
    }

    /// Copies a package (its current version) into a new one at version 1; audited as
    /// `package.clone` with `cloned_from`.
    pub async fn clone_package(
        &self,
        who: &Actor,
        source_id: i64,
        overrides: CloneOverrides,
    ) -> Result<PackageChange> {
        let mut tx = self.begin().await?;
        let r = async {
            let source = self
                .current(&mut tx, who.account_id, source_id, false)
                .await?;
            let s = source.state;
            let spec = PackageSpec {
                workspace_id: overrides.workspace_id.or(s.workspace_id),
                name: overrides
                    .name
                    .unwrap_or_else(|| format!("Copy of {}", s.content.name)),
                description: s.content.description,
                flow_type: s.flow_type,
                flow_version: Some(s.flow_version),
                data_flow_json: s.content.data_flow_json,
                variables: s.content.variables,
            };
            let mut notes = Map::new();
            notes.insert(
                "cloned_from".into(),
                json!({"package_id": source_id, "version": source.version}),
            );
            insert(&mut tx, who, "package.clone", spec, notes).await
        }
        .await;
        tx.finish(r).await
    }

    /// Changes a package's name, description, `data_flow_json` or variables: `edit` gets
    /// the current content, under the row lock, and changes it in place, or refuses with
    /// its own error (then nothing is written). Audited as `package.update`.
    pub async fn update_package<E, F>(
        &self,
        who: &Actor,
        package_id: i64,
        expected_version: Option<i64>,
        edit: F,
    ) -> Result<PackageChange, E>
    where
        E: From<CatalogError>,
        F: FnOnce(&mut PackageContent) -> Result<(), E>,
    {
        let mut tx = self.begin().await?;
        let r = async {
            let current = self
                .current(&mut tx, who.account_id, package_id, true)
                .await?;
            current.expect(expected_version)?;
            let mut next = current.state.clone();
            edit(&mut next.content)?;
            Ok(write(&mut tx, who, "package.update", &current, next, Map::new()).await?)
        }
        .await;
        tx.finish(r).await
    }

    /// Archives a package (soft delete; `list_packages` with status `archived` still shows
    /// it). Refused while an enabled schedule runs it. Archiving an archived package
    /// changes nothing.
    pub async fn archive_package(
        &self,
        who: &Actor,
        package_id: i64,
        expected_version: Option<i64>,
    ) -> Result<PackageChange> {
        self.set_status(who, package_id, expected_version, "archived")
            .await
    }

    /// The demo's and CLI's way to archive or restore a package, authored by the system.
    pub async fn set_package_status(&self, account_id: i64, id: i64, status: &str) -> Result<()> {
        if !STATUSES.contains(&status) {
            return Err(CatalogError::invalid(
                "status",
                "use `active` or `archived`",
            ));
        }
        self.set_status(&Actor::system(account_id), id, None, status)
            .await?;
        Ok(())
    }

    async fn set_status(
        &self,
        who: &Actor,
        package_id: i64,
        expected_version: Option<i64>,
        status: &str,
    ) -> Result<PackageChange> {
        let action = if status == "archived" {
            "package.archive"
        } else {
            "package.restore"
        };
        let mut tx = self.begin().await?;
        let r = async {
            let current = self.current(&mut tx, who.account_id, package_id, true).await?;
            current.expect(expected_version)?;
            if status == "archived" && current.state.status != "archived" {
                // Enabling a schedule locks its package row first (see `toggle_schedule`),
                // so none can be switched on between this check and the commit.
                let enabled: Vec<i64> = sqlx::query_scalar(
                    "SELECT id FROM schedules WHERE package_id = $1 AND enabled = 1 ORDER BY id",
                )
                .bind(package_id)
                .fetch_all(&mut *tx)
                .await?;
                if !enabled.is_empty() {
                    let ids: Vec<String> = enabled.iter().map(i64::to_string).collect();
                    return Err(CatalogError::Conflict(format!(
                        "package {package_id} is run by enabled schedule(s) {}; disable them first, then archive the package",
                        ids.join(", ")
                    )));
                }
            }
            let mut next = current.state.clone();
            next.status = status.to_string();
            write(&mut tx, who, action, &current, next, Map::new()).await
        }
        .await;
        tx.finish(r).await
    }

    /// Makes a package's content what it was at `to_version`, as a new version (the
    /// history is never rewritten); audited as `package.revert` with `reverted_to`. The
    /// status is left as it is.
    pub async fn revert_package(
        &self,
        who: &Actor,
        package_id: i64,
        to_version: i64,
        expected_version: Option<i64>,
    ) -> Result<PackageChange> {
        let mut tx = self.begin().await?;
        let r = async {
            let current = self.current(&mut tx, who.account_id, package_id, true).await?;
            current.expect(expected_version)?;
            let row = sqlx::query(
                "SELECT name, description, data_flow_json, variables_json FROM package_versions \
                 WHERE package_id = $1 AND version = $2",
            )
            .bind(package_id)
            .bind(to_version)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| {
                CatalogError::invalid(
                    "version",
                    format!(
                        "package {package_id} has no version {to_version}; its versions run from 1 to {}",
                        current.version
                    ),
                )
            })?;
            let mut next = current.state.clone();
            next.content = content_from(&row, package_id)?;
            let mut notes = Map::new();
            notes.insert("reverted_to".into(), json!(to_version));
            write(&mut tx, who, "package.revert", &current, next, notes).await
        }
        .await;
        tx.finish(r).await
    }
}
