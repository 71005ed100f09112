//! `rename_package`: a package's name and description; the graph is left alone.

use schemars::JsonSchema;
use serde::Deserialize;

use super::{actor, mutation_error, Changed, PackageEditError};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "rename_package",
            title: "Rename a package",
            description:
                "Sets a package's name and optional description; the graph is untouched. Versioned.",
            effect: Effect::WriteIdempotent,
        },
        rename_package,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    pub name: String,
    pub description: Option<String>,
    /// The version you read (conflict if it moved on).
    pub expected_version: Option<i64>,
}

async fn rename_package(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    let change = ctx
        .store
        .update_package(&actor(&ctx), a.package_id, a.expected_version, |p| {
            p.name = a.name.clone();
            if let Some(d) = &a.description {
                p.description = d.clone();
            }
            Ok::<_, PackageEditError>(())
        })
        .await
        .map_err(mutation_error(a.package_id))?;
    Ok(change.into())
}
