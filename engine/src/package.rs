//! A package's `data_flow_json` as types: components with typed properties, and edges.
//!
//! Both stored shapes are read: wrapper-keyed (`{"filter_component": {"id": …}}`, what
//! packages hold) and flat (`{"type": "filter_component", "id": …}`). Every problem is a
//! [`Finding`] that names the component and the property, so one parse reports all of them.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::components::{self, properties as p, ComponentType, Kind};
use crate::finding::Finding;

/// A dataflow moves rows; a workflow runs tasks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FlowType {
    Dataflow,
    Workflow,
}

impl FlowType {
    pub fn parse(s: &str) -> Option<FlowType> {
        match s {
            "dataflow" => Some(FlowType::Dataflow),
            "workflow" => Some(FlowType::Workflow),
            _ => None,
        }
    }
}

/// A component's properties, typed by its kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    DatabaseSource(p::DatabaseSource),
    FileSource(p::FileSource),
    Select(p::Select),
    Filter(p::Filter),
    Sort(p::Sort),
    Aggregate(p::Aggregate),
    Join(p::Join),
    CrossJoin(p::CrossJoin),
    Union(p::Union),
    Limit(p::Limit),
    Distinct(p::Distinct),
    Window(p::Window),
    Rank(p::Rank),
    Sample(p::Sample),
    Clone(p::FanOut),
    Assert(p::Assert),
    DatabaseDestination(p::DatabaseDestination),
    FileDestination(p::FileDestination),
    RunPackage(p::RunPackage),
    SqlStatement(p::SqlStatement),
}

impl Spec {
    fn parse(
        kind: Kind,
        props: Value,
    ) -> Result<Spec, serde_path_to_error::Error<serde_json::Error>> {
        fn de<T: serde::de::DeserializeOwned>(
            v: Value,
        ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
            serde_path_to_error::deserialize(v)
        }
        Ok(match kind {
            Kind::DatabaseSource => Spec::DatabaseSource(de(props)?),
            Kind::FileSource => Spec::FileSource(de(props)?),
            Kind::Select => Spec::Select(de(props)?),
            Kind::Filter => Spec::Filter(de(props)?),
            Kind::Sort => Spec::Sort(de(props)?),
            Kind::Aggregate => Spec::Aggregate(de(props)?),
            Kind::Join => Spec::Join(de(props)?),
            Kind::CrossJoin => Spec::CrossJoin(de(props)?),
            Kind::Union => Spec::Union(de(props)?),
            Kind::Limit => Spec::Limit(de(props)?),
            Kind::Distinct => Spec::Distinct(de(props)?),
            Kind::Window => Spec::Window(de(props)?),
            Kind::Rank => Spec::Rank(de(props)?),
            Kind::Sample => Spec::Sample(de(props)?),
            Kind::Clone => Spec::Clone(de(props)?),
            Kind::Assert => Spec::Assert(de(props)?),
            Kind::DatabaseDestination => Spec::DatabaseDestination(de(props)?),
            Kind::FileDestination => Spec::FileDestination(de(props)?),
            Kind::RunPackage => Spec::RunPackage(de(props)?),
            Kind::SqlStatement => Spec::SqlStatement(de(props)?),
        })
    }

    /// The connection the component reads, writes or runs on.
    pub fn connection_id(&self) -> Option<i64> {
        match self {
            Spec::DatabaseSource(s) => Some(s.connection_id),
            Spec::FileSource(s) => Some(s.connection_id),
            Spec::DatabaseDestination(s) => Some(s.connection_id),
            Spec::FileDestination(s) => Some(s.connection_id),
            Spec::SqlStatement(s) => Some(s.connection_id),
            _ => None,
        }
    }

    /// Every SQL text the component holds, with its property: where variables may appear.
    pub fn sql_texts(&self) -> Vec<(&'static str, &str)> {
        fn each<'a>(
            prop: &'static str,
            v: &'a [String],
        ) -> impl Iterator<Item = (&'static str, &'a str)> {
            v.iter().map(move |s| (prop, s.as_str()))
        }
        match self {
            Spec::DatabaseSource(s) => s.query.iter().map(|q| ("query", q.as_str())).collect(),
            Spec::Select(s) => each("fields", &s.fields).collect(),
            Spec::Filter(s) => vec![("predicate", s.predicate.as_str())],
            Spec::Sort(s) => each("order_by", &s.order_by).collect(),
            Spec::Aggregate(s) => each("group_by", &s.group_by)
                .chain(each("measures", &s.measures))
                .collect(),
            Spec::Join(s) => vec![("on", s.on.as_str())],
            Spec::Distinct(s) => s.columns.iter().flat_map(|c| each("columns", c)).collect(),
            Spec::Window(s) => each("windows", &s.windows).collect(),
            Spec::Rank(s) => each("partition_by", &s.partition_by)
                .chain(each("order_by", &s.order_by))
                .collect(),
            Spec::Assert(s) => vec![("condition", s.condition.as_str())],
            Spec::SqlStatement(s) => vec![("statement", s.statement.as_str())],
            _ => Vec::new(),
        }
    }
}

