//! `delete_package`: archive a package (a soft delete).

use schemars::JsonSchema;
use serde::Deserialize;

use super::{actor, Changed};
use crate::{
    context::ToolContext,
    error::{ErrorCode, ToolError},
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "delete_package",
            title: "Archive a package",
            description: "Archives a package (soft delete; list_packages status=archived shows it). Refused while an enabled schedule uses it.",
            effect: Effect::WriteDestructive,
        },
        delete_package,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    /// The version you read (conflict if it moved on).
    pub expected_version: Option<i64>,
}

async fn delete_package(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    let change = ctx
        .store
        .archive_package(&actor(&ctx), a.package_id, a.expected_version)
        .await
        .map_err(|e| match e {
            catalog::CatalogError::Conflict(m) => ToolError::new(ErrorCode::Conflict, m)
                .with_field("package_id")
                .with_hint("the message names the schedule ids: disable them with toggle_schedule, then archive again"),
            other => lookup::missing(
                "package_id",
                "package",
                a.package_id,
                "list_packages or search_all shows package ids",
            )(other),
        })?;
    Ok(change.into())
}
