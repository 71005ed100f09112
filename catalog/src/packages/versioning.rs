//! The one way a package version is written, shared by every operation in `authoring`:
//! read (and lock) the current row, compare, update it with `version + 1`, keep the new
//! version whole, write the audit event with a compact diff, re-index for search.

use serde_json::{json, Map, Value};
use sqlx::{any::AnyRow, Row};

use super::{PackageChange, PackageContent, PackageSpec, DEFAULT_FLOW_VERSION, FLOW_TYPES};
use crate::{
    audit::{self, Actor, NewEvent},
    diff, search,
    store::Tx,
    time::now_ms,
    CatalogError, Result, Store,
};

/// A package as one version sees it: content and status, and what never changes after
/// creation (kept here so the creation event lists them too).
#[derive(Debug, Clone)]
pub(super) struct State {
    pub content: PackageContent,
    pub status: String,
    pub workspace_id: Option<i64>,
    pub flow_type: String,
    pub flow_version: String,
}

impl State {
    fn to_json(&self) -> Value {
        json!({
            "name": self.content.name,
            "description": self.content.description,
            "status": self.status,
            "workspace_id": self.workspace_id,
            "flow_type": self.flow_type,
            "flow_version": self.flow_version,
            "data_flow_json": self.content.data_flow_json,
            "variables": self.content.variables,
        })
    }
}

/// A package row read inside a change's transaction.
pub(super) struct Current {
    pub id: i64,
    pub version: i64,
    pub state: State,
}

impl Current {
    pub(super) fn expect(&self, expected_version: Option<i64>) -> Result<()> {
        match expected_version {
            Some(v) if v != self.version => Err(CatalogError::Conflict(format!(
                "package {} is at version {}, not {v}: it changed since it was read; read it again and apply the change to version {}",
                self.id, self.version, self.version
            ))),
            _ => Ok(()),
        }
    }
}

/// The content columns (`name`, `description`, `data_flow_json`, `variables_json`) of a
/// `packages` or `package_versions` row of package `id`.
pub(super) fn content_from(row: &AnyRow, id: i64) -> Result<PackageContent> {
    let json = |column: &str| -> Result<Value> {
        serde_json::from_str(&row.try_get::<String, _>(column)?)
            .map_err(|_| CatalogError::Store(format!("package {id} holds unreadable {column}")))
    };
    Ok(PackageContent {
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        data_flow_json: json("data_flow_json")?,
        variables: json("variables_json")?,
    })
}

fn check_content(c: &PackageContent) -> Result<()> {
    if c.name.trim().is_empty() {
        return Err(CatalogError::invalid("name", "give the package a name"));
    }
    if !c.data_flow_json.is_object() {
        return Err(CatalogError::invalid(
            "data_flow_json",
            "must be a JSON object holding the package's components and edges",
        ));
    }
    if !c.variables.is_object() {
        return Err(CatalogError::invalid(
            "variables",
            "must be a JSON object of variable names to default values",
        ));
    }
    Ok(())
}

impl Store {
    /// Reads a package of `account_id` inside `tx`, locking its row when `lock` is set.
    pub(super) async fn current(
        &self,
        tx: &mut Tx,
        account_id: i64,
        id: i64,
        lock: bool,
    ) -> Result<Current> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT version, name, description, status, workspace_id, flow_type, flow_version, data_flow_json, variables_json \
             FROM packages WHERE id = $1 AND account_id = $2{}",
            if lock { self.for_update() } else { "" }
        )))
        .bind(id)
        .bind(account_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| CatalogError::not_found("package", id))?;
        Ok(Current {
            id,
            version: row.try_get("version")?,
            state: State {
                content: content_from(&row, id)?,
                status: row.try_get("status")?,
                workspace_id: row.try_get("workspace_id")?,
                flow_type: row.try_get("flow_type")?,
                flow_version: row.try_get("flow_version")?,
            },
        })
    }
}