/// One component of a package.
#[derive(Debug, Clone, PartialEq)]
pub struct Component {
    pub id: String,
    pub name: String,
    pub component_type: &'static ComponentType,
    pub spec: Spec,
}

impl Component {
    pub fn kind(&self) -> Kind {
        self.component_type.kind
    }
}

/// When a workflow's next task runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Condition {
    #[default]
    OnSuccess,
    OnFailure,
    OnCompletion,
}

/// An edge between two components, by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub source: String,
    pub target: String,
    /// Workflows only; absent means on success.
    pub condition: Option<Condition>,
}

/// A package graph. Components keep their order in `data_flow_json`; edges too, which is
/// what makes the first edge into a join its left input.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Package {
    pub components: Vec<Component>,
    pub edges: Vec<Edge>,
    /// Ids of components that could not be read (and are reported): their edges are not
    /// dangling.
    pub unreadable: BTreeSet<String>,
}

impl Package {
    /// The package, or every problem found while reading it.
    pub fn from_json(data_flow_json: &Value) -> Result<Package, Vec<Finding>> {
        let (package, findings) = Package::parse(data_flow_json);
        if findings.iter().any(Finding::is_error) {
            Err(findings)
        } else {
            Ok(package)
        }
    }

    /// What could be read, and what could not. A component whose properties do not parse
    /// is left out (its edges stay, so later checks do not report it twice).
    pub fn parse(data_flow_json: &Value) -> (Package, Vec<Finding>) {
        let mut findings = Vec::new();
        let mut package = Package::default();
        let Some(root) = data_flow_json.as_object() else {
            findings.push(Finding::package_error(
                None,
                "data_flow_json is not an object",
                "give an object with `components` and `edges` arrays",
            ));
            return (package, findings);
        };
        match root.get("components") {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match parse_component(i, item, &mut findings) {
                        Some(c) => package.components.push(c),
                        None => {
                            if let Some(id) = split_component(item).and_then(|(_, b)| id_of(b)) {
                                package.unreadable.insert(id);
                            }
                        }
                    }
                }
            }
            None => {}
            Some(_) => findings.push(Finding::package_error(
                Some("components"),
                "components is not an array",
                "give `components` as an array of components",
            )),
        }
        match root.get("edges") {
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if let Some(e) = parse_edge(i, item, &mut findings) {
                        package.edges.push(e);
                    }
                }
            }
            None | Some(Value::Null) => {}
            Some(_) => findings.push(Finding::package_error(
                Some("edges"),
                "edges is not an array",
                "give `edges` as an array of {source, target}",
            )),
        }
        (package, findings)
    }

    pub fn component(&self, id: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.id == id)
    }
}

/// The component's stored type and its body, whichever of the two shapes it has.
pub(crate) fn split_component(item: &Value) -> Option<(&str, &Map<String, Value>)> {
    let obj = item.as_object()?;
    if let Some(t) = obj.get("type").and_then(Value::as_str) {
        return Some((t, obj));
    }
    match obj.iter().next() {
        Some((k, Value::Object(body))) if obj.len() == 1 => Some((k.as_str(), body)),
        _ => None,
    }
}

