//! The component catalog: every component type a package can hold, as rows of data.
//!
//! A row says how the type is named and stored (`wrapper_key`), which behaviour it has
//! ([`Kind`], the `specific_component_type`), which connections it takes, and an example.
//! Its properties are the [`properties`] type of its kind, so the JSON schema shown to an
//! assistant, validation and execution read one definition. Adding a vendor's variant of a
//! source or destination is one row here and one in [`crate::connection_types`].

pub mod properties;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::OnceLock;

use schemars::{generate::SchemaSettings, JsonSchema};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::connection_types::{connection_type, Family, CONNECTION_TYPES};
pub use crate::connection_types::{suggested_for, SuggestedComponents};

use properties as p;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    Source,
    Transformation,
    Destination,
    /// A step of a workflow package.
    WorkflowTask,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Source => "source",
            Category::Transformation => "transformation",
            Category::Destination => "destination",
            Category::WorkflowTask => "workflow_task",
        }
    }
}

impl FromStr for Category {
    type Err = UnknownCategory;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Category::Source,
            Category::Transformation,
            Category::Destination,
            Category::WorkflowTask,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
        .ok_or(UnknownCategory)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("category must be source, transformation, destination or workflow_task")]
pub struct UnknownCategory;

/// What a component does: its `specific_component_type`. Vendor variants of a source or
/// destination share a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    DatabaseSource,
    FileSource,
    Select,
    Filter,
    Sort,
    Aggregate,
    Join,
    CrossJoin,
    Union,
    Limit,
    Distinct,
    Window,
    Rank,
    Sample,
    Clone,
    Assert,
    DatabaseDestination,
    FileDestination,
    RunPackage,
    SqlStatement,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::DatabaseSource => "database_source",
            Kind::FileSource => "file_source",
            Kind::Select => "select",
            Kind::Filter => "filter",
            Kind::Sort => "sort",
            Kind::Aggregate => "aggregate",
            Kind::Join => "join",
            Kind::CrossJoin => "cross_join",
            Kind::Union => "union",
            Kind::Limit => "limit",
            Kind::Distinct => "distinct",
            Kind::Window => "window",
            Kind::Rank => "rank",
            Kind::Sample => "sample",
            Kind::Clone => "clone",
            Kind::Assert => "assert",
            Kind::DatabaseDestination => "database_destination",
            Kind::FileDestination => "file_destination",
            Kind::RunPackage => "run_package",
            Kind::SqlStatement => "sql_statement",
        }
    }

    /// How many edges may enter a component of this kind.
    pub fn inputs(self) -> Arity {
        match self {
            Kind::DatabaseSource | Kind::FileSource => Arity::exactly(0),
            Kind::Join | Kind::CrossJoin => Arity::exactly(2),
            Kind::Union => Arity::at_least(2),
            Kind::RunPackage | Kind::SqlStatement => Arity::at_least(0),
            _ => Arity::exactly(1),
        }
    }

    /// How many edges may leave it. Fewer than `min` is a warning (its rows go nowhere).
    pub fn outputs(self) -> Arity {
        match self {
            Kind::DatabaseDestination | Kind::FileDestination => Arity::exactly(0),
            Kind::Clone | Kind::RunPackage | Kind::SqlStatement => Arity::at_least(0),
            _ => Arity::exactly(1),
        }
    }

    /// The JSON schema of this kind's properties (cached: it is built from types once).
    pub fn properties_schema(self) -> &'static Value {
        static SCHEMAS: OnceLock<BTreeMap<Kind, Value>> = OnceLock::new();
        SCHEMAS
            .get_or_init(|| ALL_KINDS.iter().map(|k| (*k, schema_of_kind(*k))).collect())
            .get(&self)
            .unwrap_or(&Value::Null)
    }
}

