//! Edits of a package's `data_flow_json`, as the authoring tools make them (this speaks
//! in the tools' terms: a location is an argument path like `updates[2].component_name`): add components
//! (and their edges), update components by name with a deep merge, replace the edges,
//! remove components with their edges. Each edit checks everything first and changes
//! nothing on failure, so a rejected call leaves the package as it was.
//!
//! Errors point at the entry of the request by its index (`updates[2]`), never quote a
//! value the caller sent.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// Why an edit was refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
}

impl EditError {
    fn at(at: impl Into<String>, message: impl Into<String>) -> Self {
        EditError::Invalid {
            at: at.into(),
            message: message.into(),
        }
    }

    /// Where in the request the problem is, e.g. `components[1].name`.
    pub fn location(&self) -> &str {
        match self {
            EditError::Invalid { at, .. } => at,
        }
    }
}

/// A component's body: the object under its wrapper key, or the flat object itself.
fn body(c: &Value) -> Option<&Map<String, Value>> {
    let obj = c.as_object()?;
    if obj.contains_key("type") {
        return Some(obj);
    }
    match obj.iter().next() {
        Some((_, Value::Object(b))) if obj.len() == 1 => Some(b),
        _ => None,
    }
}

fn body_mut(c: &mut Value) -> Option<&mut Map<String, Value>> {
    let flat = c.as_object()?.contains_key("type");
    let obj = c.as_object_mut()?;
    if flat {
        return Some(obj);
    }
    if obj.len() != 1 {
        return None;
    }
    obj.values_mut().next()?.as_object_mut()
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A stored graph is an object; anything else cannot be edited.
fn graph(dfj: &Value) -> Result<(), EditError> {
    if dfj.is_object() {
        Ok(())
    } else {
        Err(EditError::at(
            "data_flow_json",
            "the stored package is not an object; fix it with create_package or revert_package",
        ))
    }
}

fn components(dfj: &Value) -> &[Value] {
    dfj.get("components")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn ids(dfj: &Value) -> BTreeSet<String> {
    components(dfj)
        .iter()
        .filter_map(|c| text(body(c)?.get("id")))
        .collect()
}

fn names(dfj: &Value) -> BTreeSet<String> {
    components(dfj)
        .iter()
        .filter_map(|c| text(body(c)?.get("name")))
        .collect()
}

/// A fresh id with `prefix` not in `taken` (and then taken).
fn fresh(prefix: &str, taken: &mut BTreeSet<String>) -> String {
    let mut n = taken.len() + 1;
    loop {
        let id = format!("{prefix}{n}");
        if taken.insert(id.clone()) {
            return id;
        }
        n += 1;
    }
}

/// A whole `data_flow_json` made ready to store: `components` and `edges` arrays present,
/// every component and edge with an id (generated when omitted), component names present
/// and unique, edges pointing at components that exist.
pub fn normalize(dfj: &Value) -> Result<Value, EditError> {
    let obj = dfj.as_object().ok_or_else(|| {
        EditError::at(
            "data_flow_json",
            "must be an object with `components` and `edges`",
        )
    })?;
    let mut out = obj.clone();
    let comps = match obj.get("components") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(EditError::at("components", "must be an array")),
    };
    let edges = match obj.get("edges") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(EditError::at("edges", "must be an array")),
    };
    let mut base = Value::Object(Map::new());
    base["components"] = Value::Array(vec![]);
    base["edges"] = Value::Array(vec![]);
    let added = add_components(&base, &comps, &edges, "components", "edges")?;
    out.insert("components".into(), added["components"].clone());
    out.insert("edges".into(), added["edges"].clone());
    Ok(Value::Object(out))
}

