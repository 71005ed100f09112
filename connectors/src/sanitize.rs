//! The WHERE sanitizer for `preview_data`: a fragment is parsed with `sqlparser` in the
//! connection's dialect as exactly one expression and walked against an allow-list (columns
//! of the previewed table, literals, comparisons, AND/OR/NOT, arithmetic, IN lists,
//! BETWEEN, LIKE/ILIKE, IS [NOT] NULL, CASE, CAST to plain types, and pure functions).
//! Anything else is rejected with a message naming the offending part. What passes is
//! re-rendered from the syntax tree, so no comment or trailing text can survive.
//!
//! This is the first of three guards: the driver also runs the preview in a read-only
//! transaction with a statement timeout.

use sqlparser::{
    ast::{
        BinaryOperator, CastKind, DataType, Expr, Function, FunctionArg, FunctionArgExpr,
        FunctionArguments, ObjectNamePart, UnaryOperator, Value,
    },
    dialect::{
        Dialect as SqlDialect, MsSqlDialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect,
    },
    parser::Parser,
    tokenizer::{Token, Tokenizer, Whitespace},
};

/// Longest fragment accepted, in bytes.
pub const MAX_FRAGMENT: usize = 2000;

/// Deepest parenthesis nesting accepted. sqlparser backtracks at each nested call, so its
/// work grows exponentially with depth: the fuzzer found a short fragment of nested calls
/// that kept it busy for minutes.
pub const MAX_NESTING: usize = 10;

/// The SQL dialect a fragment is parsed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    MsSql,
    Sqlite,
}

impl Dialect {
    fn parser_dialect(self) -> Box<dyn SqlDialect> {
        match self {
            Dialect::Postgres => Box::new(PostgreSqlDialect {}),
            Dialect::MySql => Box::new(MySqlDialect {}),
            Dialect::MsSql => Box::new(MsSqlDialect {}),
            Dialect::Sqlite => Box::new(SQLiteDialect {}),
        }
    }
}

/// Why a fragment was refused: the offending part, quoted from the fragment, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the condition is refused at `{part}`: {reason}")]
pub struct Rejection {
    pub part: String,
    pub reason: String,
}

fn reject(part: impl std::fmt::Display, reason: impl Into<String>) -> Rejection {
    let mut part = mask_strings(&part.to_string());
    if part.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|i| part.is_char_boundary(*i))
            .unwrap_or(0);
        part.truncate(cut);
        part.push('…');
    }
    Rejection {
        part,
        reason: reason.into(),
    }
}

/// `text` with the content of every quoted string literal replaced by `…`: a rejection
/// names the offending construct (`secret = '…'`), never a value the caller sent. An
/// unterminated literal is masked to the end; `''` and `\'` stay inside the literal.
fn mask_strings(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '\'' {
            continue;
        }
        out.push('…');
        loop {
            match chars.next() {
                None => break,
                Some('\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                }
                Some('\'') => {
                    out.push('\'');
                    break;
                }
                Some('\\') => {
                    chars.next();
                }
                Some(_) => {}
            }
        }
    }
    out
}

/// A fragment that passed: the condition, re-rendered from its syntax tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Predicate(String);

impl Predicate {
    pub fn sql(&self) -> &str {
        &self.0
    }

    /// A predicate that skips the sanitizer, so tests can show the driver's own guards
    /// (read-only transaction, statement timeout) hold when the first guard is bypassed.
    /// Exists only with the `guard-tests` feature, which only the crate's tests enable.
    #[cfg(feature = "guard-tests")]
    pub fn unchecked(sql: &str) -> Predicate {
        Predicate(sql.to_string())
    }
}

/// The table being previewed: its name (and schema) and its columns, as the database
/// spells them.
pub struct Scope<'a> {
    pub schema: Option<&'a str>,
    pub table: &'a str,
    pub columns: &'a [String],
}