const ALL_KINDS: &[Kind] = &[
    Kind::DatabaseSource,
    Kind::FileSource,
    Kind::Select,
    Kind::Filter,
    Kind::Sort,
    Kind::Aggregate,
    Kind::Join,
    Kind::CrossJoin,
    Kind::Union,
    Kind::Limit,
    Kind::Distinct,
    Kind::Window,
    Kind::Rank,
    Kind::Sample,
    Kind::Clone,
    Kind::Assert,
    Kind::DatabaseDestination,
    Kind::FileDestination,
    Kind::RunPackage,
    Kind::SqlStatement,
];

fn schema_for<T: JsonSchema>() -> Value {
    let schema = SchemaSettings::draft2020_12()
        .for_deserialize()
        .with(|s| s.inline_subschemas = true)
        .into_generator()
        .into_root_schema_for::<T>();
    let mut v = schema.to_value();
    if let Some(o) = v.as_object_mut() {
        // The package holds the properties, not a document: `$schema` and `title` are noise.
        o.remove("$schema");
        o.remove("title");
    }
    v
}

fn schema_of_kind(k: Kind) -> Value {
    match k {
        Kind::DatabaseSource => schema_for::<p::DatabaseSource>(),
        Kind::FileSource => schema_for::<p::FileSource>(),
        Kind::Select => schema_for::<p::Select>(),
        Kind::Filter => schema_for::<p::Filter>(),
        Kind::Sort => schema_for::<p::Sort>(),
        Kind::Aggregate => schema_for::<p::Aggregate>(),
        Kind::Join => schema_for::<p::Join>(),
        Kind::CrossJoin => schema_for::<p::CrossJoin>(),
        Kind::Union => schema_for::<p::Union>(),
        Kind::Limit => schema_for::<p::Limit>(),
        Kind::Distinct => schema_for::<p::Distinct>(),
        Kind::Window => schema_for::<p::Window>(),
        Kind::Rank => schema_for::<p::Rank>(),
        Kind::Sample => schema_for::<p::Sample>(),
        Kind::Clone => schema_for::<p::FanOut>(),
        Kind::Assert => schema_for::<p::Assert>(),
        Kind::DatabaseDestination => schema_for::<p::DatabaseDestination>(),
        Kind::FileDestination => schema_for::<p::FileDestination>(),
        Kind::RunPackage => schema_for::<p::RunPackage>(),
        Kind::SqlStatement => schema_for::<p::SqlStatement>(),
    }
}

/// How many edges a component takes or gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Arity {
    pub min: u32,
    /// Absent: no upper bound.
    pub max: Option<u32>,
}

impl Arity {
    const fn exactly(n: u32) -> Arity {
        Arity {
            min: n,
            max: Some(n),
        }
    }
    const fn at_least(n: u32) -> Arity {
        Arity { min: n, max: None }
    }
}

/// Which connections a component's `connection_id` may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    /// Nothing: the component has no connection.
    NoConnection,
    /// Any connection of the family.
    Family(Family),
    /// The connection types whose suggested source (or destination) is this component.
    Suggested,
}

/// One component type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComponentType {
    /// The internal name `describe_component_type` takes.
    pub name: &'static str,
    pub category: Category,
    pub class_name: &'static str,
    pub docstring: &'static str,
    /// The key a package stores the component under: `{"<wrapper_key>": {...}}`, or the
    /// `type` of a flat component.
    pub wrapper_key: &'static str,
    pub kind: Kind,
    pub accepts: Accepts,
    /// The example's component name.
    pub example_name: &'static str,
    /// Example properties (JSON), which validate clean in the test fixture's account.
    pub example: &'static str,
}