fn id_of(body: &Map<String, Value>) -> Option<String> {
    match body.get("id") {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

fn parse_component(index: usize, item: &Value, findings: &mut Vec<Finding>) -> Option<Component> {
    let position = format!("component #{}", index + 1);
    let Some((stored_type, body)) = split_component(item) else {
        findings.push(Finding::error(
            &position,
            None,
            "is neither {\"<type>_component\": {…}} nor an object with a `type`",
            "store each component as {\"<wrapper_key>\": {\"id\": …, \"name\": …, …}}",
        ));
        return None;
    };
    let label = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .or_else(|| body.get("id").and_then(Value::as_str))
        .map(String::from)
        .unwrap_or(position);
    let Some(component_type) = components::find(stored_type) else {
        findings.push(Finding::error(
            &label,
            None,
            format!("unknown component type `{stored_type}`"),
            "use a wrapper_key from the component catalog",
        ));
        return None;
    };
    let id = match id_of(body) {
        Some(id) => id,
        None => {
            findings.push(Finding::error(
                &label,
                Some("id"),
                "has no id",
                "give the component a unique string `id`; edges refer to it",
            ));
            String::new()
        }
    };
    let name = match body.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            findings.push(Finding::error(
                &label,
                Some("name"),
                "has no name",
                "give the component a unique `name`",
            ));
            label.clone()
        }
    };
    let mut props: Map<String, Value> = body
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "id" | "name" | "type"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // `null` means "not set", as the schemas' optional properties say.
    props.retain(|_, v| !v.is_null());
    let before = findings.len();
    check_against_schema(&name, component_type, &props, findings);
    if findings[before..].iter().any(Finding::is_error) {
        return None;
    }
    match Spec::parse(component_type.kind, Value::Object(props)) {
        Ok(spec) => Some(Component {
            id,
            name,
            component_type,
            spec,
        }),
        Err(e) => {
            let path = e.path().to_string();
            let property = path.split(['.', '[']).next().unwrap_or("").to_string();
            findings.push(Finding::error(
                &name,
                (!property.is_empty()).then_some(property.as_str()),
                format!("`{path}`: {}", plain_serde_message(e.inner())),
                "see the property's schema in the component type's description",
            ));
            None
        }
    }
}

/// serde's message without the value it quotes and the " at line 1 column 2" tail.
fn plain_serde_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Required properties, their JSON types and allowed values, and unknown properties,
/// read from the kind's JSON schema (the same one the catalog shows).
fn check_against_schema(
    name: &str,
    ct: &ComponentType,
    props: &Map<String, Value>,
    findings: &mut Vec<Finding>,
) {
    let schema = ct.kind.properties_schema();
    let declared = schema.get("properties").and_then(Value::as_object);
    for req in ct.required() {
        if !props.contains_key(&req) {
            findings.push(Finding::error(
                name,
                Some(&req),
                format!("missing required property `{req}`"),
                format!("set `{req}` (see the {} example)", ct.name),
            ));
        }
    }
    for group in ct.required_one_of() {
        let given: Vec<_> = group.iter().filter(|p| props.contains_key(**p)).collect();
        if given.len() != 1 {
            findings.push(Finding::error(
                name,
                Some(group[0]),
                format!("give exactly one of {}", group.join(", ")),
                format!("set one of {} and remove the other", group.join(" or ")),
            ));
        }
    }
    for (key, value) in props {
        let Some(prop_schema) = declared.and_then(|d| d.get(key)) else {
            let known: BTreeSet<&str> = declared
                .map(|d| d.keys().map(String::as_str).collect())
                .unwrap_or_default();
            findings.push(Finding::warning(
                name,
                Some(key),
                format!("`{key}` is not a property of {}; it is ignored", ct.name),
                if known.is_empty() {
                    format!("remove `{key}`")
                } else {
                    format!(
                        "remove it, or use one of: {}",
                        known.into_iter().collect::<Vec<_>>().join(", ")
                    )
                },
            ));
            continue;
        };
        if let Some(problem) = json_type_problem(prop_schema, value) {
            findings.push(Finding::error(
                name,
                Some(key),
                format!("`{key}` {problem}"),
                format!("see the `{key}` schema in the {} description", ct.name),
            ));
        }
    }
}