/// Functions without side effects that users reach for in filters. Matched on the
/// unqualified, lower-cased name; a schema-qualified name is never a call we allow.
const PURE_FUNCTIONS: &[&str] = &[
    // text
    "lower",
    "upper",
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "len",
    "trim",
    "ltrim",
    "rtrim",
    "btrim",
    "substr",
    "substring",
    "left",
    "right",
    "replace",
    "concat",
    "concat_ws",
    "lpad",
    "rpad",
    "reverse",
    "strpos",
    "instr",
    "charindex",
    "locate",
    "initcap",
    "split_part",
    "starts_with",
    "md5",
    // numbers
    "abs",
    "round",
    "floor",
    "ceil",
    "ceiling",
    "mod",
    "power",
    "pow",
    "sqrt",
    "sign",
    "trunc",
    "truncate",
    "greatest",
    "least",
    // nulls
    "coalesce",
    "nullif",
    "ifnull",
    "isnull",
    "nvl",
    "iif",
    "if",
    // dates and times
    "date",
    "time",
    "datetime",
    "date_trunc",
    "date_part",
    "year",
    "month",
    "day",
    "dayofweek",
    "dayofmonth",
    "dayofyear",
    "hour",
    "minute",
    "second",
    "week",
    "quarter",
    "to_char",
    "to_date",
    "to_timestamp",
    "date_format",
    "str_to_date",
    "datediff",
    "dateadd",
    "datepart",
    "date_add",
    "date_sub",
    "strftime",
    "julianday",
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtimestamp",
    "getdate",
    "getutcdate",
    "sysdatetime",
    "curdate",
    "curtime",
    "utc_timestamp",
    "age",
    "make_date",
    "unixepoch",
];

/// Types a CAST may target: plain scalars (no regclass-style lookups, no composites).
const CAST_TYPES: &[&str] = &[
    "INT",
    "INTEGER",
    "BIGINT",
    "SMALLINT",
    "TINYINT",
    "NUMERIC",
    "DECIMAL",
    "REAL",
    "FLOAT",
    "DOUBLE",
    "TEXT",
    "VARCHAR",
    "NVARCHAR",
    "CHAR",
    "NCHAR",
    "CHARACTER",
    "STRING",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "DATETIME",
    "DATETIME2",
    "BOOLEAN",
    "BOOL",
    "BIT",
    "SIGNED",
    "UNSIGNED",
    "UUID",
    "MONEY",
    "INTERVAL",
];

/// Date parts SQL Server's DATEADD / DATEDIFF / DATEPART take as a bare first argument.
const DATE_PARTS: &[&str] = &[
    "year",
    "yy",
    "yyyy",
    "quarter",
    "qq",
    "q",
    "month",
    "mm",
    "m",
    "dayofyear",
    "dy",
    "y",
    "day",
    "dd",
    "d",
    "week",
    "wk",
    "ww",
    "weekday",
    "dw",
    "hour",
    "hh",
    "minute",
    "mi",
    "n",
    "second",
    "ss",
    "s",
    "millisecond",
    "ms",
    "microsecond",
    "mcs",
    "nanosecond",
    "ns",
];

/// Niladic SQL keywords that parse as identifiers in some dialects.
const NILADIC: &[&str] = &[
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
];

/// Checks `fragment` in `dialect` against the previewed table.
pub fn sanitize(
    fragment: &str,
    dialect: Dialect,
    scope: &Scope<'_>,
) -> Result<Predicate, Rejection> {
    let text = fragment.trim();
    if text.is_empty() {
        return Err(reject(
            "",
            "the condition is empty; a filter needs one condition",
        ));
    }
    if text.len() > MAX_FRAGMENT {
        return Err(reject(
            &text[..text.char_indices().nth(40).map_or(text.len(), |(i, _)| i)],
            format!("the condition is longer than {MAX_FRAGMENT} bytes"),
        ));
    }
    let expr = parse_one(text, dialect)?;
    if let Expr::Value(v) = &expr {
        if !matches!(v.value, Value::Boolean(_)) {
            return Err(reject(
                &expr,
                "a condition is needed, e.g. status = 'shipped' or total > 100",
            ));
        }
    }
    let walker = Walker { scope, dialect };
    walker.expr(&expr)?;
    // What runs is the re-rendered text, so it must read back as the same condition:
    // `-\n+5` renders as `-+5`, which PostgreSQL reads as one operator. Check the
    // rendering itself, and require it to be a fixed point.
    let rendered = expr.to_string();
    let ambiguous = || {
        reject(
            &rendered,
            "this condition does not read back the same once normalised; add parentheses or spaces, e.g. -(+5)",
        )
    };
    let again = parse_one(&rendered, dialect).map_err(|_| ambiguous())?;
    walker.expr(&again)?;
    if again.to_string() != rendered {
        return Err(ambiguous());
    }
    Ok(Predicate(rendered))
}

