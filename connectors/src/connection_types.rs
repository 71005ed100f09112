//! The one table of connection types: family, SQL dialect, and the components that suit
//! each. The control plane (which types exist, which family stores them), the component
//! catalog's connection checks, `get_connection`'s suggested components and (next) the
//! engine's dialect choice all read it, so a new vendor is one row. It lives here, at the
//! bottom, because the drivers are what give a type its meaning.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which driver family serves a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Database,
    File,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Database => "database",
            Family::File => "file",
        }
    }
}

/// One connection type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionType {
    /// The connection's `type`, as stored.
    pub kind: &'static str,
    pub family: Family,
    /// The SQL dialect statements and pushed-down queries are written in (sqlparser's and
    /// DataFusion's unparser's names); `None` for file stores.
    pub dialect: Option<&'static str>,
    /// The source component that reads from it.
    pub source: &'static str,
    /// The destination component that writes to it, when it can be written.
    pub destination: Option<&'static str>,
}

const fn db(kind: &'static str, dialect: &'static str, vendor: &'static str) -> ConnectionType {
    ConnectionType {
        kind,
        family: Family::Database,
        dialect: Some(dialect),
        source: vendor_source(vendor),
        destination: Some(vendor_destination(vendor)),
    }
}

const fn vendor_source(vendor: &'static str) -> &'static str {
    match vendor.as_bytes() {
        b"postgres" => "postgres_source_component",
        b"mysql" => "mysql_source_component",
        b"sql_server" => "sql_server_source_component",
        _ => "database_source_component",
    }
}

const fn vendor_destination(vendor: &'static str) -> &'static str {
    match vendor.as_bytes() {
        b"postgres" => "postgres_destination_component",
        b"mysql" => "mysql_destination_component",
        b"sql_server" => "sql_server_destination_component",
        _ => "database_destination_component",
    }
}

const fn files(kind: &'static str, writable: bool) -> ConnectionType {
    ConnectionType {
        kind,
        family: Family::File,
        dialect: None,
        source: "cloud_storage_source_component",
        destination: if writable {
            Some("cloud_storage_destination_component")
        } else {
            None
        },
    }
}

/// Every connection type Pipewright knows.
pub const CONNECTION_TYPES: &[ConnectionType] = &[
    db("postgres", "postgresql", "postgres"),
    db("mysql", "mysql", "mysql"),
    db("mariadb", "mysql", "mysql"),
    db("mssql", "mssql", "sql_server"),
    db("sqlite", "sqlite", "database"),
    files("s3", true),
    files("gcs", true),
    files("azure", true),
    files("local", true),
    files("sftp", true),
    // HTTP is read through object_store's HTTP store; it is not a place to write.
    files("http", false),
];

pub fn connection_type(kind: &str) -> Option<&'static ConnectionType> {
    CONNECTION_TYPES.iter().find(|t| t.kind == kind)
}

/// The source and destination components that suit a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub struct SuggestedComponents {
    pub source: &'static str,
    pub destination: Option<&'static str>,
}

pub fn suggested_for(kind: &str) -> Option<SuggestedComponents> {
    connection_type(kind).map(|t| SuggestedComponents {
        source: t.source,
        destination: t.destination,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_come_from_the_one_table() {
        let pg = suggested_for("postgres").unwrap();
        assert_eq!(pg.source, "postgres_source_component");
        assert_eq!(pg.destination, Some("postgres_destination_component"));
        assert_eq!(
            suggested_for("mariadb").unwrap().source,
            "mysql_source_component"
        );
        assert_eq!(
            suggested_for("sqlite").unwrap().source,
            "database_source_component"
        );
        assert_eq!(suggested_for("http").unwrap().destination, None);
        assert_eq!(suggested_for("oracle"), None);
    }

    #[test]
    fn every_kind_is_listed_once() {
        for t in CONNECTION_TYPES {
            assert_eq!(
                CONNECTION_TYPES.iter().filter(|u| u.kind == t.kind).count(),
                1
            );
            assert_eq!(
                t.dialect.is_some(),
                t.family == Family::Database,
                "{}",
                t.kind
            );
        }
    }
}