impl ComponentType {
    pub fn specific_component_type(&self) -> &'static str {
        self.kind.as_str()
    }

    /// Whether a connection of type `kind` suits this component.
    pub fn accepts_connection(&self, kind: &str) -> bool {
        let Some(t) = connection_type(kind) else {
            return false;
        };
        match self.accepts {
            Accepts::NoConnection => false,
            Accepts::Family(f) => t.family == f,
            Accepts::Suggested => match self.category {
                Category::Destination => t.destination == Some(self.wrapper_key),
                _ => t.source == self.wrapper_key,
            },
        }
    }

    /// The connection types this component takes, in table order.
    pub fn connection_types(&self) -> Vec<&'static str> {
        CONNECTION_TYPES
            .iter()
            .filter(|t| self.accepts_connection(t.kind))
            .map(|t| t.kind)
            .collect()
    }

    /// The properties no component of this type may omit.
    pub fn required(&self) -> Vec<String> {
        self.kind
            .properties_schema()
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Groups of properties of which exactly one must be given.
    pub fn required_one_of(&self) -> &'static [&'static [&'static str]] {
        match self.kind {
            Kind::DatabaseSource => &[&["table", "query"]],
            _ => &[],
        }
    }

    /// The example properties.
    pub fn example(&self) -> Value {
        serde_json::from_str(self.example).unwrap_or(Value::Null)
    }

    /// The example as a package stores it.
    pub fn wrapper_example(&self) -> Value {
        let mut body = Map::new();
        body.insert("id".into(), json!("c1"));
        body.insert("name".into(), json!(self.example_name));
        if let Value::Object(props) = self.example() {
            body.extend(props);
        }
        json!({ self.wrapper_key: body })
    }

    pub fn summary(&self) -> ComponentSummary {
        ComponentSummary {
            name: self.name,
            category: self.category,
            class_name: self.class_name,
            docstring: self.docstring,
            wrapper_key: self.wrapper_key,
            specific_component_type: self.specific_component_type(),
        }
    }

    pub fn description(&self) -> ComponentDescription {
        ComponentDescription {
            summary: self.summary(),
            properties: self
                .kind
                .properties_schema()
                .get("properties")
                .cloned()
                .unwrap_or_else(|| json!({})),
            required: self.required(),
            required_one_of: self
                .required_one_of()
                .iter()
                .map(|g| g.iter().map(|s| s.to_string()).collect())
                .collect(),
            connection_types: self.connection_types(),
            inputs: self.kind.inputs(),
            outputs: self.kind.outputs(),
            example: self.example(),
            wrapper_example: self.wrapper_example(),
        }
    }
}

/// A component type in a list.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ComponentSummary {
    pub name: &'static str,
    pub category: Category,
    pub class_name: &'static str,
    pub docstring: &'static str,
    pub wrapper_key: &'static str,
    pub specific_component_type: &'static str,
}

/// Everything needed to write one component of a type.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ComponentDescription {
    #[serde(flatten)]
    pub summary: ComponentSummary,
    /// Property name → JSON schema. `id` and `name` are common to every component.
    pub properties: Value,
    /// Properties that must be present.
    pub required: Vec<String>,
    /// Groups of properties of which exactly one must be present.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub required_one_of: Vec<Vec<String>>,
    /// Connection types `connection_id` may name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connection_types: Vec<&'static str>,
    /// Edges in: min and max.
    pub inputs: Arity,
    /// Edges out: min and max.
    pub outputs: Arity,
    /// Example properties.
    pub example: Value,
    /// The exact JSON a package's `components` array holds.
    pub wrapper_example: Value,
}

/// Every component type, optionally of one category, in catalog order.
pub fn list(category: Option<Category>) -> impl Iterator<Item = &'static ComponentType> {
    CATALOG
        .iter()
        .filter(move |c| category.is_none_or(|k| c.category == k))
}

/// A component type by its name or wrapper key.
pub fn find(name: &str) -> Option<&'static ComponentType> {
    CATALOG
        .iter()
        .find(|c| c.name == name || c.wrapper_key == name)
}

/// The description `describe_component_type` shows.
pub fn describe(name: &str) -> Option<ComponentDescription> {
    find(name).map(ComponentType::description)
}

const DB_SOURCE_DOC: &str = "Reads a table, or the rows of one SELECT statement (`query`), from a database connection. Columns come from the table's definition or the query's result.";
const DB_DEST_DOC: &str = "Writes its input's rows to a database table: `append`, `overwrite` (atomic replace) or `merge` (upsert on `merge_keys`). Input columns are written by name.";

