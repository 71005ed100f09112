//! The WHERE corpus (`tests/corpus/where_*.txt`): its line format, the columns of the
//! table its fragments filter, and the schema each dialect names it in. Included by the
//! corpus test and by the live runs against PostgreSQL and MariaDB.
#![allow(dead_code)]

use connectors::sanitize::Dialect;

const ALL: [Dialect; 4] = [
    Dialect::Postgres,
    Dialect::MySql,
    Dialect::MsSql,
    Dialect::Sqlite,
];

/// `(dialects, fragment)` for each non-comment line.
pub fn corpus(text: &str) -> Vec<(Vec<Dialect>, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let l = l.split("  ## LIVE").next().unwrap();
            match l.strip_prefix('[').and_then(|r| r.split_once("] ")) {
                Some((tags, frag)) => (
                    tags.split(',')
                        .map(|t| match t.trim() {
                            "pg" => Dialect::Postgres,
                            "mysql" => Dialect::MySql,
                            "mssql" => Dialect::MsSql,
                            "sqlite" => Dialect::Sqlite,
                            other => panic!("unknown dialect tag {other}"),
                        })
                        .collect(),
                    frag.to_string(),
                ),
                None => (ALL.to_vec(), l.to_string()),
            }
        })
        .collect()
}

pub fn columns() -> Vec<String> {
    [
        "id",
        "customer_id",
        "status",
        "total",
        "email",
        "name",
        "created_at",
        "country",
        "quantity",
        "is_active",
        "notes",
        "price",
        "Order Date",
        "meta",
    ]
    .map(String::from)
    .to_vec()
}

pub fn schema(d: Dialect) -> Option<&'static str> {
    match d {
        Dialect::Postgres => Some("public"),
        Dialect::MySql => Some("shop"),
        Dialect::MsSql => Some("dbo"),
        Dialect::Sqlite => None,
    }
}
