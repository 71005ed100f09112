//! A package graph's shape at a glance: what `get_package` shows instead of the whole blob.
//!
//! Components are stored wrapper-keyed, `{"database_source_component": {"name": …}}`, the
//! shape `data_flow_json` uses; a bare object with a `type` field is accepted too.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq, Serialize, JsonSchema)]
pub struct GraphSummary {
    pub component_count: i64,
    pub edge_count: i64,
    /// How many components of each type.
    pub component_types: BTreeMap<String, i64>,
    /// Component names in graph order.
    pub component_names: Vec<String>,
}

/// The component's type and body, whichever of the two shapes it has.
pub fn component_parts(c: &Value) -> Option<(String, &Value)> {
    let (kind, _) = crate::package::split_component(c)?;
    let body = match c.get(kind) {
        Some(body) if c.get("type").is_none() => body,
        _ => c,
    };
    Some((kind.to_string(), body))
}

impl GraphSummary {
    pub fn of(data_flow_json: &Value) -> Self {
        let components = data_flow_json.get("components").and_then(Value::as_array);
        let edges = data_flow_json.get("edges").and_then(Value::as_array);
        let mut s = GraphSummary {
            component_count: components.map_or(0, |c| c.len() as i64),
            edge_count: edges.map_or(0, |e| e.len() as i64),
            ..Default::default()
        };
        for c in components.into_iter().flatten() {
            let (kind, body) = component_parts(c).unwrap_or_else(|| ("unknown".into(), c));
            *s.component_types.entry(kind).or_default() += 1;
            if let Some(n) = body.get("name").and_then(Value::as_str) {
                s.component_names.push(n.to_string());
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_tallies_wrapper_keyed_and_typed_components() {
        let g = json!({
            "components": [
                {"database_source_component": {"name": "orders"}},
                {"select_component": {"name": "pick"}},
                {"type": "select_component", "name": "pick2"},
                {"database_destination_component": {"name": "out"}}
            ],
            "edges": [{"source": "a", "target": "b"}, {"source": "b", "target": "c"}]
        });
        let s = GraphSummary::of(&g);
        assert_eq!(s.component_count, 4);
        assert_eq!(s.edge_count, 2);
        assert_eq!(s.component_types["select_component"], 2);
        assert_eq!(s.component_names, vec!["orders", "pick", "pick2", "out"]);
    }

    #[test]
    fn summary_of_an_empty_or_odd_graph_is_zero() {
        assert_eq!(GraphSummary::of(&json!(null)), GraphSummary::default());
        assert_eq!(
            GraphSummary::of(&json!({"components": [1]})).component_types["unknown"],
            1
        );
    }
}
