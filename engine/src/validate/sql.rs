//! SQL text to DataFusion expressions, against an input's schema, and DataFusion's errors
//! turned into a message and a fix in the package author's terms.
//!
//! One `SessionState` serves every call: its function registry and expression planners are
//! built once (building them is most of what a session costs), and planning an expression
//! against it only reads it.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use datafusion::common::{DFSchema, DataFusionError, SchemaError};
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::{Expr, ExprSchemable, SortExpr};
use datafusion::prelude::SessionConfig;
use datafusion::sql::parser::DFParserBuilder;
use datafusion::sql::sqlparser::ast::ExprWithAlias;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion::sql::sqlparser::dialect::{dialect_from_str, GenericDialect};
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

/// Nesting allowed in one expression: deep enough for any real one, shallow enough that a
/// hostile one cannot exhaust the stack.
const RECURSION_LIMIT: usize = 64;

/// Why an expression does not plan, for the package's author.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub message: String,
    pub fix: String,
}

impl Problem {
    pub fn new(message: impl Into<String>, fix: impl Into<String>) -> Problem {
        Problem {
            message: message.into(),
            fix: fix.into(),
        }
    }
}

pub(crate) fn state() -> &'static SessionState {
    static STATE: OnceLock<SessionState> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut config = SessionConfig::new();
        // Column names are matched as the sources spell them (`CustomerID` stays
        // `CustomerID`), which is what someone copying names from a table or a CSV header
        // expects; function names stay case-insensitive.
        config.options_mut().sql_parser.enable_ident_normalization = false;
        SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .build()
    })
}

/// `expression [AS alias]` planned against `schema`, and type-checked.
pub(crate) fn expr(text: &str, schema: &DFSchema) -> Result<(Expr, Option<String>), Problem> {
    let parsed = DFParserBuilder::new(text)
        .with_dialect(&GenericDialect {})
        .with_recursion_limit(RECURSION_LIMIT)
        .build()
        .and_then(|mut p| p.parse_into_expr())
        .map_err(|e| problem(&e, schema))?;
    let alias = parsed.alias.as_ref().map(|a| a.value.clone());
    let e = to_logical(parsed.expr, schema)?;
    Ok((e, alias))
}

fn to_logical(
    e: datafusion::sql::sqlparser::ast::Expr,
    schema: &DFSchema,
) -> Result<Expr, Problem> {
    let e = state()
        .create_logical_expr_from_sql_expr(
            ExprWithAlias {
                expr: e,
                alias: None,
            },
            schema,
        )
        .map_err(|e| problem(&e, schema))?;
    e.get_type(schema).map_err(|e| problem(&e, schema))?;
    Ok(e)
}

/// `expression [ASC|DESC] [NULLS FIRST|LAST]` against `schema`.
pub(crate) fn sort(text: &str, schema: &DFSchema) -> Result<SortExpr, Problem> {
    let dialect = GenericDialect {};
    let mut parser = DFParserBuilder::new(text)
        .with_dialect(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .build()
        .map_err(|e| problem(&e, schema))?;
    let o = parser
        .parse_order_by_expr()
        .map_err(|e| problem(&e, schema))?;
    parser
        .parser
        .expect_token(&Token::EOF)
        .map_err(|e| problem(&DataFusionError::SQL(Box::new(e), None), schema))?;
    let asc = o.options.asc.unwrap_or(true);
    // DataFusion's default: nulls sort as the largest value.
    let nulls_first = o.options.nulls_first.unwrap_or(!asc);
    Ok(SortExpr::new(to_logical(o.expr, schema)?, asc, nulls_first))
}

/// The variables (`$name`) a SQL text refers to. Positional `$1` is not a variable.
pub(crate) fn variables(text: &str) -> BTreeSet<String> {
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, text).tokenize() else {
        return BTreeSet::new();
    };
    tokens
        .into_iter()
        .filter_map(|t| match t {
            Token::Placeholder(p) => p.strip_prefix('$').map(String::from),
            _ => None,
        })
        .filter(|name| !name.is_empty() && !name.chars().all(|c| c.is_ascii_digit()))
        .collect()
}

