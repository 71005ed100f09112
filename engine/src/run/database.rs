//! Database tables as DataFusion sources (projection and filters pushed down as SQL in the
//! connection's dialect, written by DataFusion's unparser) and as destinations, over the
//! drivers' bulk paths ([`connectors::database::transfer`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use connectors::database::{
    BatchStream, DatabaseDriver, Param, ReadRequest, TableRef, WriteMode, WriteRequest,
};
use connectors::sanitize::Dialect;
use connectors::DriverError;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::datasource::{TableProvider, TableType};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::sql::sqlparser::dialect as parser_dialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use datafusion::sql::unparser::{dialect as unparser_dialect, Unparser};
use futures_util::{StreamExt, TryStreamExt};
use serde_json::Value;

use super::failure::{Category, RunFailure};
use super::progress::Counters;
use crate::components::properties::{DatabaseDestination, DatabaseSource, Operation};

/// A failure attributed to a component, carried through DataFusion's error type.
#[derive(Debug)]
pub(crate) struct Failed(pub RunFailure);

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.message)
    }
}
impl std::error::Error for Failed {}

pub(crate) fn failed(component: &str, property: Option<&str>, e: &DriverError) -> DataFusionError {
    DataFusionError::External(Box::new(Failed(
        RunFailure::from_driver(e).at(component, property),
    )))
}

/// What a source reads: a table, or a query with its variables bound as parameters.
#[derive(Debug, Clone)]
enum From {
    Table(TableRef),
    Query { sql: String, params: Vec<Param> },
}

/// One database source of a run.
pub struct DatabaseTable {
    driver: Arc<dyn DatabaseDriver>,
    from: From,
    schema: SchemaRef,
    counters: Arc<Counters>,
    batch_rows: usize,
    component: String,
}

impl fmt::Debug for DatabaseTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseTable")
            .field("component", &self.component)
            .finish()
    }
}

impl DatabaseTable {
    pub fn new(
        driver: Arc<dyn DatabaseDriver>,
        spec: &DatabaseSource,
        variables: &BTreeMap<String, Value>,
        schema: SchemaRef,
        counters: Arc<Counters>,
        batch_rows: usize,
        component: &str,
    ) -> Result<Self, RunFailure> {
        let from = match (&spec.table, &spec.query) {
            (Some(t), _) => From::Table(TableRef {
                schema: spec.schema.clone(),
                name: t.clone(),
            }),
            (None, Some(q)) => {
                let (sql, params) =
                    bind_variables(q, variables, driver.dialect()).map_err(|m| {
                        RunFailure::new(
                            Category::Expression,
                            m,
                            "fix the query so that it parses, with variables written `$name`",
                        )
                        .at(component, Some("query"))
                    })?;
                From::Query { sql, params }
            }
            (None, None) => {
                return Err(RunFailure::new(
                    Category::Schema,
                    "the source names neither a table nor a query",
                    "set `table` (or `query`)",
                )
                .at(component, Some("table")))
            }
        };
        Ok(DatabaseTable {
            driver,
            from,
            schema,
            counters,
            batch_rows,
            component: component.to_string(),
        })
    }

    fn unparser_dialect(&self) -> Option<Box<dyn unparser_dialect::Dialect>> {
        match self.driver.dialect() {
            Dialect::Postgres => Some(Box::new(unparser_dialect::PostgreSqlDialect {})),
            Dialect::MySql => Some(Box::new(unparser_dialect::MySqlDialect {})),
            Dialect::Sqlite => Some(Box::new(unparser_dialect::SqliteDialect {})),
            // DataFusion's unparser has no T-SQL dialect: filters stay in the engine.
            Dialect::MsSql => None,
        }
    }

    /// A filter as SQL in the connection's dialect, if the unparser can write it.
    fn filter_sql(&self, e: &Expr) -> Option<String> {
        let dialect = self.unparser_dialect()?;
        if !plain_text_only(e) {
            return None;
        }
        let unqualified = e
            .clone()
            .transform(|e| {
                Ok(match e {
                    Expr::Column(c) => Transformed::yes(Expr::Column(c.name.into())),
                    other => Transformed::no(other),
                })
            })
            .ok()?
            .data;
        Unparser::new(dialect.as_ref())
            .expr_to_sql(&unqualified)
            .ok()
            .map(|sql| sql.to_string())
    }

