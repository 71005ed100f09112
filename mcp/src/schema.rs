//! Tool schemas as served: derived from the argument and output types (never written by
//! hand), then shaped for what reads them. Context is a budget (DESIGN.md): a model reads
//! every input schema on every turn, so they carry only what helps it call the tool; output
//! schemas are for clients that validate `structuredContent`, so they keep types only.

use rmcp::model::JsonObject;
use serde_json::Value;

/// An input schema as served: lean (descriptions kept), portable, and with optional
/// arguments written plainly (see [`plain_optionals`]).
pub fn input(schema: &JsonObject) -> JsonObject {
    plain_optionals(&lean(&portable(schema), Docs::Keep))
}

/// The JSON Schema dialect every schema we serve is written in.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// `schema` declaring its dialect explicitly (for a tool whose schema must say it).
pub fn with_dialect(schema: &JsonObject) -> JsonObject {
    let mut s = JsonObject::new();
    s.insert("$schema".into(), Value::String(DIALECT.into()));
    s.extend(schema.clone());
    s
}

/// An output schema as served: types without prose, [`OUTPUT_DEPTH`] levels deep.
pub fn output(schema: &JsonObject) -> JsonObject {
    let full = lean(&portable(schema), Docs::Drop);
    let defs = full
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let cut = shallow(&full, OUTPUT_DEPTH, &defs);
    // A `$ref` left where this does not look (`not`, `if`, …) needs its `$defs`.
    if Value::Object(cut.clone()).to_string().contains("\"$ref\"") {
        full
    } else {
        cut
    }
}

/// How deep output schemas are typed: a result's fields, and one level inside each (an
/// object field's own fields, the kind of a list's items). What lies deeper is left open:
/// no model reads output schemas, and validating clients still check every result's
/// shape, for a fraction of the bytes of `tools/list`.
pub const OUTPUT_DEPTH: usize = 2;

/// `schema` with `$ref`s resolved from `defs` and fields below `depth` levels left open.
fn shallow(schema: &JsonObject, depth: usize, defs: &JsonObject) -> JsonObject {
    let schema = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| defs.get(name))
        .and_then(Value::as_object)
        .unwrap_or(schema);
    let deeper = |v: &Value| match v {
        Value::Object(o) => Value::Object(shallow(o, depth - 1, defs)),
        other => other.clone(),
    };
    schema
        .iter()
        .filter(|(k, _)| k.as_str() != "$defs" && k.as_str() != "$ref")
        .filter_map(|(k, v)| {
            let nested = matches!(
                k.as_str(),
                "properties"
                    | "patternProperties"
                    | "items"
                    | "additionalProperties"
                    | "prefixItems"
            );
            if nested && depth == 0 {
                return None;
            }
            let v = match (k.as_str(), v) {
                ("properties" | "patternProperties", Value::Object(m)) => {
                    Value::Object(m.iter().map(|(n, p)| (n.clone(), deeper(p))).collect())
                }
                ("items" | "additionalProperties", v) => deeper(v),
                ("prefixItems", Value::Array(a)) => Value::Array(a.iter().map(deeper).collect()),
                ("anyOf" | "oneOf" | "allOf", Value::Array(a)) => Value::Array(
                    a.iter()
                        .map(|s| match s {
                            Value::Object(o) => Value::Object(shallow(o, depth, defs)),
                            other => other.clone(),
                        })
                        .collect(),
                ),
                (_, v) => v.clone(),
            };
            Some((k.clone(), v))
        })
        .collect()
}

/// Marks an optional argument whose `null` clears a setting (`#[schemars(extend(...))]`):
/// its type keeps `"null"`, as leaving it out means something else (keep the setting).
pub const NULL_MEANS_CLEAR: &str = "x-null-clears";

