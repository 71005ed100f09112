//! Fixture tools that the official MCP conformance suite looks for by name. They are
//! registered only with `serve --conformance-fixtures` (a test-harness switch, hidden from
//! `--help`), never in a normal server, and they touch no data.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn tools() -> Vec<ToolSpec> {
    let mut fixture = tool(
        ToolMeta {
            name: "json_schema_2020_12_tool",
            title: "Conformance fixture: JSON Schema 2020-12",
            description: "Test fixture for the MCP conformance suite (SEP-1613): its input schema uses \
JSON Schema 2020-12 keywords ($schema, $defs, additionalProperties). Returns which arguments it received. Touches no data.",
            effect: Effect::Read,
        },
        json_schema_2020_12_tool,
    );
    // The suite checks that a declared dialect is served as declared.
    let declared = crate::schema::with_dialect(&fixture.definition.input_schema);
    fixture.definition.input_schema = std::sync::Arc::new(declared);
    vec![fixture]
}

/// A postal address.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "address")]
pub struct Address {
    pub street: Option<String>,
    pub city: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixtureArgs {
    /// Any name.
    pub name: Option<String>,
    /// An address, described in `$defs`.
    pub address: Option<Address>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FixtureResult {
    /// The names of the arguments that were given.
    pub received: Vec<String>,
}

async fn json_schema_2020_12_tool(
    _ctx: ToolContext,
    a: FixtureArgs,
) -> Result<FixtureResult, ToolError> {
    let mut received = Vec::new();
    if a.name.is_some() {
        received.push("name".to_string());
    }
    if a.address.is_some() {
        received.push("address".to_string());
    }
    Ok(FixtureResult { received })
}