/// Exactly one expression in `text`: no comments, no `;`, nothing after it.
fn parse_one(text: &str, dialect: Dialect) -> Result<Expr, Rejection> {
    let d = dialect.parser_dialect();
    let tokens = Tokenizer::new(d.as_ref(), text).tokenize().map_err(|e| {
        reject(
            text,
            format!("cannot read the condition: {}", mask_strings(&e.message)),
        )
    })?;
    let mut depth = 0usize;
    // Parts of the dotted name being read (`schema.table.column` is 3); long chains are
    // another shape the fuzzer found sqlparser backtracking over.
    let mut parts = 0usize;
    let mut after_period = false;
    for t in &tokens {
        match t {
            Token::Whitespace(_) => {}
            Token::Period => after_period = true,
            Token::Word(_) => {
                parts = if after_period { parts + 1 } else { 1 };
                after_period = false;
                if parts > 3 {
                    return Err(reject(
                        text,
                        "a name has at most three parts (schema.table.column)",
                    ));
                }
            }
            _ => {
                parts = 0;
                after_period = false;
            }
        }
        match t {
            Token::LParen | Token::LBracket | Token::LBrace => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(reject(
                        text,
                        format!("the condition nests parentheses more than {MAX_NESTING} deep; simplify it"),
                    ));
                }
            }
            Token::RParen | Token::RBracket | Token::RBrace => depth = depth.saturating_sub(1),
            // MySQL reads `8$z` or `.8$$` as identifiers, and sqlparser backtracks
            // exponentially over runs of them (found by the fuzzer); no real column name
            // needs that spelling unquoted.
            Token::Word(w)
                if w.quote_style.is_none()
                    && !w.value.starts_with(|c: char| c.is_alphabetic() || c == '_') =>
            {
                return Err(reject(
                    &w.value,
                    "not a name: unquoted names start with a letter or `_`; quote a column whose name starts otherwise",
                ));
            }
            Token::Whitespace(Whitespace::SingleLineComment { prefix, .. }) => {
                return Err(reject(prefix, "comments are not allowed in a condition"))
            }
            Token::Whitespace(Whitespace::MultiLineComment(_)) => {
                return Err(reject("/*", "comments are not allowed in a condition"))
            }
            Token::SemiColon => {
                return Err(reject(
                    ";",
                    "only one condition is allowed: no `;` outside quotes",
                ))
            }
            _ => {}
        }
    }
    let tokens = match dialect {
        Dialect::MySql | Dialect::Sqlite => group_json_paths(tokens),
        Dialect::Postgres | Dialect::MsSql => tokens,
    };
    let mut parser = Parser::new(d.as_ref())
        .with_recursion_limit(40)
        .with_tokens(tokens);
    let expr = parser.parse_expr().map_err(|e| {
        reject(
            text,
            format!("not a valid condition: {}", parser_message(&e)),
        )
    })?;
    let rest = parser.peek_token();
    if rest.token != Token::EOF {
        return Err(reject(
            rest.token.to_string(),
            "unexpected text after the condition: give exactly one condition (combine with AND / OR)",
        ));
    }
    Ok(expr)
}