/// Optional arguments as a model needs them: an argument it may leave out needs no
/// `"null"` in its type, no `"default": null`, and no `anyOf` wrapping its type in a
/// nullable one (an enum is written in place instead, and its `$defs` entry goes when
/// nothing else refers to it). The server still accepts an explicit null.
fn plain_optionals(schema: &JsonObject) -> JsonObject {
    let mut out = schema.clone();
    let required: Vec<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let defs = schema.get("$defs").and_then(Value::as_object).cloned();
    let Some(Value::Object(props)) = out.get_mut("properties") else {
        return out;
    };
    for (name, prop) in props.iter_mut() {
        let Value::Object(p) = prop else { continue };
        if p.get("default") == Some(&Value::Null) {
            p.remove("default");
        }
        if required.contains(name) {
            continue;
        }
        // An argument whose `null` means something (clear the setting) keeps it.
        if p.remove(NULL_MEANS_CLEAR).is_some() {
            continue;
        }
        if let Some(Value::Array(types)) = p.get("type") {
            let kept: Vec<Value> = types
                .iter()
                .filter(|t| t.as_str() != Some("null"))
                .cloned()
                .collect();
            if kept.len() == 1 {
                p.insert("type".into(), kept[0].clone());
            }
        }
        let inlined = match p.get("anyOf").and_then(Value::as_array).map(Vec::as_slice) {
            Some([Value::Object(a), Value::Object(b)])
                if b.get("type") == Some(&Value::from("null")) =>
            {
                a.get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                    .and_then(|n| defs.as_ref()?.get(n))
                    .and_then(Value::as_object)
                    // Only small shapes (an enum) are written in place; an object keeps its
                    // `$defs` entry (JSON Schema 2020-12 clients look for it).
                    .filter(|def| !def.contains_key("properties"))
                    .cloned()
            }
            _ => None,
        };
        if let Some(def) = inlined {
            p.remove("anyOf");
            for (k, v) in def {
                p.entry(k).or_insert(v);
            }
        }
    }
    // Drop the definitions no longer referred to.
    let text = Value::Object(props.clone()).to_string();
    if let Some(Value::Object(defs)) = out.get_mut("$defs") {
        defs.retain(|name, _| text.contains(&format!("\"#/$defs/{name}\"")));
        if defs.is_empty() {
            out.remove("$defs");
        }
    }
    out
}

/// Whether a schema keeps its `description`s.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Docs {
    Keep,
    Drop,
}