/// The variables `${name}` in a path.
pub(crate) fn path_variables(path: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = path;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                out.insert(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// Whether `text` is exactly one statement in `dialect` (and, when `query_only`, a query).
pub(crate) fn one_statement(dialect: &str, text: &str, query_only: bool) -> Result<(), Problem> {
    let d = dialect_from_str(dialect).unwrap_or_else(|| Box::new(GenericDialect {}));
    let statements = Parser::new(d.as_ref())
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(text)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| {
            Problem::new(
                format!("is not valid {dialect} SQL: {e}"),
                "fix the SQL; it is parsed as the connection's database reads it",
            )
        })?;
    match statements.as_slice() {
        [Statement::Query(_)] => Ok(()),
        [_] if !query_only => Ok(()),
        [_] => Err(Problem::new(
            "is not a SELECT query",
            "give one SELECT (or WITH … SELECT) statement",
        )),
        _ => Err(Problem::new(
            format!("holds {} statements; one is allowed", statements.len()),
            "keep exactly one statement (a workflow can run several sql tasks)",
        )),
    }
}

/// DataFusion's error as a message and a fix, naming columns as the author wrote them.
pub(crate) fn problem(e: &DataFusionError, schema: &DFSchema) -> Problem {
    let root = e.find_root();
    let schema_error = match root {
        DataFusionError::SchemaError(s, _) => Some(s.as_ref()),
        _ => None,
    };
    match (schema_error, root) {
        (Some(SchemaError::FieldNotFound { field, .. }), _) => {
            let same_qualifier: Vec<String> = match &field.relation {
                Some(q) => schema
                    .iter()
                    .filter(|(fq, _)| fq.is_some_and(|fq| fq == q))
                    .map(|(_, f)| f.name().clone())
                    .collect(),
                None => Vec::new(),
            };
            let fix = if let (Some(q), false) = (&field.relation, same_qualifier.is_empty()) {
                format!("`{q}` has: {}", list(&same_qualifier))
            } else if field.relation.is_some() {
                format!("the input's columns are: {}", list(&qualified_names(schema)))
            } else {
                format!("the input's columns are: {}", list(&names(schema)))
            };
            Problem::new(format!("unknown column `{}`", field.flat_name()), fix)
        }
        (Some(SchemaError::AmbiguousReference { field }), _) => {
            let qualifiers: Vec<String> = schema
                .iter()
                .filter(|(_, f)| f.name() == &field.name)
                .filter_map(|(q, _)| q.map(|q| format!("{q}.{}", field.name)))
                .collect();
            Problem::new(
                format!("column `{}` is in more than one input", field.name),
                format!("qualify it: {}", list(&qualifiers)),
            )
        }
        (_, DataFusionError::SQL(parser_error, _)) => Problem::new(
            format!("is not a SQL expression: {parser_error}"),
            "write an SQL expression as DataFusion reads it, e.g. `total * 2`, `upper(name)`, `a = b AND c IS NOT NULL`",
        ),
        (_, root) => {
            let message = root.message();
            let fix = if message.starts_with("Invalid function") {
                "use a function DataFusion's SQL knows (e.g. to_date, date_trunc, coalesce, concat)"
            } else {
                "check the expression's column types and function arguments"
            };
            Problem::new(summary(&message), fix)
        }
    }
}

/// The first line of a DataFusion message, and its suggestion if it has one (the lines
/// after are schema dumps and signatures, too long for a finding).
fn summary(message: &str) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut s = lines.next().unwrap_or("").to_string();
    if let Some(hint) = lines.find(|l| l.starts_with("Did you mean")) {
        s.push(' ');
        s.push_str(hint);
    }
    s
}

fn names(schema: &DFSchema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

fn qualified_names(schema: &DFSchema) -> Vec<String> {
    schema
        .iter()
        .map(|(q, f)| match q {
            Some(q) => format!("{q}.{}", f.name()),
            None => f.name().clone(),
        })
        .collect()
}

/// At most 20 names; a wide table's full list helps no one.
pub(crate) fn list(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(20)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 20 {
        s.push_str(&format!(", … ({} in all)", names.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_dollar_names_not_positions() {
        let v = variables("ordered_at >= $since AND total > $1 AND x = '$not'");
        assert_eq!(v.into_iter().collect::<Vec<_>>(), vec!["since"]);
        assert_eq!(
            path_variables("exports/${day}/orders_${region}.csv").len(),
            2
        );
    }

    #[test]
    fn one_statement_reads_the_connections_dialect() {
        assert!(one_statement("postgresql", "SELECT 1", true).is_ok());
        assert!(one_statement("mssql", "SELECT TOP 5 * FROM t", true).is_ok());
        let two = one_statement("postgresql", "SELECT 1; DROP TABLE t", true).unwrap_err();
        assert!(two.message.contains("2 statements"));
        let not_query = one_statement("mysql", "DELETE FROM t", true).unwrap_err();
        assert!(not_query.message.contains("not a SELECT"));
        assert!(one_statement("mysql", "DELETE FROM t", false).is_ok());
    }
}
