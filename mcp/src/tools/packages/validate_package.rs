//! `validate_package`: structure, references and every expression checked by compiling the
//! package to a query plan, with source columns read from the connections (schemas only,
//! never rows). Each call is recorded as a job validation.

use std::{collections::BTreeSet, time::Instant};

use async_trait::async_trait;
use catalog::validations::NewJobValidation;
use connectors::{database::TableRef, files, DriverError};
use engine::{
    arrow::datatypes::SchemaRef,
    components::properties::{FileSource, SchemaField},
    package::FlowType,
    validate::{self, Context, Inventory, SchemaError, SchemaSource},
    Finding, Severity,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "validate_package",
            title: "Validate a package",
            description: "Checks a package without running it: structure, properties, connections, variables, and every column and expression against the sources' real columns. Errors and warnings name component, property and fix. Reads schemas only.",
            effect: Effect::ReadUpstream,
        },
        validate_package,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    /// Extra variable names a run will provide (beyond the package's own).
    pub variables: Option<Vec<String>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Validation {
    pub package_id: i64,
    /// The version that was checked.
    pub version: i64,
    /// No errors (warnings allowed).
    pub valid: bool,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    pub duration_ms: f64,
    /// The job-validation record of this call.
    pub validation_id: i64,
}

struct Account<'a> {
    ctx: &'a ToolContext,
}

#[async_trait]
impl Inventory for Account<'_> {
    async fn connection_type(&self, id: i64) -> Option<String> {
        self.ctx
            .store
            .connection(self.ctx.account_id(), id)
            .await
            .ok()
            .map(|c| c.kind)
    }

    async fn package_flow_type(&self, id: i64) -> Option<FlowType> {
        let p = self
            .ctx
            .store
            .package(self.ctx.account_id(), id)
            .await
            .ok()?;
        FlowType::parse(&p.summary.flow_type)
    }
}

/// Source columns from the account's connections, as the drivers and file discovery see
/// them.
struct Columns<'a> {
    ctx: &'a ToolContext,
}

fn unreachable(e: DriverError) -> SchemaError {
    match e {
        DriverError::TableNotFound(_)
        | DriverError::FileNotFound { .. }
        | DriverError::NoMatch { .. } => SchemaError::NotFound(e.to_string()),
        other => SchemaError::Unreachable(other.to_string()),
    }
}

#[async_trait]
impl SchemaSource for Columns<'_> {
    async fn table_schema(
        &self,
        connection_id: i64,
        schema: Option<&str>,
        table: &str,
    ) -> Result<SchemaRef, SchemaError> {
        let driver = self
            .ctx
            .connections
            .database(self.ctx.account_id(), connection_id)
            .await
            .map_err(unreachable)?;
        let columns = driver
            .describe_table(&TableRef {
                schema: schema.map(String::from),
                name: table.to_string(),
            })
            .await
            .map_err(unreachable)?;
        Ok(engine::schema::from_columns(&columns))
    }

    async fn query_schema(&self, _: i64, _: &str) -> Result<SchemaRef, SchemaError> {
        Err(SchemaError::Unreachable(
            "the columns of a SQL query are not read before the package runs".into(),
        ))
    }

    async fn file_schema(
        &self,
        connection_id: i64,
        source: &FileSource,
    ) -> Result<SchemaRef, SchemaError> {
        let account = self.ctx.account_id();
        let store = self
            .ctx
            .connections
            .file_store(account, connection_id, source.bucket.as_deref())
            .await
            .map_err(unreachable)?;
        let gate = self.ctx.connections.files();
        let resolved = {
            let (store, path) = (store.clone(), source.path.clone());
            gate.run(account, async move {
                files::resolve(store.as_ref(), &path).await
            })
            .await
            .map_err(unreachable)?
        };
        let (bytes, truncated) = {
            let (store, file) = (store.clone(), resolved.file.clone());
            gate.run(account, async move {
                files::read_prefix(store.as_ref(), &file, 256 * 1024).await
            })
            .await
            .map_err(unreachable)?
        };
        let hints = discovery::Hints {
            encoding: source.encoding.clone(),
            ..Default::default()
        };
        let found = gate
            .run_blocking(account, move || discovery::sniff(&bytes, truncated, &hints))
            .await
            .map_err(unreachable)?
            .map_err(|e| SchemaError::Invalid(e.to_string()))?;
        let fields: Vec<SchemaField> = serde_json::to_value(&found.fields)
            .and_then(serde_json::from_value)
            .map_err(|_| SchemaError::Invalid("the file's columns could not be read".into()))?;
        Ok(engine::schema::from_file_fields(&fields))
    }
}

async fn validate_package(ctx: ToolContext, a: Args) -> Result<Validation, ToolError> {
    let started = Instant::now();
    let package = lookup::package(&ctx, a.package_id).await?;
    let flow_type = FlowType::parse(&package.summary.flow_type).unwrap_or(FlowType::Dataflow);
    let mut variables: BTreeSet<String> = package
        .variables
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    variables.extend(a.variables.unwrap_or_default());
    let findings = {
        let inventory = Account { ctx: &ctx };
        let schemas = Columns { ctx: &ctx };
        let cx = Context {
            inventory: &inventory,
            schemas: &schemas,
            variables,
        };
        validate::validate(flow_type, &package.data_flow_json, &cx).await
    };
    let duration = started.elapsed();
    let (errors, warnings): (Vec<Finding>, Vec<Finding>) = findings
        .into_iter()
        .partition(|f| f.severity == Severity::Error);
    let valid = errors.is_empty();
    let recorded: Value = serde_json::to_value(errors.iter().chain(&warnings).collect::<Vec<_>>())
        .unwrap_or(Value::Null);
    let record = ctx
        .store
        .record_job_validation(NewJobValidation {
            account_id: ctx.account_id(),
            package_id: a.package_id,
            package_version: package.summary.version,
            status: if valid { "valid" } else { "invalid" },
            errors: &recorded,
            duration_ms: duration.as_millis() as i64,
        })
        .await?;
    Ok(Validation {
        package_id: a.package_id,
        version: package.summary.version,
        valid,
        errors,
        warnings,
        duration_ms: duration.as_secs_f64() * 1000.0,
        validation_id: record.id,
    })
}
