//! `validate_package`: everything that can be known about a package without running it.
//!
//! In order: the package is read ([`Package::parse`]); its shape is checked (ids, names,
//! edges, cycles, inputs and outputs per kind); connections and packages it names are
//! looked up through the caller's [`Inventory`]; variables are checked against those the
//! caller says are defined; then the whole dataflow is compiled to DataFusion logical plans
//! with source schemas from the caller's [`SchemaSource`], which checks every column
//! reference and expression type. Nothing is read beyond schemas; nothing is written.
//!
//! Lookups run concurrently and each distinct connection is looked up once, so the time is
//! about one schema round trip plus planning (micro- to milliseconds).

mod plan;
pub(crate) mod sql;
pub(crate) mod structure;

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use futures_util::future::join_all;
use serde_json::Value;

use crate::components::properties::FileSource;
use crate::components::{Accepts, Category};
use crate::connection_types::connection_type;
use crate::finding::{Finding, Severity};
use crate::package::{Component, FlowType, Package, Spec};
use crate::schema;

/// What the validating account holds, as the caller (the control plane) knows it.
#[async_trait]
pub trait Inventory: Send + Sync {
    /// The `type` of the account's connection `id` (`postgres`, `s3`, …); `None` when the
    /// account has no such connection.
    async fn connection_type(&self, id: i64) -> Option<String>;
    /// The flow type of the account's package `id`; `None` when it has no such package.
    async fn package_flow_type(&self, id: i64) -> Option<FlowType>;
}

/// Why a source's columns are not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The connection could not be reached (network, credentials, timeout). Validation
    /// warns and skips the checks that need these columns.
    #[error("{0}")]
    Unreachable(String),
    /// The table or file does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The database refused the query (syntax, unknown table in it, permissions).
    #[error("{0}")]
    Invalid(String),
}

/// Source columns as Arrow schemas, from the drivers (see [`crate::schema`] for the
/// mappings execution uses). Each method is called at most once per source per validation.
#[async_trait]
pub trait SchemaSource: Send + Sync {
    async fn table_schema(
        &self,
        connection_id: i64,
        schema: Option<&str>,
        table: &str,
    ) -> Result<SchemaRef, SchemaError>;
    /// The columns of one SELECT, without running it (prepare or `LIMIT 0`). Variables
    /// (`$name`) are still in the text.
    async fn query_schema(&self, connection_id: i64, query: &str)
        -> Result<SchemaRef, SchemaError>;
    /// The columns of a file source that declares no `schema.fields` (discovery).
    async fn file_schema(
        &self,
        connection_id: i64,
        source: &FileSource,
    ) -> Result<SchemaRef, SchemaError>;
}

/// What validation may consult.
pub struct Context<'a> {
    pub inventory: &'a dyn Inventory,
    pub schemas: &'a dyn SchemaSource,
    /// Names a run can give a value: the package's variables, and any the caller adds.
    pub variables: BTreeSet<String>,
}

/// Every problem in the package, errors first; empty when it is valid.
pub async fn validate(
    flow_type: FlowType,
    data_flow_json: &Value,
    cx: &Context<'_>,
) -> Vec<Finding> {
    compile(flow_type, data_flow_json, cx).await.findings
}

/// What validation learned, for a run: the typed package, each component's
/// plan (scans over schema-only sources, which a run binds to live data) and the
/// findings (errors first).
pub(crate) struct Compiled {
    pub package: Package,
    pub plans: Vec<Option<datafusion::logical_expr::LogicalPlan>>,
    pub findings: Vec<Finding>,
}

pub(crate) async fn compile(
    flow_type: FlowType,
    data_flow_json: &Value,
    cx: &Context<'_>,
) -> Compiled {
    let (package, mut findings) = Package::parse(data_flow_json);
    let graph = structure::check(&package, flow_type, &mut findings);
    check_variables(&package, &cx.variables, &mut findings);
    let connected = check_references(&package, cx.inventory, &mut findings).await;
    let plans = if flow_type == FlowType::Dataflow {
        let sources = source_schemas(&package, &connected, cx.schemas, &mut findings).await;
        plan::compile(&package, &graph, &sources, &mut findings)
    } else {
        Vec::new()
    };
    findings.sort_by_key(|f| f.severity);
    Compiled {
        package,
        plans,
        findings,
    }
}

