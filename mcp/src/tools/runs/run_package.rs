//! `run_package`: queue a package run and answer at once with its `run_id`.

use catalog::{runs::RunSubmission, Actor};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::store_error;
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "run_package",
            title: "Run a package",
            description: "Queues a package run and returns its run_id at once (poll get_run). Optional cluster_id (default: any worker), variables and dynamic_variables (name → string, number or boolean).",
            effect: Effect::WriteAdditive,
        },
        run_package,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    pub cluster_id: Option<i64>,
    /// Override the package's variable defaults.
    pub variables: Option<Map<String, Value>>,
    pub dynamic_variables: Option<Map<String, Value>>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Queued {
    pub run_id: i64,
    pub package_id: i64,
    /// `queued`: a worker starts it soon.
    pub status: &'static str,
}

async fn run_package(ctx: ToolContext, a: Args) -> Result<Queued, ToolError> {
    let none = Map::new();
    let run_id = ctx
        .store
        .submit_run(RunSubmission {
            actor: Actor::from(&ctx.principal),
            package_id: a.package_id,
            cluster_id: a.cluster_id,
            variables: a.variables.as_ref().unwrap_or(&none),
            dynamic_variables: a.dynamic_variables.as_ref().unwrap_or(&none),
            parent_run_id: None,
        })
        .await
        .map_err(store_error)?;
    Ok(Queued {
        run_id,
        package_id: a.package_id,
        status: "queued",
    })
}