/// Why a value does not fit a (top-level) property schema, in words; `None` when it fits.
fn json_type_problem(schema: &Value, value: &Value) -> Option<String> {
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| fits(t, value)) {
        let wanted: Vec<_> = types.iter().filter(|t| **t != "null").copied().collect();
        return Some(format!(
            "must be {}, not {}",
            wanted.join(" or "),
            json_kind(value)
        ));
    }
    let allowed: Vec<&Value> = match (schema.get("enum"), schema.get("oneOf")) {
        (Some(Value::Array(e)), _) => e.iter().collect(),
        (_, Some(Value::Array(alts))) => alts
            .iter()
            .flat_map(|a| {
                a.get("const").into_iter().chain(
                    a.get("enum")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    if !allowed.is_empty() && !value.is_null() && !allowed.contains(&value) {
        let names: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
        return Some(format!("must be one of {}", names.join(", ")));
    }
    if let (Some(Value::Object(items)), Value::Array(values)) = (schema.get("items"), value) {
        let item_schema = Value::Object(items.clone());
        for (i, v) in values.iter().enumerate() {
            if let Some(problem) = json_type_problem(&item_schema, v) {
                return Some(format!("[{i}] {problem}"));
            }
        }
    }
    if let (Some(min), Some(n)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n < min {
            return Some(format!("must be at least {min}"));
        }
    }
    if let (Some(max), Some(n)) = (
        schema.get("maximum").and_then(Value::as_f64),
        value.as_f64(),
    ) {
        if n > max {
            return Some(format!("must be at most {max}"));
        }
    }
    None
}

fn fits(t: &str, v: &Value) -> bool {
    match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => true,
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_edge(index: usize, item: &Value, findings: &mut Vec<Finding>) -> Option<Edge> {
    let label = format!("edges[{index}]");
    let end = |key: &str| match item.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let (Some(source), Some(target)) = (end("source"), end("target")) else {
        findings.push(Finding::package_error(
            Some(&label),
            "an edge needs a `source` and a `target` component id",
            "write edges as {\"source\": \"<id>\", \"target\": \"<id>\"}",
        ));
        return None;
    };
    let condition = match item.get("condition").and_then(Value::as_str) {
        None => None,
        Some("on_success") => Some(Condition::OnSuccess),
        Some("on_failure") => Some(Condition::OnFailure),
        Some("on_completion") => Some(Condition::OnCompletion),
        Some(_) => {
            findings.push(Finding::package_error(
                Some(&label),
                "an edge's condition must be on_success, on_failure or on_completion",
                "fix the edge's `condition`",
            ));
            None
        }
    };
    Some(Edge {
        source,
        target,
        condition,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;
    use serde_json::json;

    #[test]
    fn reads_wrapper_keyed_and_flat_components() {
        let g = json!({
            "components": [
                {"filter_component": {"id": "a", "name": "f", "predicate": "x > 1"}},
                {"type": "limit_component", "id": "b", "name": "l", "count": 5}
            ],
            "edges": [{"source": "a", "target": "b"}]
        });
        let p = Package::from_json(&g).unwrap();
        assert_eq!(
            p.components[0].spec,
            Spec::Filter(p::Filter {
                predicate: "x > 1".into()
            })
        );
        assert_eq!(
            p.components[1].spec,
            Spec::Limit(p::Limit {
                count: 5,
                offset: 0
            })
        );
        assert_eq!(p.edges[0].target, "b");
    }

    #[test]
    fn a_missing_required_property_names_component_and_property() {
        let g = json!({"components": [{"filter_component": {"id": "a", "name": "vip"}}]});
        let errs = Package::from_json(&g).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].component.as_deref(), Some("vip"));
        assert_eq!(errs[0].property.as_deref(), Some("predicate"));
        assert!(errs[0].message.contains("missing required property"));
    }

    #[test]
    fn a_wrong_json_type_and_a_bad_enum_value_are_named() {
        let g = json!({"components": [
            {"limit_component": {"id": "a", "name": "top", "count": "ten"}},
            {"join_component": {"id": "b", "name": "j", "on": "a.x = b.x", "join_type": "outer"}}
        ]});
        let errs = Package::from_json(&g).unwrap_err();
        assert_eq!(errs[0].property.as_deref(), Some("count"));
        assert_eq!(errs[0].message, "`count` must be integer, not a string");
        assert_eq!(errs[1].property.as_deref(), Some("join_type"));
        assert!(errs[1].message.contains("\"inner\""), "{}", errs[1].message);
    }

    #[test]
    fn nested_problems_carry_their_path() {
        let g = json!({"components": [{"cloud_storage_source_component": {
            "id": "a", "name": "csv", "connection_id": 5, "path": "x.csv",
            "schema": {"fields": [{"name": "id", "type": "int"}]}}}]});
        let errs = Package::from_json(&g).unwrap_err();
        assert_eq!(errs[0].property.as_deref(), Some("schema"));
        assert!(
            errs[0].message.starts_with("`schema.fields[0].type`"),
            "{}",
            errs[0].message
        );
    }

    #[test]
    fn unknown_properties_and_types_are_reported() {
        let g = json!({"components": [
            {"filter_component": {"id": "a", "name": "f", "predicate": "x", "predicat": "y"}},
            {"teleport_component": {"id": "b", "name": "t"}}
        ]});
        let (p, findings) = Package::parse(&g);
        assert_eq!(p.components.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert_eq!(findings[0].property.as_deref(), Some("predicat"));
        assert_eq!(findings[1].component.as_deref(), Some("t"));
        assert!(findings[1].message.contains("teleport_component"));
    }

    #[test]
    fn table_and_query_are_exclusive() {
        let g = json!({"components": [{"database_source_component": {
            "id": "a", "name": "src", "connection_id": 1, "table": "t", "query": "SELECT 1"}}]});
        let errs = Package::from_json(&g).unwrap_err();
        assert_eq!(errs[0].property.as_deref(), Some("table"));
        assert!(errs[0].message.contains("exactly one of table, query"));
    }
}