/// Whether the package has no error (warnings allowed).
pub fn is_valid(findings: &[Finding]) -> bool {
    !findings.iter().any(|f| f.severity == Severity::Error)
}

fn check_variables(package: &Package, defined: &BTreeSet<String>, findings: &mut Vec<Finding>) {
    for c in &package.components {
        let mut used: Vec<(&str, String)> = c
            .spec
            .sql_texts()
            .into_iter()
            .flat_map(|(prop, text)| sql::variables(text).into_iter().map(move |v| (prop, v)))
            .collect();
        let path = match &c.spec {
            Spec::FileSource(f) => Some(&f.path),
            Spec::FileDestination(f) => Some(&f.path),
            _ => None,
        };
        if let Some(path) = path {
            used.extend(sql::path_variables(path).into_iter().map(|v| ("path", v)));
        }
        let mut reported = BTreeSet::new();
        for (prop, v) in used {
            if !defined.contains(&v) && reported.insert(v.clone()) {
                findings.push(Finding::error(
                    &c.name,
                    Some(prop),
                    format!("variable `{v}` is not defined"),
                    format!("define package variable `{v}`, or fix the name"),
                ));
            }
        }
    }
}

/// Looks up every connection and package the components name; returns, per component
/// index, the connection type of components whose connection is the right one.
async fn check_references(
    package: &Package,
    inventory: &dyn Inventory,
    findings: &mut Vec<Finding>,
) -> HashMap<usize, &'static str> {
    let ids: BTreeSet<i64> = package
        .components
        .iter()
        .filter_map(|c| c.spec.connection_id())
        .collect();
    let found: HashMap<i64, Option<String>> = join_all(
        ids.into_iter()
            .map(|id| async move { (id, inventory.connection_type(id).await) }),
    )
    .await
    .into_iter()
    .collect();
    let packages: BTreeSet<i64> = package
        .components
        .iter()
        .filter_map(|c| match &c.spec {
            Spec::RunPackage(r) => Some(r.package_id),
            _ => None,
        })
        .collect();
    let flows: HashMap<i64, Option<FlowType>> = join_all(
        packages
            .into_iter()
            .map(|id| async move { (id, inventory.package_flow_type(id).await) }),
    )
    .await
    .into_iter()
    .collect();

    let mut ok = HashMap::new();
    for (i, c) in package.components.iter().enumerate() {
        if let Spec::RunPackage(r) = &c.spec {
            if flows.get(&r.package_id).is_some_and(Option::is_none) {
                findings.push(Finding::error(
                    &c.name,
                    Some("package_id"),
                    format!("there is no package {} in this account", r.package_id),
                    "use the id of an existing package",
                ));
            }
        }
        let Some(id) = c.spec.connection_id() else {
            continue;
        };
        match found.get(&id).and_then(Option::as_deref) {
            None => findings.push(Finding::error(
                &c.name,
                Some("connection_id"),
                format!("there is no connection {id} in this account"),
                "use the id of an existing connection",
            )),
            Some(kind) => {
                if let Some(t) = check_connection(c, id, kind, findings) {
                    ok.insert(i, t);
                }
            }
        }
    }
    ok
}

fn check_connection(
    c: &Component,
    id: i64,
    kind: &str,
    findings: &mut Vec<Finding>,
) -> Option<&'static str> {
    let ct = c.component_type;
    let Some(t) = connection_type(kind) else {
        findings.push(Finding::error(
            &c.name,
            Some("connection_id"),
            format!("connection {id} has type `{kind}`, which no component reads or writes"),
            "use a database or file-storage connection",
        ));
        return None;
    };
    if !ct.accepts_connection(kind) {
        let fix = match (ct.accepts, ct.category) {
            (Accepts::Suggested, Category::Destination) if t.destination.is_some() => format!(
                "use a {} connection, or change the component to {}",
                ct.connection_types().join(" / "),
                t.destination.unwrap_or_default()
            ),
            (Accepts::Suggested, Category::Source) => format!(
                "use a {} connection, or change the component to {}",
                ct.connection_types().join(" / "),
                t.source
            ),
            (_, Category::Destination) if t.destination.is_none() => {
                format!("{kind} connections are read-only; write to another connection")
            }
            _ => format!(
                "use a connection of type {}",
                ct.connection_types().join(", ")
            ),
        };
        findings.push(Finding::error(
            &c.name,
            Some("connection_id"),
            format!(
                "connection {id} is a {} connection ({kind}); {} needs {}",
                t.family.as_str(),
                ct.name,
                family_words(ct)
            ),
            fix,
        ));
        return None;
    }
    // A statement or query must be one statement in the connection's own dialect.
    let dialect = t.dialect.unwrap_or("generic");
    let text = match &c.spec {
        Spec::SqlStatement(s) => Some(("statement", s.statement.as_str(), false)),
        Spec::DatabaseSource(d) => d.query.as_deref().map(|q| ("query", q, true)),
        _ => None,
    };
    if let Some((prop, text, query_only)) = text {
        if let Err(p) = sql::one_statement(dialect, text, query_only) {
            findings.push(Finding::error(
                &c.name,
                Some(prop),
                format!("`{prop}` {}", p.message),
                p.fix,
            ));
            return None;
        }
    }
    Some(t.kind)
}