/// `column -> 'path'` and `column ->> 'path'` in parentheses. MySQL and SQLite bind these
/// tighter than any comparison (in MySQL they exist only in this form), but sqlparser
/// gives them a low precedence in those dialects and would read `meta->>'$.a' = 'x'` as
/// `meta ->> ('$.a' = 'x')`; grouped, the tree is what the database reads, and the
/// rendering says so with its parentheses.
fn group_json_paths(tokens: Vec<Token>) -> Vec<Token> {
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i], Token::Whitespace(_)))
        .collect();
    let mut opens = Vec::new();
    let mut closes = Vec::new();
    for k in 1..significant.len().saturating_sub(1) {
        let (op, key) = (&tokens[significant[k]], &tokens[significant[k + 1]]);
        if !matches!(op, Token::Arrow | Token::LongArrow)
            || !matches!(key, Token::SingleQuotedString(_))
        {
            continue;
        }
        // The column before it: `name`, `table.name` or `schema.table.name`.
        let mut start = k - 1;
        if !matches!(tokens[significant[start]], Token::Word(_)) {
            continue;
        }
        while start >= 2
            && tokens[significant[start - 1]] == Token::Period
            && matches!(tokens[significant[start - 2]], Token::Word(_))
        {
            start -= 2;
        }
        // Only where an operand may start, so grouping never makes a call or a list of
        // text the user did not write (`lower meta ->> 'x'` stays an error).
        let before = start.checked_sub(1).map(|b| &tokens[significant[b]]);
        if !before.is_none_or(operand_may_follow) {
            continue;
        }
        // Already grouped (as a rendering is): leave it.
        let before = start.checked_sub(1).map(|b| &tokens[significant[b]]);
        let after = significant.get(k + 2).map(|&a| &tokens[a]);
        if before == Some(&Token::LParen) && after == Some(&Token::RParen) {
            continue;
        }
        opens.push(significant[start]);
        closes.push(significant[k + 1]);
    }
    let mut out = Vec::with_capacity(tokens.len() + 2 * opens.len());
    for (i, t) in tokens.into_iter().enumerate() {
        if opens.contains(&i) {
            out.push(Token::LParen);
        }
        out.push(t);
        if closes.contains(&i) {
            out.push(Token::RParen);
        }
    }
    out
}

/// Whether an operand may start right after `t`: an opening parenthesis, a comma, an
/// operator, or a keyword that takes an operand.
fn operand_may_follow(t: &Token) -> bool {
    match t {
        Token::LParen
        | Token::Comma
        | Token::Eq
        | Token::DoubleEq
        | Token::Neq
        | Token::Lt
        | Token::Gt
        | Token::LtEq
        | Token::GtEq
        | Token::Spaceship
        | Token::Plus
        | Token::Minus
        | Token::Mul
        | Token::Div
        | Token::Mod
        | Token::StringConcat => true,
        Token::Word(w) if w.quote_style.is_none() => matches!(
            w.value.to_ascii_uppercase().as_str(),
            "AND" | "OR" | "NOT" | "XOR" | "WHEN" | "THEN" | "ELSE" | "CASE" | "BETWEEN" | "LIKE"
        ),
        _ => false,
    }
}

/// sqlparser's message, which quotes the token it stopped at (a string literal too).
fn parser_message(e: &sqlparser::parser::ParserError) -> String {
    let s = e.to_string();
    mask_strings(s.strip_prefix("sql parser error: ").unwrap_or(&s))
}

struct Walker<'a> {
    scope: &'a Scope<'a>,
    dialect: Dialect,
}