    /// The SELECT that reads `columns`, under `filters`, at most `limit` rows.
    fn select(&self, columns: &[String], filters: &[String], limit: Option<usize>) -> String {
        let dialect = self.driver.dialect();
        let list = if columns.is_empty() {
            "1".to_string()
        } else {
            columns
                .iter()
                .map(|c| quote(dialect, c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let from = match &self.from {
            From::Table(t) => match &t.schema {
                Some(s) => format!("{}.{}", quote(dialect, s), quote(dialect, &t.name)),
                None => quote(dialect, &t.name),
            },
            From::Query { sql, .. } => {
                format!("({}) AS pw_source", sql.trim().trim_end_matches(';'))
            }
        };
        let top = match (dialect, limit) {
            (Dialect::MsSql, Some(n)) => format!("TOP {n} "),
            _ => String::new(),
        };
        let mut sql = format!("SELECT {top}{list} FROM {from}");
        if !filters.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(
                &filters
                    .iter()
                    .map(|f| format!("({f})"))
                    .collect::<Vec<_>>()
                    .join(" AND "),
            );
        }
        if let (Some(n), false) = (limit, dialect == Dialect::MsSql) {
            sql.push_str(&format!(" LIMIT {n}"));
        }
        sql
    }
}

/// Whether every text the filter would put into SQL (string literals, column names) is
/// free of quotes, backslashes and NUL. The unparser's escaping doubles a quote but not
/// one after a backslash, so a value such as `\' OR 1=1 --` (a run variable, say) could
/// end its literal early on PostgreSQL, SQLite or MySQL. Such a filter stays in the
/// engine, where it is data, not SQL; everyday ones (`status = 'paid'`) still go down.
fn plain_text_only(e: &Expr) -> bool {
    use datafusion::common::tree_node::TreeNodeRecursion;
    use datafusion::common::ScalarValue;
    let clean = |s: &str| !s.contains(['\'', '"', '`', '\\', '\0', ']']);
    let mut ok = true;
    let _ = e.apply(|e| {
        let fine = match e {
            Expr::Literal(
                ScalarValue::Utf8(Some(s))
                | ScalarValue::LargeUtf8(Some(s))
                | ScalarValue::Utf8View(Some(s)),
                _,
            ) => clean(s),
            Expr::Literal(ScalarValue::Binary(_) | ScalarValue::LargeBinary(_), _) => false,
            Expr::Column(c) => clean(&c.name),
            _ => true,
        };
        ok &= fine;
        Ok(if fine {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    ok
}

/// An identifier quoted for the dialect.
pub(crate) fn quote(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::MySql => format!("`{}`", name.replace('`', "``")),
        Dialect::MsSql => format!("[{}]", name.replace(']', "]]")),
        Dialect::Postgres | Dialect::Sqlite => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

/// `$name` variables in a query replaced by positional `$1, $2, …` (outside literals and
/// comments, as the dialect tokenizes them), and the names in order.
pub(crate) fn positional(sql: &str, dialect: Dialect) -> Result<(String, Vec<String>), String> {
    let d: Box<dyn parser_dialect::Dialect> = match dialect {
        Dialect::Postgres => Box::new(parser_dialect::PostgreSqlDialect {}),
        Dialect::MySql => Box::new(parser_dialect::MySqlDialect {}),
        Dialect::MsSql => Box::new(parser_dialect::MsSqlDialect {}),
        Dialect::Sqlite => Box::new(parser_dialect::SQLiteDialect {}),
    };
    let tokens = Tokenizer::new(d.as_ref(), sql)
        .tokenize_with_location()
        .map_err(|e| format!("the query does not parse: {e}"))?;
    // Byte offset of each line's start, to turn token locations (line, column in
    // characters, both from 1) into byte offsets: only the variables are rewritten, every
    // other byte of the query stays as written.
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |line: u64, column: u64| -> Option<usize> {
        let start = *line_starts.get(usize::try_from(line).ok()?.checked_sub(1)?)?;
        let chars = usize::try_from(column).ok()?.checked_sub(1)?;
        let rest = &sql[start..];
        Some(
            start
                + rest
                    .char_indices()
                    .nth(chars)
                    .map_or(rest.len(), |(i, _)| i),
        )
    };
    let mut names: Vec<String> = Vec::new();
    let mut out = String::with_capacity(sql.len());
    let mut copied = 0;
    for t in tokens {
        // PostgreSQL's and SQLite's tokenizers see `$name` as a placeholder; MySQL's and
        // SQL Server's as a word (`$` may start an identifier there), unquoted.
        let variable = match &t.token {
            Token::Placeholder(p) => p.strip_prefix('$'),
            Token::Word(w) if w.quote_style.is_none() => w.value.strip_prefix('$'),
            _ => None,
        }
        .filter(|n| !n.is_empty() && !n.chars().all(|c| c.is_ascii_digit()));
        let Some(name) = variable else { continue };
        let (Some(start), Some(end)) = (
            offset(t.span.start.line, t.span.start.column),
            offset(t.span.end.line, t.span.end.column),
        ) else {
            return Err("the query's variables could not be located".into());
        };
        let name = name.to_string();
        let n = match names.iter().position(|x| *x == name) {
            Some(i) => i + 1,
            None => {
                names.push(name);
                names.len()
            }
        };
        out.push_str(&sql[copied..start]);
        out.push_str(&format!("${n}"));
        copied = end;
    }
    out.push_str(&sql[copied..]);
    Ok((out, names))
}

/// A query with its `$name` variables bound as parameters (see [`positional`]).
fn bind_variables(
    sql: &str,
    variables: &BTreeMap<String, Value>,
    dialect: Dialect,
) -> Result<(String, Vec<Param>), String> {
    let (out, names) = positional(sql, dialect)?;
    let params = names
        .iter()
        .map(|n| match variables.get(n) {
            Some(v) => Ok(param(v)),
            None => Err(format!("variable `{n}` has no value")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((out, params))
}

/// A variable's value as a bound parameter.
pub(crate) fn param(v: &Value) -> Param {
    match v {
        Value::Null => Param::Null,
        Value::Bool(b) => Param::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Param::Int(i),
            None => Param::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Param::Text(s.clone()),
        other => Param::Text(other.to_string()),
    }
}

#[async_trait]
impl TableProvider for DatabaseTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        // Inexact: the database narrows what it sends, DataFusion applies the filter again
        // (a dialect's NULL or collation rules can never change the result).
        Ok(filters
            .iter()
            .map(|f| match self.filter_sql(f) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let projected = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => Arc::clone(&self.schema),
        };
        let filters: Vec<String> = filters.iter().filter_map(|f| self.filter_sql(f)).collect();
        // A limit is pushed only when every filter went with it (DataFusion passes one
        // only then, as the filters are inexact; this holds it either way).
        let limit = if filters.is_empty() { limit } else { None };
        // No columns wanted (COUNT(*)): read the first one and keep only the row count.
        let read_schema = if projected.fields().is_empty() && !self.schema.fields().is_empty() {
            Arc::new(self.schema.project(&[0])?)
        } else {
            Arc::clone(&projected)
        };
        let columns: Vec<String> = read_schema
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let sql = self.select(&columns, &filters, limit);
        let params = match &self.from {
            From::Query { params, .. } => params.clone(),
            From::Table(_) => Vec::new(),
        };
        let partition = Arc::new(Partition {
            driver: Arc::clone(&self.driver),
            request: ReadRequest {
                sql,
                params,
                schema: read_schema,
                batch_rows: self.batch_rows,
            },
            output: Arc::clone(&projected),
            counters: Arc::clone(&self.counters),
            component: self.component.clone(),
        });
        Ok(Arc::new(StreamingTableExec::try_new(
            projected,
            vec![partition],
            None,
            Vec::new(),
            false,
            None,
        )?))
    }
}

/// The one stream of a database source.
struct Partition {
    driver: Arc<dyn DatabaseDriver>,
    request: ReadRequest,
    /// What DataFusion asked for (no columns: row counts only).
    output: SchemaRef,
    counters: Arc<Counters>,
    component: String,
}

impl fmt::Debug for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Partition")
            .field("component", &self.component)
            .finish()
    }
}

impl PartitionStream for Partition {
    fn schema(&self) -> &SchemaRef {
        &self.output
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let driver = Arc::clone(&self.driver);
        let request = self.request.clone();
        let (counters, output) = (Arc::clone(&self.counters), Arc::clone(&self.output));
        let component = self.component.clone();
        let component2 = component.clone();
        let open = async move {
            driver.read(request).await.map_err(|e| {
                let property = match &e {
                    DriverError::TableNotFound(_) => Some("table"),
                    DriverError::Query(_) => None,
                    _ => Some("connection_id"),
                };
                failed(&component, property, &e)
            })
        };
        let out = Arc::clone(&output);
        let stream = futures_util::stream::once(open)
            .map_ok(move |s| {
                s.map_err({
                    let component = component2.clone();
                    move |e| failed(&component, None, &e)
                })
            })
            .try_flatten()
            .and_then(move |batch| {
                counters.read(
                    batch.num_rows() as u64,
                    super::progress::batch_bytes(&batch),
                );
                let out = Arc::clone(&out);
                async move {
                    if out.fields().is_empty() {
                        RecordBatch::try_new_with_options(
                            out,
                            Vec::new(),
                            &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
                        )
                        .map_err(DataFusionError::from)
                    } else {
                        Ok(batch)
                    }
                }
            });
        Box::pin(RecordBatchStreamAdapter::new(output, stream))
    }
}

/// Writes a destination's rows; all or nothing (see [`connectors::database::transfer`]).
pub async fn write(
    driver: Arc<dyn DatabaseDriver>,
    spec: &DatabaseDestination,
    input: SendableRecordBatchStream,
    counters: Arc<Counters>,
    run_tag: &str,
    component: &str,
) -> Result<u64, RunFailure> {
    let schema = input.schema();
    // The input's own failure (a source, an expression) is kept here and reported as
    // itself, not as the destination's.
    let upstream: Arc<Mutex<Option<DataFusionError>>> = Arc::default();
    let slot = Arc::clone(&upstream);
    let batches: BatchStream = Box::pin(input.map(move |r| match r {
        Ok(b) => {
            counters.wrote(b.num_rows() as u64, super::progress::batch_bytes(&b));
            Ok(b)
        }
        Err(e) => {
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            Err(DriverError::Interrupted)
        }
    }));
    let mode = match spec.operation {
        Operation::Append => WriteMode::Append,
        Operation::Overwrite => WriteMode::Overwrite,
        Operation::Merge => WriteMode::Merge {
            keys: spec.merge_keys.clone(),
        },
    };
    let request = WriteRequest {
        table: TableRef {
            schema: spec.schema.clone(),
            name: spec.table.clone(),
        },
        mode,
        create_table: spec.create_table,
        schema,
        run_tag: run_tag.to_string(),
    };
    match driver.write(request, batches).await {
        Ok(s) => Ok(s.rows),
        Err(e) => {
            if let Some(up) = upstream.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(super::failure::from_datafusion(&up));
            }
            let property = match &e {
                DriverError::TableNotFound(_) => Some("table"),
                DriverError::Query(_) => None,
                _ => Some("connection_id"),
            };
            Err(RunFailure::from_driver(&e).at(component, property))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_become_positional_parameters_outside_literals() {
        let vars: BTreeMap<String, Value> = [
            ("since".to_string(), Value::from("2026-01-01")),
            ("n".to_string(), Value::from(3)),
        ]
        .into();
        let (sql, params) = bind_variables(
            "SELECT * FROM t WHERE d >= $since AND x = '$since' AND n > $n AND m < $since",
            &vars,
            Dialect::Postgres,
        )
        .unwrap();
        assert_eq!(
            sql,
            "SELECT * FROM t WHERE d >= $1 AND x = '$since' AND n > $2 AND m < $1"
        );
        assert_eq!(
            params,
            vec![Param::Text("2026-01-01".into()), Param::Int(3)]
        );
        assert!(bind_variables("SELECT $nope", &vars, Dialect::MySql)
            .unwrap_err()
            .contains("`nope`"));
        for dialect in [Dialect::MySql, Dialect::MsSql, Dialect::Sqlite] {
            let (sql, params) =
                bind_variables("SELECT a FROM t WHERE n > $n AND s = '$n'", &vars, dialect)
                    .unwrap();
            assert_eq!(
                sql, "SELECT a FROM t WHERE n > $1 AND s = '$n'",
                "{dialect:?}"
            );
            assert_eq!(params, vec![Param::Int(3)]);
        }
    }

    #[test]
    fn literals_come_back_exactly_as_written() {
        let vars: BTreeMap<String, Value> = [("n".to_string(), Value::from(1))].into();
        for (dialect, sql) in [
            (
                Dialect::Postgres,
                r#"SELECT 'O''Brien', "a""b", E'x\'y' FROM t WHERE n = $n"#,
            ),
            (
                Dialect::MySql,
                r#"SELECT 'it\'s', `a``b` FROM t WHERE n = $n"#,
            ),
        ] {
            let (out, _) = bind_variables(sql, &vars, dialect).unwrap();
            assert_eq!(out, sql.replace("$n", "$1"), "{dialect:?}");
        }
    }

    #[test]
    fn filters_with_quotes_or_backslashes_stay_in_the_engine() {
        use datafusion::logical_expr::{col, lit};
        assert!(plain_text_only(&col("status").eq(lit("paid"))));
        for hostile in ["\\' OR 1=1 --", "O'Brien", "a\\b", "x\"y"] {
            assert!(
                !plain_text_only(&col("status").eq(lit(hostile))),
                "{hostile}"
            );
        }
        assert!(!plain_text_only(&col("we'ird").gt(lit(1))));
    }

    #[test]
    fn identifiers_are_quoted_per_dialect() {
        assert_eq!(quote(Dialect::Postgres, "a\"b"), "\"a\"\"b\"");
        assert_eq!(quote(Dialect::MySql, "a`b"), "`a``b`");
        assert_eq!(quote(Dialect::MsSql, "a]b"), "[a]]b]");
    }
}
