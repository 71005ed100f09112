//! `get_connection`: one connection's clear fields, which secrets are set, and the
//! components that read or write it.

use catalog::connections::Connection;
use engine::components::SuggestedComponents;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
    tools::lookup,
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "get_connection",
            title: "Get a connection",
            description: "Returns one connection's non-secret fields (host, port, database, user, tunnel_type, bucket, …), the names of the secrets it has set, and suggested_components for packages.",
            effect: Effect::Read,
        },
        get_connection,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetConnectionArgs {
    pub connection_id: i64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectionDetail {
    #[serde(flatten)]
    pub connection: Connection,
    pub suggested_components: Option<SuggestedComponents>,
}

async fn get_connection(
    ctx: ToolContext,
    a: GetConnectionArgs,
) -> Result<ConnectionDetail, ToolError> {
    let c = lookup::connection(&ctx, a.connection_id).await?;
    Ok(ConnectionDetail {
        suggested_components: engine::components::suggested_for(&c.kind),
        connection: c,
    })
}
