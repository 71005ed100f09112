//! `validate_package`: structure, references and every expression checked by compiling the
//! package to a query plan, with source columns read from the connections (schemas only,
//! never rows). Each call is recorded as a job validation.

use std::{collections::BTreeSet, time::Instant};

use async_trait::async_trait;
use catalog::validations::NewJobValidation;
use engine::{
    package::FlowType,
    validate::{self, Context, Inventory},
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
            description: "Checks a package without running it: structure, properties, connections, variables, and every column and expression against the sources' real columns. Each finding names component, property and fix.",
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
        let schemas = engine::run::LiveSchemas::new(ctx.connections.clone(), ctx.account_id());
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