impl Walker<'_> {
    fn exprs<'e>(&self, es: impl IntoIterator<Item = &'e Expr>) -> Result<(), Rejection> {
        es.into_iter().try_for_each(|e| self.expr(e))
    }

    fn column(&self, ident: &sqlparser::ast::Ident, whole: &Expr) -> Result<(), Rejection> {
        let found = self.scope.columns.iter().any(|c| match ident.quote_style {
            Some(_) => *c == ident.value,
            None => c.eq_ignore_ascii_case(&ident.value),
        });
        if found {
            return Ok(());
        }
        if ident.quote_style.is_none()
            && NILADIC.contains(&ident.value.to_ascii_lowercase().as_str())
        {
            return Ok(());
        }
        Err(reject(
            whole,
            format!(
                "`{}` is not a column of {}; columns: {}",
                ident.value,
                self.scope.table,
                preview_list(self.scope.columns)
            ),
        ))
    }

    fn qualifier_matches(&self, parts: &[sqlparser::ast::Ident]) -> bool {
        let eq = |i: &sqlparser::ast::Ident, name: &str| match i.quote_style {
            Some(_) => i.value == name,
            None => i.value.eq_ignore_ascii_case(name),
        };
        match parts {
            [t] => eq(t, self.scope.table),
            [s, t] => {
                self.scope.schema.is_some_and(|schema| eq(s, schema)) && eq(t, self.scope.table)
            }
            _ => false,
        }
    }

    fn expr(&self, e: &Expr) -> Result<(), Rejection> {
        match e {
            Expr::Identifier(i) => self.column(i, e),
            Expr::CompoundIdentifier(parts) => {
                let (col, qual) = parts.split_last().expect("compound identifiers have parts");
                if !self.qualifier_matches(qual) {
                    return Err(reject(
                        e,
                        format!(
                            "only columns of {} may be used; other tables are not allowed",
                            self.scope.table
                        ),
                    ));
                }
                self.column(col, e)
            }
            Expr::Value(v) => match &v.value {
                Value::Placeholder(p) => Err(reject(
                    p,
                    "parameters are not allowed; write the value itself",
                )),
                _ => Ok(()),
            },
            Expr::TypedString(_) => Ok(()),
            Expr::Nested(inner) => self.expr(inner),
            Expr::IsFalse(x)
            | Expr::IsNotFalse(x)
            | Expr::IsTrue(x)
            | Expr::IsNotTrue(x)
            | Expr::IsNull(x)
            | Expr::IsNotNull(x)
            | Expr::IsUnknown(x)
            | Expr::IsNotUnknown(x) => self.expr(x),
            Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => self.exprs([&**a, &**b]),
            Expr::InList { expr, list, .. } => {
                self.expr(expr)?;
                self.exprs(list)
            }
            Expr::Between {
                expr, low, high, ..
            } => self.exprs([&**expr, &**low, &**high]),
            Expr::BinaryOp { left, op, right } if json_access(op) => {
                self.json_access(left, op, right)
            }
            Expr::BinaryOp { left, op, right } => {
                if !binary_allowed(op) {
                    return Err(reject(
                        op,
                        format!("the operator `{op}` is not allowed in a preview filter"),
                    ));
                }
                self.exprs([&**left, &**right])
            }
            Expr::Like {
                any: false,
                expr,
                pattern,
                ..
            }
            | Expr::ILike {
                any: false,
                expr,
                pattern,
                ..
            } => self.exprs([&**expr, &**pattern]),
            Expr::UnaryOp { op, expr } => match op {
                UnaryOperator::Not | UnaryOperator::Minus | UnaryOperator::Plus => self.expr(expr),
                other => Err(reject(
                    other,
                    "this operator is not allowed in a preview filter",
                )),
            },
            Expr::Cast {
                kind,
                expr,
                data_type,
                format,
                ..
            } => {
                if format.is_some() {
                    return Err(reject(e, "CAST … FORMAT is not allowed"));
                }
                if !matches!(
                    kind,
                    CastKind::Cast | CastKind::TryCast | CastKind::SafeCast | CastKind::DoubleColon
                ) {
                    return Err(reject(e, "this kind of cast is not allowed"));
                }
                cast_type_allowed(data_type, e)?;
                self.expr(expr)
            }
            Expr::AtTimeZone {
                timestamp,
                time_zone,
            } => self.exprs([&**timestamp, &**time_zone]),
            Expr::Extract { expr, .. } | Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => {
                self.expr(expr)
            }
            Expr::Position { expr, r#in } => self.exprs([&**expr, &**r#in]),
            Expr::Substring {
                expr,
                substring_from,
                substring_for,
                ..
            } => {
                self.expr(expr)?;
                self.exprs(substring_from.iter().chain(substring_for).map(|b| &**b))
            }
            Expr::Trim {
                expr,
                trim_what,
                trim_characters,
                ..
            } => {
                self.expr(expr)?;
                self.exprs(trim_what.iter().map(|b| &**b))?;
                self.exprs(trim_characters.iter().flatten())
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                self.exprs(operand.iter().map(|b| &**b))?;
                for c in conditions {
                    self.exprs([&c.condition, &c.result])?;
                }
                self.exprs(else_result.iter().map(|b| &**b))
            }
            Expr::Tuple(items) => self.exprs(items),
            Expr::Interval(i) => self.expr(&i.value),
            Expr::Function(f) => self.function(f, e),
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => Err(reject(
                e,
                "subqueries are not allowed; filter on this table's own columns",
            )),
            Expr::Like { .. } | Expr::ILike { .. } | Expr::AnyOp { .. } | Expr::AllOp { .. } => {
                Err(reject(
                    e,
                    "ANY / ALL are not allowed; use IN (…) with a list of values",
                ))
            }
            Expr::Collate { .. } => Err(reject(e, "COLLATE is not allowed in a preview filter")),
            Expr::SimilarTo { .. } | Expr::RLike { .. } => {
                Err(reject(e, "SIMILAR TO / RLIKE are not allowed; use LIKE"))
            }
            other => Err(reject(
                other,
                "this kind of expression is not allowed in a preview filter",
            )),
        }
    }

    /// `doc -> key`, `doc ->> key` (PostgreSQL, MySQL/MariaDB) and `doc #> path`,
    /// `doc #>> path` (PostgreSQL): the document is any allowed expression, the key or
    /// path a plain literal only (a string, or on PostgreSQL an array index).
    fn json_access(&self, doc: &Expr, op: &BinaryOperator, key: &Expr) -> Result<(), Rejection> {
        use BinaryOperator::*;
        let allowed = match self.dialect {
            Dialect::Postgres => true,
            Dialect::MySql | Dialect::Sqlite => matches!(op, Arrow | LongArrow),
            Dialect::MsSql => false,
        };
        if !allowed {
            return Err(reject(
                op,
                format!("the operator `{op}` is not JSON access in this database; use JSON_VALUE(column, '$.key') where it has it"),
            ));
        }
        // MySQL reads `->` only after a column, and sqlparser's precedence for it in
        // MySQL and SQLite is not the database's: only `column -> 'key'`, which
        // `group_json_paths` has put in parentheses, is read the same by both.
        if matches!(self.dialect, Dialect::MySql | Dialect::Sqlite)
            && !matches!(doc, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
        {
            return Err(reject(
                doc,
                format!("`{op}` must follow a column here, as in meta->>'$.plan'"),
            ));
        }
        let literal = match &key {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(_) => true,
                Value::Number(n, _) => {
                    self.dialect == Dialect::Postgres
                        && matches!(op, Arrow | LongArrow)
                        && n.chars().all(|c| c.is_ascii_digit())
                }
                _ => false,
            },
            _ => false,
        };
        if !literal {
            return Err(reject(
                key,
                format!("the key after `{op}` must be a plain literal: a quoted key or path such as 'seats' or '$.seats'"),
            ));
        }
        self.expr(doc)
    }

    /// MySQL/MariaDB `JSON_EXTRACT(doc, '$.a', …)`, `JSON_VALUE(doc, '$.a')`,
    /// `JSON_UNQUOTE(x)`, SQL Server `JSON_VALUE(doc, '$.a')`: paths are plain string
    /// literals. `None` when `name` is not a JSON function of this dialect.
    fn json_function(
        &self,
        name: &str,
        args: &[&Expr],
        whole: &Expr,
    ) -> Option<Result<(), Rejection>> {
        let known = match self.dialect {
            Dialect::MySql => matches!(name, "json_extract" | "json_value" | "json_unquote"),
            Dialect::MsSql => name == "json_value",
            Dialect::Postgres | Dialect::Sqlite => false,
        };
        if !known {
            return None;
        }
        let arity_ok = match name {
            "json_unquote" => args.len() == 1,
            "json_value" => args.len() == 2,
            _ => args.len() >= 2 && args.len() <= 10,
        };
        if !arity_ok {
            return Some(Err(reject(
                whole,
                format!("`{name}` takes a document and its path(s) here"),
            )));
        }
        let (doc, paths) = args.split_first()?;
        for p in paths {
            let plain =
                matches!(p, Expr::Value(v) if matches!(v.value, Value::SingleQuotedString(_)));
            if !plain {
                return Some(Err(reject(
                    *p,
                    format!("a path in `{name}` must be a quoted literal such as '$.seats'"),
                )));
            }
        }
        Some(self.expr(doc))
    }

    fn function(&self, f: &Function, whole: &Expr) -> Result<(), Rejection> {
        let name =
            match f.name.0.as_slice() {
                [ObjectNamePart::Identifier(i)] => i.value.to_ascii_lowercase(),
                _ => return Err(reject(
                    &f.name,
                    "qualified function names are not allowed; call the function by its plain name",
                )),
            };
        if let FunctionArguments::List(list) = &f.args {
            let plain: Option<Vec<&Expr>> = list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Some(x),
                    _ => None,
                })
                .collect();
            let clean = f.filter.is_none()
                && f.over.is_none()
                && f.within_group.is_empty()
                && matches!(f.parameters, FunctionArguments::None)
                && list.duplicate_treatment.is_none()
                && list.clauses.is_empty();
            if let (Some(args), true) = (plain, clean) {
                if let Some(checked) = self.json_function(&name, &args, whole) {
                    return checked;
                }
            }
        }
        if !PURE_FUNCTIONS.contains(&name.as_str()) {
            return Err(reject(
                whole,
                format!("`{name}` is not an allowed function; allowed are pure functions such as lower, upper, coalesce, round, date_trunc, extract"),
            ));
        }
        if f.filter.is_some() || f.over.is_some() || !f.within_group.is_empty() {
            return Err(reject(whole, "aggregate or window clauses are not allowed"));
        }
        if !matches!(f.parameters, FunctionArguments::None) {
            return Err(reject(whole, "this call form is not allowed"));
        }
        match &f.args {
            FunctionArguments::None => Ok(()),
            FunctionArguments::Subquery(_) => Err(reject(whole, "subqueries are not allowed")),
            FunctionArguments::List(list) => {
                if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                    return Err(reject(
                        whole,
                        "DISTINCT, ORDER BY and other clauses are not allowed in a call",
                    ));
                }
                let takes_date_part = matches!(name.as_str(), "dateadd" | "datediff" | "datepart");
                for (i, a) in list.args.iter().enumerate() {
                    if let (
                        0,
                        true,
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(part))),
                    ) = (i, takes_date_part, a)
                    {
                        if part.quote_style.is_none()
                            && DATE_PARTS.contains(&part.value.to_ascii_lowercase().as_str())
                        {
                            continue;
                        }
                    }
                    let arg = match a {
                        FunctionArg::Unnamed(arg) => arg,
                        FunctionArg::Named { arg, .. } | FunctionArg::ExprNamed { arg, .. } => arg,
                    };
                    match arg {
                        FunctionArgExpr::Expr(x) => self.expr(x)?,
                        _ => return Err(reject(whole, "`*` is not allowed as an argument")),
                    }
                }
                Ok(())
            }
        }
    }
}

