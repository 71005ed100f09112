//! A compact before/after diff of two JSON values, for the audit trail: only what changed,
//! keyed by JSON Pointer (RFC 6901), so an event says `/data_flow_json/components/3/...`
//! instead of repeating a whole package twice.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// What changed: the old values in `before`, the new ones in `after`, each keyed by JSON
/// Pointer. A key only in `after` was added, a key only in `before` removed. Array indexes
/// in a key point into the array on that key's side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Diff {
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }

    /// The first segment of every changed pointer (for a package: `name`, `variables`, …),
    /// each once, sorted.
    pub fn top_level(&self) -> Vec<String> {
        let set: BTreeSet<String> = self
            .before
            .keys()
            .chain(self.after.keys())
            .filter_map(|key| key.strip_prefix('/'))
            .map(|rest| {
                let first = rest.split('/').next().unwrap_or(rest);
                first.replace("~1", "/").replace("~0", "~")
            })
            .collect();
        set.into_iter().collect()
    }
}

pub fn diff(before: &Value, after: &Value) -> Diff {
    let mut d = Diff::default();
    walk(String::new(), Some(before), Some(after), &mut d);
    d
}

fn walk(path: String, a: Option<&Value>, b: Option<&Value>, d: &mut Diff) {
    match (a, b) {
        (Some(a), Some(b)) if a == b => {}
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            for (k, va) in a {
                walk(child(&path, k), Some(va), b.get(k), d);
            }
            for (k, vb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
                walk(child(&path, k), None, Some(vb), d);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            // Skip what both ends share, so one element inserted or removed is one entry,
            // not a cascade over every element after it.
            let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
            let tail = a[head..]
                .iter()
                .rev()
                .zip(b[head..].iter().rev())
                .take_while(|(x, y)| x == y)
                .count();
            let (ma, mb) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
            for i in 0..ma.len().max(mb.len()) {
                walk(
                    child(&path, &(head + i).to_string()),
                    ma.get(i),
                    mb.get(i),
                    d,
                );
            }
        }
        (a, b) => {
            if let Some(a) = a {
                d.before.insert(path.clone(), a.clone());
            }
            if let Some(b) = b {
                d.after.insert(path, b.clone());
            }
        }
    }
}

fn child(path: &str, key: &str) -> String {
    format!("{path}/{}", key.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// before, after, expected before-map, expected after-map.
    #[test]
    fn diff_names_only_what_changed() {
        let cases = [
            (json!({"a": 1}), json!({"a": 1}), json!({}), json!({})),
            (
                json!({"a": 1}),
                json!({"a": 2}),
                json!({"/a": 1}),
                json!({"/a": 2}),
            ),
            (json!({}), json!({"n": "x"}), json!({}), json!({"/n": "x"})),
            (json!({"n": "x"}), json!({}), json!({"/n": "x"}), json!({})),
            (
                json!({"v": {"a": 1, "b": 2}}),
                json!({"v": {"a": 1, "c": 3}}),
                json!({"/v/b": 2}),
                json!({"/v/c": 3}),
            ),
            // One element removed from the front: one entry, not a cascade.
            (
                json!({"c": [1, 2, 3, 4]}),
                json!({"c": [2, 3, 4]}),
                json!({"/c/0": 1}),
                json!({}),
            ),
            // Appended.
            (
                json!({"c": [1]}),
                json!({"c": [1, 2]}),
                json!({}),
                json!({"/c/1": 2}),
            ),
            // Changed inside an element.
            (
                json!({"c": [{"x": {"id": 1, "p": "a"}}, 9]}),
                json!({"c": [{"x": {"id": 1, "p": "b"}}, 9]}),
                json!({"/c/0/x/p": "a"}),
                json!({"/c/0/x/p": "b"}),
            ),
            // A type change replaces the value.
            (
                json!({"a": [1]}),
                json!({"a": {"0": 1}}),
                json!({"/a": [1]}),
                json!({"/a": {"0": 1}}),
            ),
            // Pointer escapes.
            (
                json!({"a/b~": 1}),
                json!({"a/b~": 2}),
                json!({"/a~1b~0": 1}),
                json!({"/a~1b~0": 2}),
            ),
        ];
        for (i, (a, b, want_before, want_after)) in cases.into_iter().enumerate() {
            let d = diff(&a, &b);
            assert_eq!(Value::Object(d.before), want_before, "case {i} before");
            assert_eq!(Value::Object(d.after), want_after, "case {i} after");
        }
    }

    #[test]
    fn top_level_lists_each_changed_field_once() {
        let d = diff(
            &json!({"name": "a", "variables": {"x": 1, "y": 2}, "a/b": 1}),
            &json!({"name": "b", "variables": {"x": 2}, "a/b": 2}),
        );
        assert_eq!(d.top_level(), vec!["a/b", "name", "variables"]);
        assert!(diff(&json!([1]), &json!([1])).is_empty());
    }
}
