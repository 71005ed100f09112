//! Which source and destination components suit a connection, by its type. A table, so
//! adding a vendor is one line.

use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SuggestedComponents {
    pub source: &'static str,
    pub destination: Option<&'static str>,
}

/// (connection type, source component, destination component)
pub const SUGGESTIONS: &[(&str, &str, Option<&str>)] = &[
    (
        "postgres",
        "postgres_source_component",
        Some("postgres_destination_component"),
    ),
    (
        "mysql",
        "mysql_source_component",
        Some("mysql_destination_component"),
    ),
    (
        "mariadb",
        "mysql_source_component",
        Some("mysql_destination_component"),
    ),
    (
        "mssql",
        "sql_server_source_component",
        Some("sql_server_destination_component"),
    ),
    (
        "sqlite",
        "database_source_component",
        Some("database_destination_component"),
    ),
    (
        "s3",
        "cloud_storage_source_component",
        Some("cloud_storage_destination_component"),
    ),
    (
        "gcs",
        "cloud_storage_source_component",
        Some("cloud_storage_destination_component"),
    ),
    (
        "azure",
        "cloud_storage_source_component",
        Some("cloud_storage_destination_component"),
    ),
    (
        "local",
        "cloud_storage_source_component",
        Some("cloud_storage_destination_component"),
    ),
    (
        "sftp",
        "cloud_storage_source_component",
        Some("cloud_storage_destination_component"),
    ),
    ("http", "rest_api_source_component", None),
];

pub fn suggested_for(connection_type: &str) -> Option<SuggestedComponents> {
    SUGGESTIONS
        .iter()
        .find(|(t, _, _)| *t == connection_type)
        .map(|(_, source, destination)| SuggestedComponents {
            source,
            destination: *destination,
        })
}