/// Appends `new` components (ids generated when omitted; names required and unique) and
/// `new_edges` (which may join new and existing components).
pub fn add_components(
    dfj: &Value,
    new: &[Value],
    new_edges: &[Value],
    components_at: &str,
    edges_at: &str,
) -> Result<Value, EditError> {
    graph(dfj)?;
    let mut out = dfj.clone();
    let mut taken_ids = ids(dfj);
    let mut taken_names = names(dfj);
    // Explicit ids first, so a generated one never takes an id a later component names.
    for (i, c) in new.iter().enumerate() {
        if let Some(id) = body(c).and_then(|b| text(b.get("id"))) {
            if !taken_ids.insert(id) {
                return Err(EditError::at(
                    format!("{components_at}[{i}].id"),
                    "another component already has this id; omit it to have one generated",
                ));
            }
        }
    }
    let mut added = Vec::with_capacity(new.len());
    for (i, c) in new.iter().enumerate() {
        let at = format!("{components_at}[{i}]");
        let mut c = c.clone();
        let b = body_mut(&mut c).ok_or_else(|| {
            EditError::at(
                &at,
                "a component is {\"<wrapper_key>\": {\"name\": …, …}} (see describe_component_type's wrapper_example)",
            )
        })?;
        let name = text(b.get("name"))
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| EditError::at(format!("{at}.name"), "every component needs a name"))?;
        if !taken_names.insert(name) {
            return Err(EditError::at(
                format!("{at}.name"),
                "another component already has this name; names are unique in a package",
            ));
        }
        if text(b.get("id")).is_none() {
            let id = fresh("c", &mut taken_ids);
            b.insert("id".into(), Value::String(id));
        }
        added.push(c);
    }
    let edges = checked_edges(new_edges, &taken_ids, edges_of(dfj), edges_at)?;
    let obj = out.as_object_mut().expect("checked to be an object");
    match obj.get_mut("components").and_then(Value::as_array_mut) {
        Some(a) => a.extend(added),
        None => {
            obj.insert("components".into(), Value::Array(added));
        }
    }
    match obj.get_mut("edges").and_then(Value::as_array_mut) {
        Some(a) => a.extend(edges),
        None => {
            obj.insert("edges".into(), Value::Array(edges));
        }
    }
    Ok(out)
}

fn edges_of(dfj: &Value) -> &[Value] {
    dfj.get("edges")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// `edges` checked against component ids `ids`, each given an id when it has none.
fn checked_edges(
    edges: &[Value],
    ids: &BTreeSet<String>,
    existing: &[Value],
    at: &str,
) -> Result<Vec<Value>, EditError> {
    let mut edge_ids: BTreeSet<String> =
        existing.iter().filter_map(|e| text(e.get("id"))).collect();
    let mut out = Vec::with_capacity(edges.len());
    for (i, e) in edges.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let mut e = e.clone();
        let obj = e.as_object_mut().ok_or_else(|| {
            EditError::at(
                &at,
                "an edge is {\"source\": \"<component id>\", \"target\": \"<component id>\"}",
            )
        })?;
        for end in ["source", "target"] {
            match text(obj.get(end)) {
                Some(id) if ids.contains(&id) => {}
                Some(_) => {
                    return Err(EditError::at(
                        format!("{at}.{end}"),
                        "names no component id of this package",
                    ))
                }
                None => {
                    return Err(EditError::at(
                        format!("{at}.{end}"),
                        "missing: give the id of a component of this package",
                    ))
                }
            }
        }
        match text(obj.get("id")) {
            Some(id) if !edge_ids.insert(id.clone()) => {
                return Err(EditError::at(
                    format!("{at}.id"),
                    "another edge already has this id; omit it to have one generated",
                ))
            }
            Some(_) => {}
            None => {
                let id = fresh("e", &mut edge_ids);
                obj.insert("id".into(), Value::String(id));
            }
        }
        out.push(e);
    }
    Ok(out)
}