macro_rules! row {
    ($name:literal, $cat:ident, $class:literal, $kind:ident, $accepts:expr, $ex_name:literal, $doc:expr, $ex:expr) => {
        ComponentType {
            name: $name,
            category: Category::$cat,
            class_name: $class,
            docstring: $doc,
            wrapper_key: concat!($name, "_component"),
            kind: Kind::$kind,
            accepts: $accepts,
            example_name: $ex_name,
            example: $ex,
        }
    };
}

use Accepts::{Family as Fam, NoConnection as NoConn, Suggested};

/// The catalog. Example connection ids follow the test fixture: 1 postgres, 2 mysql,
/// 3 mssql, 4 sqlite, 5 s3; package 42 exists.
pub static CATALOG: &[ComponentType] = &[
    row!("database_source", Source, "DatabaseSourceComponent", DatabaseSource, Fam(Family::Database), "orders", DB_SOURCE_DOC,
        r#"{"connection_id": 4, "table": "orders"}"#),
    row!("postgres_source", Source, "PostgresSourceComponent", DatabaseSource, Suggested, "orders", DB_SOURCE_DOC,
        r#"{"connection_id": 1, "schema": "public", "table": "orders"}"#),
    row!("mysql_source", Source, "MySqlSourceComponent", DatabaseSource, Suggested, "orders", DB_SOURCE_DOC,
        r#"{"connection_id": 2, "query": "SELECT id, customer_id, ordered_at, total, status FROM orders WHERE ordered_at >= $since"}"#),
    row!("sql_server_source", Source, "SqlServerSourceComponent", DatabaseSource, Suggested, "orders", DB_SOURCE_DOC,
        r#"{"connection_id": 3, "schema": "dbo", "table": "orders"}"#),
    row!("cloud_storage_source", Source, "CloudStorageSourceComponent", FileSource, Fam(Family::File), "orders",
        "Reads delimited text (any dialect file discovery finds), JSON Lines or Parquet files from S3, GCS, Azure, SFTP, HTTP or a local folder. `schema.fields` takes discovery's `fields` as they are; absent, the columns are discovered when validating.",
        r#"{"connection_id": 5, "path": "exports/orders.csv", "record_type": "delimited", "delimiter": ",", "quote": "\"", "header_row": 1,
            "schema": {"fields": [{"name": "id", "alias": "id", "type": "integer"}, {"name": "customer_id", "alias": "customer_id", "type": "integer"},
              {"name": "ordered_at", "alias": "ordered_at", "type": "timestamp"}, {"name": "total", "alias": "total", "type": "decimal"},
              {"name": "status", "alias": "status", "type": "string"}]}}"#),
    row!("select", Transformation, "SelectComponent", Select, NoConn, "pick_columns",
        "Computes its output columns, one SQL expression each (`expr AS name`); `*` keeps every input column.",
        r#"{"fields": ["id", "customer_id", "total * 1.2 AS total_with_tax", "upper(status) AS status"]}"#),
    row!("filter", Transformation, "FilterComponent", Filter, NoConn, "large_orders",
        "Keeps the rows for which a boolean SQL expression is true.",
        r#"{"predicate": "total > 100 AND status <> 'cancelled'"}"#),
    row!("sort", Transformation, "SortComponent", Sort, NoConn, "newest_first",
        "Orders rows by SQL expressions, each `ASC` or `DESC`, `NULLS FIRST` or `LAST`.",
        r#"{"order_by": ["ordered_at DESC", "id"]}"#),
    row!("aggregate", Transformation, "AggregateComponent", Aggregate, NoConn, "revenue_per_day",
        "Groups rows by `group_by` expressions and computes `measures` (sum, count, avg, min, max, …) per group. A column outside an aggregate function must be grouped by.",
        r#"{"group_by": ["customer_id", "date_trunc('day', ordered_at) AS day"], "measures": ["sum(total) AS revenue", "count(*) AS orders"]}"#),
    row!("join", Transformation, "JoinComponent", Join, NoConn, "orders_with_customers",
        "Joins two inputs (inner, left, right or full) on a condition. The first edge in is the left input; columns are qualified by the component that read them, e.g. `orders.customer_id = customers.id`.",
        r#"{"join_type": "left", "on": "orders.customer_id = customers.id"}"#),
    row!("cross_join", Transformation, "CrossJoinComponent", CrossJoin, NoConn, "every_pair",
        "Pairs every row of the first input with every row of the second.",
        r#"{}"#),
    row!("union", Transformation, "UnionComponent", Union, NoConn, "all_orders",
        "Appends the rows of two or more inputs, matching columns by position (or by name), optionally dropping duplicates.",
        r#"{"by_name": true, "distinct": false}"#),
    row!("limit", Transformation, "LimitComponent", Limit, NoConn, "first_hundred",
        "Passes at most `count` rows, after skipping `offset`.",
        r#"{"count": 100}"#),
    row!("distinct", Transformation, "DistinctComponent", Distinct, NoConn, "unique_pairs",
        "Drops duplicate rows, over every column or over the listed `columns` (keeping only those).",
        r#"{"columns": ["customer_id", "status"]}"#),
    row!("window", Transformation, "WindowComponent", Window, NoConn, "running_totals",
        "Adds columns computed over windows of rows: `function(...) OVER (PARTITION BY ... ORDER BY ...) AS name`. Input columns are kept.",
        r#"{"windows": ["sum(total) OVER (PARTITION BY customer_id ORDER BY ordered_at) AS running_total"]}"#),
    row!("rank", Transformation, "RankComponent", Rank, NoConn, "recency",
        "Numbers rows within each partition by an ordering (rank, dense_rank, row_number or percent_rank) into a new `output` column.",
        r#"{"function": "row_number", "partition_by": ["customer_id"], "order_by": ["ordered_at DESC"], "output": "recency"}"#),
    row!("sample", Transformation, "SampleComponent", Sample, NoConn, "ten_percent",
        "Passes a random share of rows (`fraction`, above 0 and at most 1).",
        r#"{"fraction": 0.1}"#),
    row!("clone", Transformation, "CloneComponent", Clone, NoConn, "fan_out",
        "Sends every row to each of its outputs; the only component with several outgoing edges.",
        r#"{}"#),
    row!("assert", Transformation, "AssertComponent", Assert, NoConn, "totals_not_negative",
        "Fails the run when a row breaks `condition`; rows pass unchanged.",
        r#"{"condition": "total >= 0", "message": "an order total is negative"}"#),
    row!("database_destination", Destination, "DatabaseDestinationComponent", DatabaseDestination, Fam(Family::Database), "orders_copy", DB_DEST_DOC,
        r#"{"connection_id": 4, "table": "orders_copy", "operation": "append"}"#),
    row!("postgres_destination", Destination, "PostgresDestinationComponent", DatabaseDestination, Suggested, "warehouse_orders", DB_DEST_DOC,
        r#"{"connection_id": 1, "schema": "analytics", "table": "orders", "operation": "merge", "merge_keys": ["id"]}"#),
    row!("mysql_destination", Destination, "MySqlDestinationComponent", DatabaseDestination, Suggested, "orders_mirror", DB_DEST_DOC,
        r#"{"connection_id": 2, "table": "orders", "operation": "overwrite"}"#),
    row!("sql_server_destination", Destination, "SqlServerDestinationComponent", DatabaseDestination, Suggested, "orders_mirror", DB_DEST_DOC,
        r#"{"connection_id": 3, "schema": "dbo", "table": "orders"}"#),
    row!("cloud_storage_destination", Destination, "CloudStorageDestinationComponent", FileDestination, Suggested, "orders_parquet",
        "Writes its input's rows as delimited text, JSON Lines or Parquet, optionally gzip or zstd compressed, replacing the file atomically when the run succeeds.",
        r#"{"connection_id": 5, "path": "out/orders.parquet", "record_type": "parquet", "compression": "zstd"}"#),
    row!("run_package_task", WorkflowTask, "RunPackageTask", RunPackage, NoConn, "rollup",
        "Workflow task: runs another package and waits for it. Edges from it say when the next task runs: `condition` on_success (default), on_failure or on_completion.",
        r#"{"package_id": 42, "variables": {"since": "2026-01-01"}}"#),
    row!("sql_task", WorkflowTask, "SqlTask", SqlStatement, Fam(Family::Database), "purge_staging",
        "Workflow task: runs one SQL statement on a database connection. Edges from it carry `condition` on_success (default), on_failure or on_completion.",
        r#"{"connection_id": 1, "statement": "DELETE FROM staging_orders WHERE loaded_at < now() - interval '7 days'"}"#),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_has_a_unique_name_and_wrapper_key_and_a_parsable_example() {
        for c in CATALOG {
            assert_eq!(
                list(None).filter(|d| d.name == c.name).count(),
                1,
                "{}",
                c.name
            );
            assert!(c.example().is_object(), "{} example", c.name);
            assert_eq!(c.wrapper_key, format!("{}_component", c.name));
            assert!(c.kind.properties_schema().is_object(), "{}", c.name);
        }
    }

    #[test]
    fn suggested_components_exist_in_the_catalog_and_accept_their_connection() {
        for t in CONNECTION_TYPES {
            let source = find(t.source).unwrap_or_else(|| panic!("{} missing", t.source));
            assert!(
                source.accepts_connection(t.kind),
                "{} / {}",
                t.source,
                t.kind
            );
            if let Some(d) = t.destination {
                let dest = find(d).unwrap_or_else(|| panic!("{d} missing"));
                assert!(dest.accepts_connection(t.kind), "{d} / {}", t.kind);
            }
        }
    }

    #[test]
    fn vendor_components_take_only_their_vendor_and_generic_ones_the_family() {
        let pg = find("postgres_source_component").unwrap();
        assert_eq!(pg.connection_types(), vec!["postgres"]);
        let my = find("mysql_destination").unwrap();
        assert_eq!(my.connection_types(), vec!["mysql", "mariadb"]);
        let generic = find("database_source").unwrap();
        assert_eq!(
            generic.connection_types(),
            vec!["postgres", "mysql", "mariadb", "mssql", "sqlite"]
        );
        let files = find("cloud_storage_destination").unwrap();
        assert!(!files.connection_types().contains(&"http"));
        assert!(find("cloud_storage_source")
            .unwrap()
            .connection_types()
            .contains(&"http"));
    }

    #[test]
    fn list_filters_by_category() {
        let sources: Vec<_> = list(Some(Category::Source)).map(|c| c.name).collect();
        assert!(sources.contains(&"postgres_source") && sources.contains(&"cloud_storage_source"));
        assert!(
            list(Some(Category::Transformation)).all(|c| c.category == Category::Transformation)
        );
        assert_eq!(list(Some(Category::WorkflowTask)).count(), 2);
        assert_eq!(
            "workflow_task".parse::<Category>(),
            Ok(Category::WorkflowTask)
        );
        assert!("sink".parse::<Category>().is_err());
    }

    #[test]
    fn description_carries_schema_required_and_the_exact_wrapper_shape() {
        let d = describe("filter_component").unwrap();
        assert_eq!(d.required, vec!["predicate"]);
        assert_eq!(d.properties["predicate"]["type"], "string");
        assert_eq!(
            d.wrapper_example,
            json!({"filter_component": {"id": "c1", "name": "large_orders", "predicate": "total > 100 AND status <> 'cancelled'"}})
        );
        let db = describe("database_destination").unwrap();
        assert_eq!(db.required, vec!["connection_id", "table"]);
        assert_eq!(
            db.properties["operation"]["enum"],
            json!(["append", "overwrite", "merge"])
        );
        let src = describe("postgres_source").unwrap();
        assert_eq!(src.required_one_of, vec![vec!["table", "query"]]);
        assert_eq!(src.summary.specific_component_type, "database_source");
        let file = describe("cloud_storage_source").unwrap();
        assert_eq!(
            file.properties["schema"]["properties"]["fields"]["items"]["properties"]["type"]
                ["enum"],
            json!([
                "integer",
                "decimal",
                "boolean",
                "date",
                "timestamp",
                "string"
            ])
        );
    }
}