/// The JSON access operators ([`Walker::json_access`] decides per dialect).
fn json_access(op: &BinaryOperator) -> bool {
    use BinaryOperator::*;
    matches!(op, Arrow | LongArrow | HashArrow | HashLongArrow)
}

fn binary_allowed(op: &BinaryOperator) -> bool {
    use BinaryOperator::*;
    matches!(
        op,
        Plus | Minus
            | Multiply
            | Divide
            | Modulo
            | StringConcat
            | Gt
            | Lt
            | GtEq
            | LtEq
            | Spaceship
            | Eq
            | NotEq
            | And
            | Or
            | Xor
            | BitwiseOr
            | BitwiseAnd
            | BitwiseXor
            | MyIntegerDivide
            | PGRegexMatch
            | PGRegexIMatch
            | PGRegexNotMatch
            | PGRegexNotIMatch
            | PGLikeMatch
            | PGILikeMatch
            | PGNotLikeMatch
            | PGNotILikeMatch
    )
}

fn cast_type_allowed(t: &DataType, whole: &Expr) -> Result<(), Rejection> {
    let shown = t.to_string().to_ascii_uppercase();
    let head = shown
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .unwrap_or("");
    if CAST_TYPES.contains(&head) {
        Ok(())
    } else {
        Err(reject(
            whole,
            format!("CAST to {shown} is not allowed; cast to a plain type such as integer, numeric, text, date or timestamp"),
        ))
    }
}

