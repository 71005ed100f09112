//! `manage_package_variables`: set and remove a package's public variables.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{actor, edit::EditError, mutation_error, Changed, PackageEditError};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "manage_package_variables",
            title: "Set or remove package variables",
            description: "Sets (set: {name: default}) and/or deletes (remove: [names]) public variables. Secret variables are never shown or set here. Versioned.",
            effect: Effect::WriteIdempotent,
        },
        manage_package_variables,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub package_id: i64,
    /// Variables to add or update: name → default value.
    pub set: Option<Map<String, Value>>,
    /// Names of variables to delete.
    pub remove: Option<Vec<String>>,
    /// The version you read (conflict if it moved on).
    pub expected_version: Option<i64>,
}

/// A variable name: a letter or `_`, then letters, digits and `_` (it is written `$name`).
fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
        && n.len() <= 64
}

async fn manage_package_variables(ctx: ToolContext, a: Args) -> Result<Changed, ToolError> {
    let set = a.set.unwrap_or_default();
    let remove = a.remove.unwrap_or_default();
    if set.is_empty() && remove.is_empty() {
        return Err(ToolError::invalid("set", "give `set`, `remove` or both"));
    }
    for (i, name) in set.keys().enumerate() {
        if !valid_name(name) {
            return Err(ToolError::invalid(
                "set",
                format!("variable {} of `set` has a name that is not letters, digits and _ (starting with a letter or _)", i + 1),
            ));
        }
    }
    let change = ctx
        .store
        .update_package(&actor(&ctx), a.package_id, a.expected_version, |p| {
            let vars = match &mut p.variables {
                Value::Object(m) => m,
                other => {
                    *other = Value::Object(Map::new());
                    other.as_object_mut().expect("just set")
                }
            };
            for (i, name) in remove.iter().enumerate() {
                if vars.remove(name).is_none() {
                    return Err(PackageEditError::Edit(EditError::Invalid {
                        at: format!("remove[{i}]"),
                        message: "names no variable of this package".into(),
                    }));
                }
            }
            for (k, v) in &set {
                vars.insert(k.clone(), v.clone());
            }
            Ok(())
        })
        .await
        .map_err(mutation_error(a.package_id))?;
    Ok(change.into())
}