fn family_words(ct: &crate::components::ComponentType) -> String {
    let kinds = ct.connection_types();
    match ct.accepts {
        Accepts::Family(f) => format!("a {} connection", f.as_str()),
        _ => format!("a {} connection", kinds.join(" or ")),
    }
}

/// Each source's columns: declared (`schema.fields`) or asked of the caller, concurrently.
async fn source_schemas(
    package: &Package,
    connected: &HashMap<usize, &'static str>,
    source: &dyn SchemaSource,
    findings: &mut Vec<Finding>,
) -> HashMap<usize, SchemaRef> {
    let mut schemas = HashMap::new();
    let mut asks = Vec::new();
    for (i, c) in package.components.iter().enumerate() {
        match &c.spec {
            Spec::FileSource(f) => {
                if let Some(declared) = &f.schema {
                    if declared.fields.is_empty() {
                        findings.push(Finding::error(
                            &c.name,
                            Some("schema"),
                            "schema.fields is empty",
                            "set schema.fields to the file's discovered fields, or remove `schema` to discover them",
                        ));
                    } else {
                        schemas.insert(i, schema::from_file_fields(&declared.fields));
                    }
                } else if connected.contains_key(&i) {
                    asks.push(i);
                }
            }
            Spec::DatabaseSource(_) if connected.contains_key(&i) => asks.push(i),
            _ => {}
        }
    }
    let answers = join_all(asks.iter().map(|&i| {
        let c = &package.components[i];
        async move {
            let r = match &c.spec {
                Spec::DatabaseSource(d) => match (&d.table, &d.query) {
                    (Some(t), _) => {
                        source
                            .table_schema(d.connection_id, d.schema.as_deref(), t)
                            .await
                    }
                    (None, Some(q)) => source.query_schema(d.connection_id, q).await,
                    (None, None) => Err(SchemaError::NotFound("no table or query".into())),
                },
                Spec::FileSource(f) => source.file_schema(f.connection_id, f).await,
                _ => Err(SchemaError::NotFound(String::new())),
            };
            (i, r)
        }
    }))
    .await;
    for (i, r) in answers {
        let c = &package.components[i];
        let prop = match &c.spec {
            Spec::FileSource(_) => "path",
            Spec::DatabaseSource(d) if d.table.is_none() => "query",
            _ => "table",
        };
        match r {
            Ok(s) => {
                schemas.insert(i, s);
            }
            Err(SchemaError::Unreachable(why)) => findings.push(Finding::warning(
                &c.name,
                Some("connection_id"),
                format!("its columns could not be read ({why}); components after it were not type-checked"),
                "check that the connection is reachable and its credentials work, then validate again",
            )),
            Err(SchemaError::NotFound(why)) => findings.push(Finding::error(
                &c.name,
                Some(prop),
                format!("`{prop}` was not found: {why}"),
                if prop == "path" {
                    "fix the path (list the connection's files to see what is there)"
                } else {
                    "fix the table name (list the connection's tables to see what is there)"
                },
            )),
            Err(SchemaError::Invalid(why)) => findings.push(Finding::error(
                &c.name,
                Some(prop),
                format!("the database refused `{prop}`: {why}"),
                "fix the query so the database accepts it",
            )),
        }
    }
    schemas
}

#[cfg(test)]
mod fixture;
#[cfg(test)]
mod tests;
