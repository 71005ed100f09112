//! What a run may be given as `variables` and `dynamic_variables`: a flat object of
//! names to scalar values. The engine substitutes them as values (never as SQL text), so
//! the checks here only keep them small and flat.

use serde_json::{Map, Value};

use crate::{CatalogError, Result};

/// The most variables of one kind a run takes.
pub const MAX_VARIABLES: usize = 100;
/// The longest variable name, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// The longest string value, in bytes.
pub const MAX_VALUE_BYTES: usize = 8 * 1024;

/// Refuses `vars` unless every entry is a short name with a string, number or boolean.
/// Messages name the variable (a name, not a value), never what it holds.
pub(crate) fn check(field: &'static str, vars: &Map<String, Value>) -> Result<()> {
    if vars.len() > MAX_VARIABLES {
        return Err(CatalogError::invalid(
            field,
            format!(
                "at most {MAX_VARIABLES} variables per run (got {})",
                vars.len()
            ),
        ));
    }
    for (name, value) in vars {
        if name.trim().is_empty() || name.len() > MAX_NAME_BYTES {
            return Err(CatalogError::invalid(
                field,
                format!("variable names are 1 to {MAX_NAME_BYTES} bytes long"),
            ));
        }
        match value {
            Value::String(s) if s.len() > MAX_VALUE_BYTES => {
                return Err(CatalogError::invalid(
                    field,
                    format!("the value of `{name}` is longer than {MAX_VALUE_BYTES} bytes"),
                ))
            }
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {}
            _ => {
                return Err(CatalogError::invalid(
                    field,
                    format!("`{name}` must be a string, number or boolean"),
                ))
            }
        }
    }
    Ok(())
}

/// A stored variables object, or an empty one when the text is not an object.
pub(crate) fn parse(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn scalars_pass_and_nesting_is_refused_without_echoing_the_value() {
        check("variables", &vars(json!({"a": 1, "b": "x", "c": true}))).unwrap();
        let e = check("variables", &vars(json!({"a": {"secret": "hunter2"}}))).unwrap_err();
        assert!(e.to_string().contains("`a` must be a string"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(check("dynamic_variables", &vars(json!({"n": null}))).is_err());
        assert!(check("variables", &vars(json!({"l": [1]}))).is_err());
    }

    #[test]
    fn sizes_are_capped() {
        let long = "x".repeat(MAX_VALUE_BYTES + 1);
        let e = check("variables", &vars(json!({ "v": long }))).unwrap_err();
        assert!(matches!(
            e,
            CatalogError::InvalidArgument {
                field: "variables",
                ..
            }
        ));
        let name = "n".repeat(MAX_NAME_BYTES + 1);
        assert!(check("variables", &vars(json!({ name: 1 }))).is_err());
        let many: Map<String, Value> = (0..=MAX_VARIABLES)
            .map(|i| (format!("v{i}"), json!(i)))
            .collect();
        assert!(check("variables", &many).is_err());
    }

    #[test]
    fn unreadable_stored_variables_read_as_none() {
        assert!(parse("not json").is_empty());
        assert!(parse("[1]").is_empty());
        assert_eq!(parse(r#"{"a":1}"#)["a"], json!(1));
    }
}