fn preview_list(cols: &[String]) -> String {
    let mut s = cols.iter().take(20).cloned().collect::<Vec<_>>().join(", ");
    if cols.len() > 20 {
        s.push_str(&format!(", … ({} in all)", cols.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<String> {
        ["id", "status", "total"].map(String::from).to_vec()
    }

    fn check(s: &str) -> Result<Predicate, Rejection> {
        let c = cols();
        sanitize(
            s,
            Dialect::Postgres,
            &Scope {
                schema: Some("public"),
                table: "orders",
                columns: &c,
            },
        )
    }

    #[test]
    fn renders_from_the_tree() {
        assert_eq!(check("status='a;b'").unwrap().sql(), "status = 'a;b'");
        assert_eq!(
            check("orders.total >= 10 AND NOT id IN (1,2)")
                .unwrap()
                .sql(),
            "orders.total >= 10 AND NOT id IN (1, 2)"
        );
    }

    #[test]
    fn a_rendering_that_reads_differently_is_refused() {
        // Found by the fuzzer: `-\n+5` renders as `-+5`, one PostgreSQL operator.
        let r = check("id = -\n+5").unwrap_err();
        assert!(r.reason.contains("does not read back the same"), "{r}");
        assert_eq!(check("id = -(+5)").unwrap().sql(), "id = -(+5)");
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let nested = |n: usize| format!("{}status{} = 'a'", "lower(".repeat(n), ")".repeat(n));
        assert!(check(&nested(MAX_NESTING)).is_ok());
        let r = check(&nested(MAX_NESTING + 1)).unwrap_err();
        assert!(r.reason.contains("nests parentheses"), "{r}");
    }

    #[test]
    fn odd_unquoted_names_are_refused_before_parsing() {
        let c = cols();
        let scope = Scope {
            schema: None,
            table: "orders",
            columns: &c,
        };
        // Found by the fuzzer: slow to parse as MySQL.
        let r = sanitize("$$<.8$$.8$z.6$$.8", Dialect::MySql, &scope).unwrap_err();
        assert!(r.reason.contains("not a name"), "{r}");
        assert!(
            sanitize("`1total` > 0", Dialect::MySql, &scope).is_err(),
            "unknown column, but parsed"
        );
        // Also found by the fuzzer: long dotted chains.
        let r = sanitize("a.b.c.d = 1", Dialect::Postgres, &scope).unwrap_err();
        assert!(r.reason.contains("at most three parts"), "{r}");
    }

    #[test]
    fn names_the_offending_part() {
        let r = check("pg_sleep(10) IS NULL").unwrap_err();
        assert_eq!(r.part, "pg_sleep(10)");
        let r = check("id = 1; DROP TABLE orders").unwrap_err();
        assert_eq!(r.part, ";");
        let r = check("secret = 1").unwrap_err();
        assert!(r.reason.contains("not a column"), "{r}");
    }

    #[test]
    fn rejections_never_echo_a_string_literal() {
        for (fragment, part) in [
            ("'zz_Lit_7f3a'", "'…'"),
            (
                "CAST('zz_Lit_7f3a' AS regclass) IS NULL",
                "CAST('…' AS REGCLASS)",
            ),
            ("status = 'it''s zz_Lit_7f3a'; DROP", ";"),
            ("status = 'zz_Lit_7f3a", "status = '…"),
            ("status = = 'zz_Lit_7f3a'", "status = = '…'"),
            ("pg_sleep(10) = 'zz_Lit_7f3a'", "pg_sleep(10)"),
        ] {
            let r = check(fragment).unwrap_err();
            assert_eq!(r.part, part, "{fragment}: {r}");
            assert!(!r.to_string().contains("zz_Lit"), "{fragment}: {r}");
        }
        assert_eq!(
            mask_strings(r"a = 'x\'y' AND b = E'z'"),
            r"a = '…' AND b = E'…'"
        );
    }
}