/// Deep-merges `updates[i].1` into the component named `updates[i].0`; nested objects
/// merge, anything else (arrays included) replaces. `id` cannot change (edges point at
/// it); a new `name` must stay unique.
pub fn update_components(dfj: &Value, updates: &[(String, Value)]) -> Result<Value, EditError> {
    graph(dfj)?;
    let mut out = dfj.clone();
    for (i, (name, patch)) in updates.iter().enumerate() {
        let at = format!("updates[{i}]");
        let patch = patch.as_object().ok_or_else(|| {
            EditError::at(
                format!("{at}.updates"),
                "must be an object of properties to change",
            )
        })?;
        if patch.contains_key("id") {
            return Err(EditError::at(
                format!("{at}.updates.id"),
                "a component's id cannot change (edges refer to it); remove it and add a new one instead",
            ));
        }
        if patch.contains_key("type") {
            return Err(EditError::at(
                format!("{at}.updates.type"),
                "a component's type cannot change; remove it and add one of the new type",
            ));
        }
        let current_names = names(&out);
        let comps = out
            .get_mut("components")
            .and_then(Value::as_array_mut)
            .ok_or_else(|| {
                EditError::at(
                    format!("{at}.component_name"),
                    "the package has no components",
                )
            })?;
        let target = comps
            .iter_mut()
            .find(|c| body(c).and_then(|b| text(b.get("name"))).as_deref() == Some(name.as_str()))
            .ok_or_else(|| {
                EditError::at(
                    format!("{at}.component_name"),
                    "matches no component of this package (names are case-sensitive; get_package lists them)",
                )
            })?;
        if let Some(new_name) = patch.get("name") {
            let new_name = text(Some(new_name))
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| {
                    EditError::at(
                        format!("{at}.updates.name"),
                        "a name must be a non-empty string",
                    )
                })?;
            if new_name != *name && current_names.contains(&new_name) {
                return Err(EditError::at(
                    format!("{at}.updates.name"),
                    "another component already has this name; names are unique in a package",
                ));
            }
        }
        let b = body_mut(target).ok_or_else(|| {
            EditError::at(
                format!("{at}.component_name"),
                "the component is malformed in the package",
            )
        })?;
        for (k, v) in patch {
            merge(b.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
    Ok(out)
}

/// `patch` into `into`: objects key by key, recursively; anything else replaces.
fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// The package's edges replaced by `edges`, each endpoint resolved to a component id.
pub fn replace_edges(dfj: &Value, edges: &[Value]) -> Result<Value, EditError> {
    graph(dfj)?;
    let mut out = dfj.clone();
    let checked = checked_edges(edges, &ids(dfj), &[], "edges")?;
    out["edges"] = Value::Array(checked);
    Ok(out)
}

/// The components named `names` removed, with every edge that touches them; all or
/// nothing. Returns the new graph and how many edges went with them.
pub fn remove_components(dfj: &Value, remove: &[String]) -> Result<(Value, usize), EditError> {
    graph(dfj)?;
    let present = names(dfj);
    for (i, n) in remove.iter().enumerate() {
        if !present.contains(n) {
            return Err(EditError::at(
                format!("component_names[{i}]"),
                "matches no component of this package (names are case-sensitive; get_package lists them)",
            ));
        }
    }
    let doomed: BTreeSet<&str> = remove.iter().map(String::as_str).collect();
    let mut gone_ids = BTreeSet::new();
    let kept: Vec<Value> = components(dfj)
        .iter()
        .filter(|c| {
            let b = body(c);
            let name = b.and_then(|b| text(b.get("name")));
            let drop = name.as_deref().is_some_and(|n| doomed.contains(n));
            if drop {
                if let Some(id) = b.and_then(|b| text(b.get("id"))) {
                    gone_ids.insert(id);
                }
            }
            !drop
        })
        .cloned()
        .collect();
    let before = edges_of(dfj).len();
    let edges: Vec<Value> = edges_of(dfj)
        .iter()
        .filter(|e| {
            !["source", "target"]
                .iter()
                .any(|end| text(e.get(*end)).is_some_and(|id| gone_ids.contains(&id)))
        })
        .cloned()
        .collect();
    let dropped = before - edges.len();
    let mut out = dfj.clone();
    out["components"] = Value::Array(kept);
    out["edges"] = Value::Array(edges);
    Ok((out, dropped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pkg() -> Value {
        json!({
            "components": [
                {"database_source_component": {"id": "c1", "name": "orders", "connection_id": 1, "table": "orders", "schema": {"fields": []}}},
                {"filter_component": {"id": "c2", "name": "big", "predicate": "total > 100"}}
            ],
            "edges": [{"id": "e1", "source": "c1", "target": "c2"}]
        })
    }

    #[test]
    fn normalize_generates_ids_and_checks_edges() {
        let g = normalize(&json!({
            "components": [
                {"filter_component": {"name": "a", "predicate": "x > 1"}},
                {"limit_component": {"id": "c1", "name": "b", "count": 3}}
            ],
            "edges": [{"source": "c1", "target": "c1"}]
        }))
        .unwrap();
        let ids: Vec<&str> = g["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| body(c).unwrap()["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 2);
        assert_ne!(ids[0], ids[1]);
        assert!(g["edges"][0]["id"].is_string());
        let e = normalize(&json!({"components": [], "edges": [{"source": "x", "target": "y"}]}))
            .unwrap_err();
        assert_eq!(e.location(), "edges[0].source");
    }

    #[test]
    fn add_refuses_duplicate_names_and_unknown_edge_ends_without_changing_anything() {
        let g = pkg();
        let e = add_components(
            &g,
            &[json!({"limit_component": {"name": "orders", "count": 1}})],
            &[],
            "components",
            "edges",
        )
        .unwrap_err();
        assert_eq!(e.location(), "components[0].name");
        let e = add_components(
            &g,
            &[json!({"limit_component": {"id": "c9", "name": "top", "count": 1}})],
            &[json!({"source": "c2", "target": "nope"})],
            "components",
            "edges",
        )
        .unwrap_err();
        assert_eq!(e.location(), "edges[0].target");
        let ok = add_components(
            &g,
            &[json!({"limit_component": {"id": "c9", "name": "top", "count": 1}})],
            &[json!({"source": "c2", "target": "c9"})],
            "components",
            "edges",
        )
        .unwrap();
        assert_eq!(ok["components"].as_array().unwrap().len(), 3);
        assert_eq!(ok["edges"].as_array().unwrap().len(), 2);
        assert_eq!(g, pkg(), "the input is untouched");
    }

    #[test]
    fn update_deep_merges_and_is_all_or_nothing() {
        let g = pkg();
        let out = update_components(
            &g,
            &[(
                "orders".into(),
                json!({"schema": {"fields": [{"name": "id"}]}, "where": "id > 1"}),
            )],
        )
        .unwrap();
        let b = body(&out["components"][0]).unwrap();
        assert_eq!(b["where"], json!("id > 1"));
        assert_eq!(b["table"], json!("orders"), "untouched keys stay");
        assert_eq!(b["schema"]["fields"][0]["name"], json!("id"));
        let e = update_components(
            &g,
            &[
                ("orders".into(), json!({"table": "x"})),
                ("missing".into(), json!({"table": "y"})),
            ],
        )
        .unwrap_err();
        assert_eq!(e.location(), "updates[1].component_name");
        let e = update_components(&g, &[("big".into(), json!({"name": "orders"}))]).unwrap_err();
        assert_eq!(e.location(), "updates[0].updates.name");
        let e = update_components(&g, &[("big".into(), json!({"id": "zz"}))]).unwrap_err();
        assert_eq!(e.location(), "updates[0].updates.id");
    }

    #[test]
    fn remove_drops_incident_edges_and_refuses_unknown_names() {
        let (out, dropped) = remove_components(&pkg(), &["big".into()]).unwrap();
        assert_eq!(dropped, 1);
        assert_eq!(out["components"].as_array().unwrap().len(), 1);
        assert_eq!(out["edges"], json!([]));
        let e = remove_components(&pkg(), &["big".into(), "nope".into()]).unwrap_err();
        assert_eq!(e.location(), "component_names[1]");
    }

    #[test]
    fn replace_edges_resolves_every_end() {
        let out = replace_edges(&pkg(), &[json!({"source": "c2", "target": "c1"})]).unwrap();
        assert_eq!(out["edges"][0]["source"], json!("c2"));
        let e = replace_edges(&pkg(), &[json!({"source": "c2"})]).unwrap_err();
        assert_eq!(e.location(), "edges[0].target");
    }

    #[test]
    fn errors_never_quote_what_the_caller_sent() {
        let e = update_components(&pkg(), &[("SECRET-NAME".into(), json!({}))]).unwrap_err();
        assert!(!e.to_string().contains("SECRET"), "{e}");
    }
}
