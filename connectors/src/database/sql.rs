//! The SQL text drivers build themselves: quoted identifiers and the preview SELECT, per
//! dialect. User text never reaches here except as a sanitized [`Predicate`].

use super::TableRef;
use crate::sanitize::{Dialect, Predicate};

/// An identifier quoted for `dialect`, its quote character doubled inside.
pub fn quote(dialect: Dialect, ident: &str) -> String {
    match dialect {
        Dialect::Postgres | Dialect::Sqlite => format!("\"{}\"", ident.replace('"', "\"\"")),
        Dialect::MySql => format!("`{}`", ident.replace('`', "``")),
        Dialect::MsSql => format!("[{}]", ident.replace(']', "]]")),
    }
}

/// `schema.table`, or `table`, quoted.
pub fn table(dialect: Dialect, t: &TableRef) -> String {
    match &t.schema {
        Some(s) => format!("{}.{}", quote(dialect, s), quote(dialect, &t.name)),
        None => quote(dialect, &t.name),
    }
}

/// The preview statement: the given select expressions from the table, the filter, and at
/// most `rows` rows (`TOP` on SQL Server, `LIMIT` elsewhere).
pub fn preview(
    dialect: Dialect,
    t: &TableRef,
    select: &[String],
    rows: u32,
    filter: Option<&Predicate>,
) -> String {
    let rows = rows.min(super::MAX_PREVIEW_ROWS);
    let list = select.join(", ");
    let mut sql = match dialect {
        Dialect::MsSql => format!("SELECT TOP ({rows}) {list} FROM {}", table(dialect, t)),
        _ => format!("SELECT {list} FROM {}", table(dialect, t)),
    };
    if let Some(f) = filter {
        sql.push_str(" WHERE ");
        sql.push_str(f.sql());
    }
    if dialect != Dialect::MsSql {
        sql.push_str(&format!(" LIMIT {rows}"));
    }
    sql
}

/// [`preview`] of the columns themselves, each name quoted.
pub fn preview_columns(
    dialect: Dialect,
    t: &TableRef,
    columns: &[super::ColumnInfo],
    rows: u32,
    filter: Option<&Predicate>,
) -> String {
    let select: Vec<String> = columns.iter().map(|c| quote(dialect, &c.name)).collect();
    preview(dialect, t, &select, rows, filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_quotes_its_own_way() {
        let t = TableRef {
            schema: Some("s\"`]".into()),
            name: "t".into(),
        };
        let cols = vec!["a".to_string()];
        assert_eq!(
            preview(Dialect::Postgres, &t, &cols, 5, None),
            "SELECT a FROM \"s\"\"`]\".\"t\" LIMIT 5"
        );
        assert_eq!(
            preview(Dialect::MySql, &t, &cols, 500, None),
            "SELECT a FROM `s\"``]`.`t` LIMIT 200"
        );
        assert_eq!(
            preview(Dialect::MsSql, &t, &cols, 5, None),
            "SELECT TOP (5) a FROM [s\"`]]].[t]"
        );
    }
}
