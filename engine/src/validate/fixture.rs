//! An account in memory for validation tests: connections 1 postgres, 2 mysql, 3 mssql,
//! 4 sqlite, 5 s3, 6 postgres that cannot be reached, 7 http; package 42 (the component
//! catalog's examples use these ids); tables `orders` and `customers` on every database.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde_json::{json, Value};

use super::{validate, Context, Inventory, SchemaError, SchemaSource};
use crate::components::properties::FileSource;
use crate::finding::Finding;
use crate::package::FlowType;

pub(crate) struct Account;

pub(crate) fn orders() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("customer_id", DataType::Int64, true),
        Field::new(
            "ordered_at",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            true,
        ),
        Field::new("total", DataType::Float64, true),
        Field::new("status", DataType::Utf8, true),
    ]))
}

pub(crate) fn customers() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("country", DataType::Utf8, true),
        Field::new("is_vip", DataType::Boolean, true),
    ]))
}

#[async_trait]
impl Inventory for Account {
    async fn connection_type(&self, id: i64) -> Option<String> {
        let kind = match id {
            1 | 6 => "postgres",
            2 => "mysql",
            3 => "mssql",
            4 => "sqlite",
            5 => "s3",
            7 => "http",
            _ => return None,
        };
        Some(kind.into())
    }
    async fn package_flow_type(&self, id: i64) -> Option<FlowType> {
        (id == 42).then_some(FlowType::Dataflow)
    }
}

#[async_trait]
impl SchemaSource for Account {
    async fn table_schema(
        &self,
        connection_id: i64,
        _schema: Option<&str>,
        table: &str,
    ) -> Result<SchemaRef, SchemaError> {
        if connection_id == 6 {
            return Err(SchemaError::Unreachable("connection refused".into()));
        }
        match table {
            "orders" => Ok(orders()),
            "customers" => Ok(customers()),
            other => Err(SchemaError::NotFound(format!("no table {other}"))),
        }
    }
    async fn query_schema(
        &self,
        connection_id: i64,
        query: &str,
    ) -> Result<SchemaRef, SchemaError> {
        if connection_id == 6 {
            return Err(SchemaError::Unreachable("connection refused".into()));
        }
        if query.contains("customers") {
            Ok(customers())
        } else {
            Ok(orders())
        }
    }
    async fn file_schema(
        &self,
        _connection_id: i64,
        source: &FileSource,
    ) -> Result<SchemaRef, SchemaError> {
        if source.path.contains("customers") {
            Ok(customers())
        } else if source.path.contains("missing") {
            Err(SchemaError::NotFound("no such file".into()))
        } else {
            Ok(orders())
        }
    }
}

/// `{"<wrapper_key>": {"id", "name", ...props}}`.
pub(crate) fn component(wrapper_key: &str, id: &str, name: &str, props: Value) -> Value {
    let mut body = json!({"id": id, "name": name});
    if let (Some(b), Value::Object(p)) = (body.as_object_mut(), props) {
        b.extend(p);
    }
    json!({ wrapper_key: body })
}

pub(crate) fn package(components: Vec<Value>, edges: &[(&str, &str)]) -> Value {
    json!({
        "components": components,
        "edges": edges.iter().map(|(s, t)| json!({"source": s, "target": t})).collect::<Vec<_>>()
    })
}

pub(crate) fn orders_source(id: &str) -> Value {
    component(
        "postgres_source_component",
        id,
        "orders",
        json!({"connection_id": 1, "table": "orders"}),
    )
}

pub(crate) fn customers_source(id: &str) -> Value {
    component(
        "postgres_source_component",
        id,
        "customers",
        json!({"connection_id": 1, "table": "customers"}),
    )
}

pub(crate) fn file_sink(id: &str) -> Value {
    component(
        "cloud_storage_destination_component",
        id,
        "out",
        json!({"connection_id": 5, "path": "out/x.csv"}),
    )
}

pub(crate) async fn check_with(flow: FlowType, json: &Value, variables: &[&str]) -> Vec<Finding> {
    let cx = Context {
        inventory: &Account,
        schemas: &Account,
        variables: variables
            .iter()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
    };
    validate(flow, json, &cx).await
}

pub(crate) async fn check(json: &Value) -> Vec<Finding> {
    check_with(FlowType::Dataflow, json, &["since"]).await
}

/// orders → <component> → out
pub(crate) fn between(wrapper_key: &str, props: Value) -> Value {
    package(
        vec![
            orders_source("s"),
            component(wrapper_key, "t", "step", props),
            file_sink("d"),
        ],
        &[("s", "t"), ("t", "d")],
    )
}
