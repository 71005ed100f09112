//! The SQL text drivers build themselves: quoted identifiers, the preview SELECT, a
//! query's `$n` placeholders in the dialect's own spelling, and the CREATE TABLE of a
//! write, per dialect. User text never reaches here except as a sanitized [`Predicate`],
//! a query source's own SQL (whose placeholders are rewritten, nothing else), and
//! identifiers, which are always quoted.

use arrow::datatypes::{DataType, Schema};

use super::TableRef;
use crate::{
    error::{DriverError, Result},
    sanitize::{Dialect, Predicate},
};

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

/// `sql` with its `$1 … $n` placeholders in `dialect`'s spelling, outside string literals,
/// quoted identifiers and comments: `?` for MySQL (the second value lists, for each `?`
/// in order, the 0-based index of the parameter it takes), `?N` for SQLite, `@PN` for SQL
/// Server; PostgreSQL's own are left as they are.
pub fn placeholders(dialect: Dialect, sql: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(sql.len());
    let mut order = Vec::new();
    let b = sql.as_bytes();
    let mut i = 0;
    let mut copied = 0;
    // Ends of the constructs that hide a `$`: (opening, closing, backslash escapes).
    while i < b.len() {
        let c = b[i];
        let close: Option<(&[u8], bool)> = match c {
            b'\'' => Some((b"'", dialect == Dialect::MySql)),
            b'"' => Some((b"\"", dialect == Dialect::MySql)),
            b'`' if dialect == Dialect::MySql => Some((b"`", false)),
            b'[' if dialect == Dialect::MsSql => Some((b"]", false)),
            b'-' if b.get(i + 1) == Some(&b'-') => Some((b"\n", false)),
            b'#' if dialect == Dialect::MySql => Some((b"\n", false)),
            b'/' if b.get(i + 1) == Some(&b'*') => Some((b"*/", false)),
            _ => None,
        };
        if let Some((end, escapes)) = close {
            let mut j = i + 1 + usize::from(c == b'/' || c == b'-');
            while j < b.len() && !b[j..].starts_with(end) {
                j += if escapes && b[j] == b'\\' { 2 } else { 1 };
            }
            i = (j + end.len()).min(b.len());
            continue;
        }
        let after_word =
            i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_' || b[i - 1] == b'$');
        if c == b'$' && !after_word && dialect != Dialect::Postgres {
            let digits = b[i + 1..].iter().take_while(|d| d.is_ascii_digit()).count();
            if let Some(n) = sql[i + 1..i + 1 + digits]
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
            {
                out.push_str(&sql[copied..i]);
                match dialect {
                    Dialect::MySql => out.push('?'),
                    Dialect::Sqlite => out.push_str(&format!("?{n}")),
                    _ => out.push_str(&format!("@P{n}")),
                }
                order.push(n - 1);
                i += 1 + digits;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&sql[copied..]);
    (out, order)
}

/// The column type a new table gets for an Arrow type in `dialect`; `None` when no
/// column can hold it.
pub fn column_type(dialect: Dialect, dt: &DataType) -> Option<String> {
    use DataType::*;
    let d = dialect;
    Some(match dt {
        Dictionary(_, v) => return column_type(d, v),
        Boolean => match d {
            Dialect::MsSql => "BIT",
            _ => "BOOLEAN",
        }
        .into(),
        Int8 | Int16 | UInt8 => "SMALLINT".into(),
        Int32 | UInt16 => match d {
            Dialect::MySql | Dialect::MsSql => "INT",
            _ => "INTEGER",
        }
        .into(),
        Int64 | UInt32 => match d {
            Dialect::Sqlite => "INTEGER",
            _ => "BIGINT",
        }
        .into(),
        UInt64 => match d {
            Dialect::MySql => "BIGINT UNSIGNED".into(),
            Dialect::Sqlite => "INTEGER".into(),
            Dialect::Postgres => "NUMERIC(20,0)".into(),
            Dialect::MsSql => "DECIMAL(20,0)".into(),
        },
        Float16 | Float32 => match d {
            Dialect::MySql => "FLOAT",
            _ => "REAL",
        }
        .into(),
        Float64 => match d {
            Dialect::Postgres => "DOUBLE PRECISION",
            Dialect::MySql => "DOUBLE",
            Dialect::Sqlite => "REAL",
            Dialect::MsSql => "FLOAT",
        }
        .into(),
        Decimal128(p, s) => {
            let (max_p, max_s) = match d {
                Dialect::MySql => (65, 30),
                Dialect::MsSql => (38, 38),
                _ => (u8::MAX, u8::MAX),
            };
            let s = (*s).max(0) as u8;
            if *p > max_p || s > max_s {
                return None;
            }
            match d {
                Dialect::Postgres => format!("NUMERIC({p},{s})"),
                _ => format!("DECIMAL({p},{s})"),
            }
        }
        Utf8 | LargeUtf8 | Utf8View | Null => match d {
            Dialect::MySql => "LONGTEXT",
            Dialect::MsSql => "NVARCHAR(MAX)",
            _ => "TEXT",
        }
        .into(),
        Binary | LargeBinary | BinaryView | FixedSizeBinary(_) => match d {
            Dialect::Postgres => "BYTEA",
            Dialect::MySql => "LONGBLOB",
            Dialect::Sqlite => "BLOB",
            Dialect::MsSql => "VARBINARY(MAX)",
        }
        .into(),
        Date32 | Date64 => "DATE".into(),
        Timestamp(_, tz) => match d {
            Dialect::Postgres if tz.is_some() => "TIMESTAMPTZ",
            Dialect::Postgres | Dialect::Sqlite => "TIMESTAMP",
            Dialect::MySql => "DATETIME(6)",
            Dialect::MsSql if tz.is_some() => "DATETIMEOFFSET(6)",
            Dialect::MsSql => "DATETIME2(6)",
        }
        .into(),
        Time32(_) | Time64(_) => match d {
            Dialect::MySql | Dialect::MsSql => "TIME(6)",
            _ => "TIME",
        }
        .into(),
        _ => return None,
    })
}

/// `CREATE TABLE` for the written schema: every column quoted, typed by [`column_type`],
/// `NOT NULL` where the schema says so.
pub fn create_table(dialect: Dialect, t: &TableRef, schema: &Schema) -> Result<String> {
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let ty = column_type(dialect, f.data_type()).ok_or_else(|| {
                DriverError::Query(format!(
                    "column `{}` has Arrow type {}, for which the table cannot get a column; cast it first",
                    f.name(),
                    f.data_type()
                ))
            })?;
            let null = if f.is_nullable() { "" } else { " NOT NULL" };
            Ok(format!("{} {ty}{null}", quote(dialect, f.name())))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(format!(
        "CREATE TABLE {} ({})",
        table(dialect, t),
        columns.join(", ")
    ))
}

/// The quoted names of `columns`, comma-separated.
pub fn column_list<S: AsRef<str>>(dialect: Dialect, columns: &[S]) -> String {
    columns
        .iter()
        .map(|c| quote(dialect, c.as_ref()))
        .collect::<Vec<_>>()
        .join(", ")
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

    #[test]
    fn placeholders_are_rewritten_outside_literals_only() {
        let sql =
            "SELECT '$1', \"$2\", a$3 FROM t -- $4\n WHERE x = $2 AND y = $1 /* $9 */ AND z = $10";
        let (my, order) = placeholders(Dialect::MySql, sql);
        assert_eq!(
            my,
            "SELECT '$1', \"$2\", a$3 FROM t -- $4\n WHERE x = ? AND y = ? /* $9 */ AND z = ?"
        );
        assert_eq!(order, vec![1, 0, 9]);
        let (lite, _) = placeholders(Dialect::Sqlite, "SELECT * FROM t WHERE a = $1 AND b = '$2'");
        assert_eq!(lite, "SELECT * FROM t WHERE a = ?1 AND b = '$2'");
        let (ms, _) = placeholders(Dialect::MsSql, "SELECT [$1] FROM t WHERE a = $1");
        assert_eq!(ms, "SELECT [$1] FROM t WHERE a = @P1");
        let (my, _) = placeholders(Dialect::MySql, r"SELECT 'it\'s $1', `$2` WHERE a = $1");
        assert_eq!(my, r"SELECT 'it\'s $1', `$2` WHERE a = ?");
        let (pg, _) = placeholders(Dialect::Postgres, "SELECT $1");
        assert_eq!(pg, "SELECT $1");
    }

    #[test]
    fn new_tables_quote_names_and_map_types_per_dialect() {
        use arrow::datatypes::{Field, TimeUnit};
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("na\"me`]", DataType::Utf8, true),
            Field::new("amount", DataType::Decimal128(38, 10), true),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("b", DataType::Binary, true),
        ]);
        let t = TableRef {
            schema: Some("s".into()),
            name: "t".into(),
        };
        assert_eq!(
            create_table(Dialect::Postgres, &t, &schema).unwrap(),
            "CREATE TABLE \"s\".\"t\" (\"id\" BIGINT NOT NULL, \"na\"\"me`]\" TEXT, \"amount\" NUMERIC(38,10), \"at\" TIMESTAMPTZ, \"b\" BYTEA)"
        );
        assert_eq!(
            create_table(Dialect::MySql, &t, &schema).unwrap(),
            "CREATE TABLE `s`.`t` (`id` BIGINT NOT NULL, `na\"me``]` LONGTEXT, `amount` DECIMAL(38,10), `at` DATETIME(6), `b` LONGBLOB)"
        );
        assert_eq!(
            create_table(Dialect::MsSql, &t, &schema).unwrap(),
            "CREATE TABLE [s].[t] ([id] BIGINT NOT NULL, [na\"me`]]] NVARCHAR(MAX), [amount] DECIMAL(38,10), [at] DATETIMEOFFSET(6), [b] VARBINARY(MAX))"
        );
        assert_eq!(
            create_table(Dialect::Sqlite, &t, &schema).unwrap(),
            "CREATE TABLE \"s\".\"t\" (\"id\" INTEGER NOT NULL, \"na\"\"me`]\" TEXT, \"amount\" DECIMAL(38,10), \"at\" TIMESTAMP, \"b\" BLOB)"
        );
        let wide = Schema::new(vec![Field::new("d", DataType::Decimal128(38, 35), true)]);
        let e = create_table(Dialect::MySql, &t, &wide)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`d`"), "{e}");
    }
}