/// Inserts a new package at version 1 with its version row, audit event and search entry.
pub(super) async fn insert(
    tx: &mut Tx,
    who: &Actor,
    action: &'static str,
    spec: PackageSpec,
    notes: Map<String, Value>,
) -> Result<PackageChange> {
    if !FLOW_TYPES.contains(&spec.flow_type.as_str()) {
        return Err(CatalogError::invalid(
            "flow_type",
            "use `dataflow` or `workflow`",
        ));
    }
    let flow_version = spec
        .flow_version
        .unwrap_or_else(|| DEFAULT_FLOW_VERSION.to_string());
    if flow_version.trim().is_empty() || flow_version.len() > 32 {
        return Err(CatalogError::invalid(
            "flow_version",
            format!("use a version such as {DEFAULT_FLOW_VERSION}, or leave it out"),
        ));
    }
    let state = State {
        content: PackageContent {
            name: spec.name,
            description: spec.description,
            data_flow_json: spec.data_flow_json,
            variables: spec.variables,
        },
        status: "active".into(),
        workspace_id: spec.workspace_id,
        flow_type: spec.flow_type,
        flow_version,
    };
    check_content(&state.content)?;
    if let Some(ws) = state.workspace_id {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM workspaces WHERE id = $1 AND account_id = $2")
                .bind(ws)
                .bind(who.account_id)
                .fetch_optional(&mut **tx)
                .await?;
        if found.is_none() {
            return Err(CatalogError::invalid(
                "workspace_id",
                format!("this account has no workspace {ws}; use one of its workspaces, or leave it out"),
            ));
        }
    }
    let now = now_ms();
    let c = &state.content;
    let graph = c.data_flow_json.to_string();
    let vars = c.variables.to_string();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO packages (account_id, workspace_id, name, description, flow_type, flow_version, status, \
         data_flow_json, variables_json, version, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10) RETURNING id",
    )
    .bind(who.account_id)
    .bind(state.workspace_id)
    .bind(&c.name)
    .bind(&c.description)
    .bind(&state.flow_type)
    .bind(&state.flow_version)
    .bind(&state.status)
    .bind(&graph)
    .bind(&vars)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    let d = diff::diff(&json!({}), &state.to_json());
    let fields = d.top_level();
    let mut after = d.after;
    after.extend(notes);
    let event = audit::record(
        tx,
        NewEvent::new(who, action, "package", Some(id)).after(Value::Object(after)),
    )
    .await?;
    keep_version(tx, id, 1, &state, now, event).await?;
    search::index(
        tx,
        search::Kind::Package,
        id,
        who.account_id,
        &c.name,
        &format!("{} {}", state.flow_type, c.description),
    )
    .await?;
    Ok(PackageChange {
        package_id: id,
        version: 1,
        changed: true,
        fields,
        audit_event_id: Some(event),
    })
}

/// Writes `next` over `current` as version `current.version + 1`, unless nothing differs.
pub(super) async fn write(
    tx: &mut Tx,
    who: &Actor,
    action: &'static str,
    current: &Current,
    next: State,
    notes: Map<String, Value>,
) -> Result<PackageChange> {
    check_content(&next.content)?;
    let d = diff::diff(&current.state.to_json(), &next.to_json());
    if d.is_empty() {
        return Ok(PackageChange {
            package_id: current.id,
            version: current.version,
            changed: false,
            fields: vec![],
            audit_event_id: None,
        });
    }
    let version = current.version + 1;
    let now = now_ms();
    let c = &next.content;
    let updated = sqlx::query(
        "UPDATE packages SET name = $1, description = $2, status = $3, data_flow_json = $4, variables_json = $5, \
         version = $6, updated_at = $7 WHERE id = $8 AND version = $9",
    )
    .bind(&c.name)
    .bind(&c.description)
    .bind(&next.status)
    .bind(c.data_flow_json.to_string())
    .bind(c.variables.to_string())
    .bind(version)
    .bind(now)
    .bind(current.id)
    .bind(current.version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated != 1 {
        // Unreachable while the row is locked; a guard against a caller that forgot to.
        return Err(CatalogError::Conflict(format!(
            "package {} changed while it was being edited; read it again and retry",
            current.id
        )));
    }
    let fields = d.top_level();
    let mut after = d.after;
    after.extend(notes);
    let event = audit::record(
        tx,
        NewEvent::new(who, action, "package", Some(current.id))
            .before(Value::Object(d.before))
            .after(Value::Object(after)),
    )
    .await?;
    keep_version(tx, current.id, version, &next, now, event).await?;
    if fields.iter().any(|f| f == "name" || f == "description") {
        search::index(
            tx,
            search::Kind::Package,
            current.id,
            who.account_id,
            &c.name,
            &format!("{} {}", next.flow_type, c.description),
        )
        .await?;
    }
    Ok(PackageChange {
        package_id: current.id,
        version,
        changed: true,
        fields,
        audit_event_id: Some(event),
    })
}

async fn keep_version(
    tx: &mut Tx,
    package_id: i64,
    version: i64,
    s: &State,
    at: i64,
    event: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO package_versions (package_id, version, name, description, status, data_flow_json, variables_json, created_at, audit_event_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(package_id)
    .bind(version)
    .bind(&s.content.name)
    .bind(&s.content.description)
    .bind(&s.status)
    .bind(s.content.data_flow_json.to_string())
    .bind(s.content.variables.to_string())
    .bind(at)
    .bind(event)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
