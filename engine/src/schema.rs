//! Arrow schemas from what the drivers and file discovery report, so a [`SchemaSource`]
//! implementation maps columns the same way execution will read them.
//!
//! [`SchemaSource`]: crate::validate::SchemaSource

use std::sync::Arc;

use connectors::database::ColumnInfo;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::components::properties::{FieldType, SchemaField};

/// Decimals are read exactly, with room for any value a source reports.
const DECIMAL: DataType = DataType::Decimal128(38, 10);

/// The Arrow type a file column of this discovered type is read as.
pub fn file_field_type(t: FieldType) -> DataType {
    match t {
        FieldType::Integer => DataType::Int64,
        FieldType::Decimal => DECIMAL,
        FieldType::Boolean => DataType::Boolean,
        FieldType::Date => DataType::Date32,
        FieldType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        FieldType::String => DataType::Utf8,
    }
}

/// A file source's columns from its `schema.fields` (each named by its alias, if any).
pub fn from_file_fields(fields: &[SchemaField]) -> SchemaRef {
    Arc::new(Schema::new(
        fields
            .iter()
            .map(|f| {
                Field::new(
                    f.alias.as_deref().unwrap_or(&f.name),
                    file_field_type(f.kind),
                    true,
                )
            })
            .collect::<Vec<_>>(),
    ))
}

/// The Arrow type of a database column, from the driver's `json_type`.
pub fn column_type(json_type: &str) -> DataType {
    match json_type {
        "integer" => DataType::Int64,
        "number" => DataType::Float64,
        "decimal" => DECIMAL,
        "boolean" => DataType::Boolean,
        "date" => DataType::Date32,
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "time" => DataType::Time64(TimeUnit::Microsecond),
        "binary" => DataType::Binary,
        _ => DataType::Utf8,
    }
}

/// A table's columns as `describe_table` reports them.
pub fn from_columns(columns: &[ColumnInfo]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|c| Field::new(&c.name, column_type(&c.json_type), c.nullable))
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_fields_are_named_by_alias_and_typed_as_discovery_says() {
        let s = from_file_fields(&[
            SchemaField {
                name: "Order ID".into(),
                alias: Some("order_id".into()),
                kind: FieldType::Integer,
            },
            SchemaField {
                name: "when".into(),
                alias: None,
                kind: FieldType::Timestamp,
            },
        ]);
        assert_eq!(s.field(0).name(), "order_id");
        assert_eq!(s.field(0).data_type(), &DataType::Int64);
        assert_eq!(s.field(1).name(), "when");
    }

    #[test]
    fn database_json_types_map_to_arrow() {
        assert_eq!(column_type("decimal"), DataType::Decimal128(38, 10));
        assert_eq!(column_type("json"), DataType::Utf8);
        assert_eq!(column_type("date"), DataType::Date32);
    }
}