/// A schema without what costs an assistant's context and tells it nothing: schemars'
/// type-name `title`s, numeric `format`s (`int64`, `double`, …) and, for output schemas,
/// `$schema`, every `description` and the `required` lists. Walks keywords only, so a property that happens
/// to be called `description` or `title` stays.
fn lean(schema: &JsonObject, docs: Docs) -> JsonObject {
    fn sub(v: &Value, docs: Docs) -> Value {
        match v {
            Value::Object(o) => Value::Object(lean(o, docs)),
            other => other.clone(),
        }
    }
    schema
        .iter()
        .filter(|(k, v)| match k.as_str() {
            // No `$schema`: MCP reads a schema without one as 2020-12 (SEP-1613), ours use
            // no keyword whose meaning differs in draft-07, and it cost every tool 56 bytes
            // of what a model reads on every turn. (A tool that declares a dialect, the
            // conformance fixture, sets it back: `with_dialect`.)
            "$schema" => false,
            "title" => false,
            "description" => docs == Docs::Keep,
            // Which result fields are always present is for validators, not for a model;
            // types stay, so `structuredContent` is still checked.
            "required" if docs == Docs::Drop => !v.is_array(),
            "format" => !v.as_str().is_some_and(|f| {
                matches!(
                    f,
                    "int8"
                        | "int16"
                        | "int32"
                        | "int64"
                        | "uint"
                        | "uint8"
                        | "uint16"
                        | "uint32"
                        | "uint64"
                        | "double"
                        | "float"
                )
            }),
            _ => true,
        })
        .map(|(k, v)| {
            let v = match v {
                _ if SCHEMA_VALUED.contains(&k.as_str()) || k == "additionalProperties" => {
                    sub(v, docs)
                }
                Value::Object(m) if SCHEMA_MAPS.contains(&k.as_str()) => {
                    Value::Object(m.iter().map(|(k, v)| (k.clone(), sub(v, docs))).collect())
                }
                Value::Array(a) if SCHEMA_LISTS.contains(&k.as_str()) => {
                    Value::Array(a.iter().map(|v| sub(v, docs)).collect())
                }
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// Schema keywords whose value is itself a schema, or a map or list of schemas.
const SCHEMA_VALUED: [&str; 7] = [
    "items",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "additionalItems",
];
const SCHEMA_MAPS: [&str; 4] = ["properties", "$defs", "definitions", "patternProperties"];
const SCHEMA_LISTS: [&str; 4] = ["anyOf", "oneOf", "allOf", "prefixItems"];

/// Rewrites the boolean schema `true` ("anything", which schemars emits for a free-form
/// JSON value) as the equivalent `{}`. Both are valid JSON Schema, but the official
/// TypeScript SDK rejects `true` as a property schema and then refuses the whole
/// `tools/list`.
fn portable(schema: &JsonObject) -> JsonObject {
    fn fix(v: &Value) -> Value {
        match v {
            Value::Bool(true) => Value::Object(Default::default()),
            Value::Object(o) => Value::Object(portable(o)),
            other => other.clone(),
        }
    }
    schema
        .iter()
        .map(|(k, v)| {
            let v = match v {
                _ if SCHEMA_VALUED.contains(&k.as_str()) => fix(v),
                Value::Object(m) if SCHEMA_MAPS.contains(&k.as_str()) => {
                    Value::Object(m.iter().map(|(k, v)| (k.clone(), fix(v))).collect())
                }
                Value::Array(a) if SCHEMA_LISTS.contains(&k.as_str()) => {
                    Value::Array(a.iter().map(fix).collect())
                }
                other => other.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::handler::server::common::{schema_for_input, schema_for_output};
    use schemars::JsonSchema;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, serde::Serialize, JsonSchema)]
    #[allow(dead_code)]
    struct FreeForm {
        anything: Value,
        nested: Vec<Value>,
    }

    #[test]
    fn free_form_values_get_portable_schemas() {
        let raw = schema_for_output::<FreeForm>();
        assert_eq!(raw["properties"]["anything"], serde_json::json!(true));
        let s = portable(&raw);
        assert_eq!(s["properties"]["anything"], serde_json::json!({}));
        assert_eq!(s["properties"]["nested"]["items"], serde_json::json!({}));
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    #[allow(dead_code)]
    enum Colour {
        Red,
        Blue,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Args {
        /// Needed.
        id: i64,
        /// Optional.
        limit: Option<i64>,
        #[serde(default)]
        name: Option<String>,
        /// Which colour.
        colour: Option<Colour>,
        also: Option<Colour>,
        #[serde(default)]
        flag: bool,
    }

    #[test]
    fn optional_arguments_are_written_plainly() {
        let s = input(&schema_for_input::<Args>().unwrap());
        let p = &s["properties"];
        assert_eq!(
            p["id"],
            json!({"description": "Needed.", "type": "integer"})
        );
        assert_eq!(
            p["limit"],
            json!({"description": "Optional.", "type": "integer"})
        );
        assert_eq!(p["name"], json!({"type": "string"}));
        assert_eq!(
            p["colour"],
            json!({"description": "Which colour.", "enum": ["red", "blue"], "type": "string"})
        );
        assert_eq!(
            p["also"],
            json!({"enum": ["red", "blue"], "type": "string"})
        );
        assert_eq!(p["flag"], json!({"default": false, "type": "boolean"}));
        assert!(s.get("$defs").is_none(), "{s:?}");
        assert_eq!(s["required"], json!(["id"]));
        assert_eq!(s["additionalProperties"], json!(false));
        assert!(s.get("$schema").is_none(), "{s:?}");
    }

    #[derive(Debug, serde::Serialize, JsonSchema)]
    #[allow(dead_code)]
    struct Inner {
        deep: Vec<String>,
        n: i64,
    }

    #[derive(Debug, serde::Serialize, JsonSchema)]
    #[allow(dead_code)]
    struct Listing {
        /// Prose no client needs.
        items: Vec<Inner>,
        one: Option<Inner>,
        total: i64,
    }

    #[test]
    fn output_schemas_type_fields_and_items_and_leave_deeper_shapes_open() {
        let s = output(&schema_for_output::<Listing>());
        assert_eq!(
            Value::Object(s),
            json!({
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": {"type": "object"}},
                    "one": {"anyOf": [
                        {"type": "object", "properties": {"deep": {"type": "array"}, "n": {"type": "integer"}}},
                        {"type": "null"},
                    ]},
                    "total": {"type": "integer"},
                },
            })
        );
    }
}
