//! The package compiled to DataFusion logical plans, component by component in graph
//! order, so every column reference and expression is checked against the schema that
//! actually reaches it. What a component cannot plan is reported on the component and
//! property at fault; everything downstream of it (or of a source whose schema is
//! unknown) is skipped rather than reported again.
//!
//! Columns keep the qualifier of the source component that read them (`orders.id`);
//! computed columns have none. Execution (next) runs these same plans.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, DFSchema, DataFusionError, SchemaError, TableReference};
use datafusion::functions::math::expr_fn::random;
use datafusion::functions_window::expr_fn::{dense_rank, percent_rank, rank, row_number};
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;
use datafusion::logical_expr::utils::{expr_to_columns, find_aggregate_exprs, find_window_exprs};
use datafusion::logical_expr::{
    lit, Expr, ExprFunctionExt, ExprSchemable, JoinType, LogicalPlan, LogicalPlanBuilder,
    LogicalTableSource, SortExpr,
};

use super::sql::{self, Problem};
use super::structure::Graph;
use crate::components::properties as p;
use crate::finding::Finding;
use crate::package::{Component, Package, Spec};

/// Each component's output plan (a destination's is what it writes); `None` where it could
/// not be planned.
pub(crate) fn compile(
    package: &Package,
    graph: &Graph,
    sources: &HashMap<usize, SchemaRef>,
    findings: &mut Vec<Finding>,
) -> Vec<Option<LogicalPlan>> {
    let mut plans: Vec<Option<LogicalPlan>> = vec![None; package.components.len()];
    for &i in &graph.order {
        let c = &package.components[i];
        let arity = c.kind().inputs();
        let n = graph.inputs[i].len() as u32;
        if n < arity.min || arity.max.is_some_and(|m| n > m) {
            continue; // reported by the structural checks
        }
        let inputs: Option<Vec<Input>> = graph.inputs[i]
            .iter()
            .map(|&j| {
                plans[j].clone().map(|plan| Input {
                    name: package.components[j].name.as_str(),
                    plan,
                })
            })
            .collect();
        let Some(inputs) = inputs else { continue };
        let mut at = At { c, findings };
        plans[i] = at.plan(&inputs, sources.get(&i));
    }
    plans
}

struct Input<'a> {
    /// The upstream component's name.
    name: &'a str,
    plan: LogicalPlan,
}

/// Planning one component, reporting on it.
struct At<'a, 'f> {
    c: &'a Component,
    findings: &'f mut Vec<Finding>,
}

impl At<'_, '_> {
    fn report(&mut self, property: Option<&str>, p: Problem) {
        let message = match property {
            Some(prop) if !p.message.starts_with('`') => format!("`{prop}`: {}", p.message),
            _ => p.message,
        };
        self.findings
            .push(Finding::error(&self.c.name, property, message, p.fix));
    }

    fn df(&mut self, property: Option<&str>, e: DataFusionError, schema: &DFSchema) {
        let schema_error = match e.find_root() {
            DataFusionError::SchemaError(s, _) => Some(s.as_ref()),
            _ => None,
        };
        let p = match schema_error {
            Some(SchemaError::DuplicateQualifiedField { qualifier, name }) => Problem::new(
                format!("two columns reach it as `{qualifier}.{name}`"),
                "rename one of them with a select component first (both inputs read from the same source?)",
            ),
            Some(SchemaError::DuplicateUnqualifiedField { name }) => Problem::new(
                format!("two columns are named `{name}`"),
                "give each output column its own name (`expression AS name`)",
            ),
            _ => sql::problem(&e, schema),
        };
        self.report(property, p);
    }

    /// Parses every text of a property; reports each that fails. `None` if any did.
    fn exprs(
        &mut self,
        property: &str,
        texts: &[String],
        schema: &DFSchema,
    ) -> Option<Vec<(Expr, Option<String>)>> {
        let mut out = Vec::with_capacity(texts.len());
        let mut ok = true;
        for t in texts {
            match sql::expr(t, schema) {
                Ok(e) => out.push(e),
                Err(p) => {
                    self.report(Some(property), p);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn sorts(
        &mut self,
        property: &str,
        texts: &[String],
        schema: &DFSchema,
    ) -> Option<Vec<SortExpr>> {
        let mut out = Vec::with_capacity(texts.len());
        let mut ok = true;
        for t in texts {
            match sql::sort(t, schema) {
                Ok(s) if self.plain(property, &s.expr) => out.push(s),
                Ok(_) => ok = false,
                Err(p) => {
                    self.report(Some(property), p);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// No aggregate or window function where rows are taken one at a time.
    fn plain(&mut self, property: &str, e: &Expr) -> bool {
        if !find_aggregate_exprs(std::iter::once(e)).is_empty() {
            self.report(
                Some(property),
                Problem::new(
                    "uses an aggregate function, which only an aggregate component computes",
                    "move it to an aggregate component's measures, or use a window component for a running value",
                ),
            );
            return false;
        }
        if !find_window_exprs(std::iter::once(e)).is_empty() {
            self.report(
                Some(property),
                Problem::new(
                    "uses a window function (OVER …), which only window and rank components compute",
                    "move it to a window component",
                ),
            );
            return false;
        }
        true
    }

    fn boolean(&mut self, property: &str, e: &Expr, schema: &DFSchema) -> bool {
        match e.get_type(schema) {
            Ok(DataType::Boolean | DataType::Null) => true,
            Ok(t) => {
                self.report(
                    Some(property),
                    Problem::new(
                        format!("is of type {t}, not a boolean condition"),
                        "write a condition, e.g. `total > 0` or `status = 'paid'`",
                    ),
                );
                false
            }
            Err(e) => {
                self.df(Some(property), e, schema);
                false
            }
        }
    }

    fn condition(&mut self, property: &str, text: &str, schema: &DFSchema) -> Option<Expr> {
        match sql::expr(text, schema) {
            Ok((e, _)) => {
                (self.plain(property, &e) && self.boolean(property, &e, schema)).then_some(e)
            }
            Err(p) => {
                self.report(Some(property), p);
                None
            }
        }
    }

    fn build(
        &mut self,
        property: Option<&str>,
        schema: &DFSchema,
        r: Result<LogicalPlanBuilder, DataFusionError>,
    ) -> Option<LogicalPlan> {
        match r.and_then(|b| b.build()) {
            Ok(plan) => Some(plan),
            Err(e) => {
                self.df(property, e, schema);
                None
            }
        }
    }

    fn plan(&mut self, inputs: &[Input], source: Option<&SchemaRef>) -> Option<LogicalPlan> {
        let spec = &self.c.spec;
        if let Spec::DatabaseSource(_) | Spec::FileSource(_) = spec {
            return self.scan(source?);
        }
        let first = inputs.first()?;
        let input = first.plan.clone();
        let schema = Arc::clone(input.schema());
        let from = || LogicalPlanBuilder::from(input.clone());
        match spec {
            Spec::Select(s) => self.select(input.clone(), s),
            Spec::Filter(s) => {
                let e = self.condition("predicate", &s.predicate, &schema)?;
                self.build(Some("predicate"), &schema, from().filter(e))
            }
            Spec::Sort(s) => {
                let sorts = self.sorts("order_by", &s.order_by, &schema)?;
                self.build(Some("order_by"), &schema, from().sort(sorts))
            }
            Spec::Aggregate(s) => self.aggregate(input.clone(), s),
            Spec::Join(s) => self.join(&inputs[0], &inputs[1], s),
            Spec::CrossJoin(_) => {
                let right = inputs[1].plan.clone();
                self.build(None, &schema, from().cross_join(right))
            }
            Spec::Union(s) => self.union(inputs, s),
            Spec::Limit(s) => {
                let (Ok(skip), Ok(fetch)) = (usize::try_from(s.offset), usize::try_from(s.count))
                else {
                    self.report(
                        Some("count"),
                        Problem::new("is too large", "use a smaller count"),
                    );
                    return None;
                };
                self.build(Some("count"), &schema, from().limit(skip, Some(fetch)))
            }
            Spec::Distinct(s) => match &s.columns {
                None => self.build(None, &schema, from().distinct()),
                Some(cols) => {
                    let exprs = self.exprs("columns", cols, &schema)?;
                    let exprs = exprs
                        .into_iter()
                        .map(|(e, a)| with_alias(e, a))
                        .collect::<Vec<_>>();
                    self.build(
                        Some("columns"),
                        &schema,
                        from().project(exprs).and_then(|b| b.distinct()),
                    )
                }
            },
            Spec::Window(s) => self.window(input.clone(), s),
            Spec::Rank(s) => self.rank(input.clone(), s),
            Spec::Sample(s) => {
                if !(s.fraction > 0.0 && s.fraction <= 1.0) {
                    self.report(
                        Some("fraction"),
                        Problem::new(
                            "must be above 0 and at most 1",
                            "e.g. 0.1 keeps about one row in ten",
                        ),
                    );
                    return None;
                }
                self.build(
                    Some("fraction"),
                    &schema,
                    from().filter(random().lt(lit(s.fraction))),
                )
            }
            Spec::Clone(_) => Some(input),
            Spec::Assert(s) => {
                self.condition("condition", &s.condition, &schema)?;
                Some(input)
            }
            Spec::DatabaseDestination(d) => self.database_destination(input, d),
            Spec::FileDestination(d) => {
                if d.record_type != p::RecordType::Delimited && d.delimiter.is_some() {
                    self.findings.push(Finding::warning(
                        &self.c.name,
                        Some("delimiter"),
                        "only delimited files have a delimiter; it is ignored",
                        "remove `delimiter`, or set record_type to delimited",
                    ));
                }
                self.unique_names(&input)?;
                Some(input)
            }
            Spec::DatabaseSource(_)
            | Spec::FileSource(_)
            | Spec::RunPackage(_)
            | Spec::SqlStatement(_) => None,
        }
    }

    fn scan(&mut self, schema: &SchemaRef) -> Option<LogicalPlan> {
        let table = Arc::new(LogicalTableSource::new(Arc::clone(schema)));
        let property = match &self.c.spec {
            Spec::FileSource(f) if f.schema.is_some() => "schema",
            Spec::FileSource(_) => "path",
            Spec::DatabaseSource(d) if d.query.is_some() => "query",
            _ => "table",
        };
        let r = LogicalPlanBuilder::scan(TableReference::bare(self.c.name.as_str()), table, None);
        self.build(Some(property), &DFSchema::empty(), r)
    }

    fn select(&mut self, input: LogicalPlan, s: &p::Select) -> Option<LogicalPlan> {
        let schema = Arc::clone(input.schema());
        let mut exprs = Vec::new();
        let mut ok = true;
        for text in &s.fields {
            let t = text.trim();
            if t == "*" {
                exprs.extend(schema.columns().into_iter().map(Expr::Column));
                continue;
            }
            if let Some(q) = t.strip_suffix(".*") {
                let q = q.trim().trim_matches('"');
                let cols: Vec<Expr> = schema
                    .iter()
                    .filter(|(fq, _)| fq.is_some_and(|fq| fq.table() == q))
                    .map(|(fq, f)| Expr::Column(Column::new(fq.cloned(), f.name())))
                    .collect();
                if cols.is_empty() {
                    self.report(
                        Some("fields"),
                        Problem::new(
                            format!("no input columns come from `{q}`"),
                            "use `*`, or the name of the source component the columns come from",
                        ),
                    );
                    ok = false;
                }
                exprs.extend(cols);
                continue;
            }
            match sql::expr(t, &schema) {
                Ok((e, alias)) if self.plain("fields", &e) => exprs.push(with_alias(e, alias)),
                Ok(_) => ok = false,
                Err(p) => {
                    self.report(Some("fields"), p);
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        self.build(
            Some("fields"),
            &schema,
            LogicalPlanBuilder::from(input).project(exprs),
        )
    }

    fn aggregate(&mut self, input: LogicalPlan, s: &p::Aggregate) -> Option<LogicalPlan> {
        let schema = Arc::clone(input.schema());
        let groups = self.exprs("group_by", &s.group_by, &schema);
        let measures = self.exprs("measures", &s.measures, &schema);
        let (groups, measures) = (groups?, measures?);
        let group_exprs: Vec<Expr> = groups.iter().map(|(e, _)| e.clone()).collect();
        let mut ok = true;
        for (g, _) in &groups {
            if !self.plain("group_by", g) {
                ok = false;
            }
        }
        for (m, _) in &measures {
            if !find_window_exprs(std::iter::once(m)).is_empty() {
                self.report(
                    Some("measures"),
                    Problem::new(
                        "uses a window function (OVER …)",
                        "move it to a window component after the aggregate",
                    ),
                );
                ok = false;
                continue;
            }
            let mut loose = Vec::new();
            ungrouped(m, &group_exprs, &mut loose);
            if let Some(col) = loose.first() {
                self.report(
                    Some("measures"),
                    Problem::new(
                        format!(
                            "column `{}` is neither in group_by nor inside an aggregate function",
                            col.flat_name()
                        ),
                        format!(
                            "add `{}` to group_by, or aggregate it, e.g. `max({})`",
                            col.name, col.name
                        ),
                    ),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let aggs = find_aggregate_exprs(measures.iter().map(|(e, _)| e));
        let built = LogicalPlanBuilder::from(input).aggregate(group_exprs.clone(), aggs.clone());
        let aggregated = self.build(Some("measures"), &schema, built)?;
        let mut projection: Vec<Expr> = groups
            .iter()
            .map(|(g, alias)| with_alias(as_column(g), alias.clone()))
            .collect();
        for (m, alias) in &measures {
            let name = alias.clone().unwrap_or_else(|| m.schema_name().to_string());
            let rebased = rebase(m, &aggs, &group_exprs);
            projection.push(rebased.alias(name));
        }
        let out_schema = Arc::clone(aggregated.schema());
        self.build(
            Some("measures"),
            &out_schema,
            LogicalPlanBuilder::from(aggregated).project(projection),
        )
    }

    fn join(&mut self, left: &Input, right: &Input, s: &p::Join) -> Option<LogicalPlan> {
        let joined = match left.plan.schema().join(right.plan.schema()) {
            Ok(j) => j,
            Err(e) => {
                self.df(None, e, left.plan.schema());
                return None;
            }
        };
        let on = self.condition("on", &s.on, &joined)?;
        let mut cols = HashSet::new();
        if let Err(e) = expr_to_columns(&on, &mut cols) {
            self.df(Some("on"), e, &joined);
            return None;
        }
        for (side, input) in [("left", left), ("right", right)] {
            if !cols.iter().any(|c| input.plan.schema().has_column(c)) {
                let theirs: Vec<String> = input
                    .plan
                    .schema()
                    .iter()
                    .map(|(q, f)| {
                        q.map_or_else(|| f.name().clone(), |q| format!("{q}.{}", f.name()))
                    })
                    .collect();
                self.report(
                    Some("on"),
                    Problem::new(
                        format!(
                            "the join condition uses no column of the {side} input `{}`",
                            input.name
                        ),
                        format!(
                            "compare a key of each input; `{}` has: {}",
                            input.name,
                            sql::list(&theirs)
                        ),
                    ),
                );
                return None;
            }
        }
        let join_type = match s.join_type {
            p::JoinType::Inner => JoinType::Inner,
            p::JoinType::Left => JoinType::Left,
            p::JoinType::Right => JoinType::Right,
            p::JoinType::Full => JoinType::Full,
        };
        let r = LogicalPlanBuilder::from(left.plan.clone()).join_on(
            right.plan.clone(),
            join_type,
            vec![on],
        );
        self.build(Some("on"), &joined, r)
    }

    fn union(&mut self, inputs: &[Input], s: &p::Union) -> Option<LogicalPlan> {
        let first = &inputs[0];
        let schema = Arc::clone(first.plan.schema());
        if !s.by_name {
            for other in &inputs[1..] {
                let (a, b) = (first.plan.schema(), other.plan.schema());
                if a.fields().len() != b.fields().len() {
                    self.report(
                        None,
                        Problem::new(
                            format!(
                                "`{}` brings {} columns and `{}` {}; a union by position needs the same count",
                                first.name,
                                a.fields().len(),
                                other.name,
                                b.fields().len()
                            ),
                            "select the same columns on each input, or set by_name: true",
                        ),
                    );
                    return None;
                }
                for (fa, fb) in a.fields().iter().zip(b.fields().iter()) {
                    if comparison_coercion(fa.data_type(), fb.data_type()).is_none() {
                        self.report(
                            None,
                            Problem::new(
                                format!(
                                    "column `{}` is {} in `{}` but `{}` is {} in `{}`",
                                    fa.name(),
                                    fa.data_type(),
                                    first.name,
                                    fb.name(),
                                    fb.data_type(),
                                    other.name
                                ),
                                "cast one side in a select (e.g. `CAST(x AS VARCHAR) AS x`), or set by_name: true",
                            ),
                        );
                        return None;
                    }
                }
            }
        }
        let mut b = Ok(LogicalPlanBuilder::from(first.plan.clone()));
        for other in &inputs[1..] {
            let plan = other.plan.clone();
            b = b.and_then(|b| {
                if s.by_name {
                    b.union_by_name(plan)
                } else {
                    b.union(plan)
                }
            });
        }
        if s.distinct {
            b = b.and_then(|b| b.distinct());
        }
        self.build(None, &schema, b)
    }

    fn window(&mut self, input: LogicalPlan, s: &p::Window) -> Option<LogicalPlan> {
        let schema = Arc::clone(input.schema());
        let items = self.exprs("windows", &s.windows, &schema)?;
        let mut ok = true;
        for (e, _) in &items {
            if find_window_exprs(std::iter::once(e)).is_empty() {
                self.report(
                    Some("windows"),
                    Problem::new(
                        format!("`{}` has no window function (… OVER (…))", e.schema_name()),
                        "write e.g. `sum(total) OVER (PARTITION BY customer_id ORDER BY ordered_at) AS running_total`; plain expressions belong in a select",
                    ),
                );
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let windows = find_window_exprs(items.iter().map(|(e, _)| e));
        let mut projection: Vec<Expr> = schema.columns().into_iter().map(Expr::Column).collect();
        for (e, alias) in &items {
            let name = alias.clone().unwrap_or_else(|| e.schema_name().to_string());
            projection.push(rebase(e, &windows, &[]).alias(name));
        }
        let b = LogicalPlanBuilder::from(input)
            .window(windows)
            .and_then(|b| b.project(projection));
        self.build(Some("windows"), &schema, b)
    }

    fn rank(&mut self, input: LogicalPlan, s: &p::Rank) -> Option<LogicalPlan> {
        let schema = Arc::clone(input.schema());
        let parts = self.exprs("partition_by", &s.partition_by, &schema);
        let sorts = self.sorts("order_by", &s.order_by, &schema);
        let (parts, sorts) = (parts?, sorts?);
        if schema.fields().iter().any(|f| f.name() == &s.output) {
            self.report(
                Some("output"),
                Problem::new(
                    format!("the input already has a column `{}`", s.output),
                    "choose another output name",
                ),
            );
            return None;
        }
        let f = match s.function {
            p::RankFunction::Rank => rank(),
            p::RankFunction::DenseRank => dense_rank(),
            p::RankFunction::RowNumber => row_number(),
            p::RankFunction::PercentRank => percent_rank(),
        };
        let w = match f
            .partition_by(parts.into_iter().map(|(e, _)| e).collect())
            .order_by(sorts)
            .build()
        {
            Ok(w) => w,
            Err(e) => {
                self.df(Some("order_by"), e, &schema);
                return None;
            }
        };
        let mut projection: Vec<Expr> = schema.columns().into_iter().map(Expr::Column).collect();
        projection.push(as_column(&w).alias(s.output.as_str()));
        let b = LogicalPlanBuilder::from(input)
            .window(vec![w])
            .and_then(|b| b.project(projection));
        self.build(Some("order_by"), &schema, b)
    }

    /// Destinations write columns by name: two inputs columns of one name cannot both land.
    fn unique_names(&mut self, input: &LogicalPlan) -> Option<()> {
        let mut seen = HashSet::new();
        for f in input.schema().fields() {
            if !seen.insert(f.name().as_str()) {
                self.findings.push(Finding::error(
                    &self.c.name,
                    None,
                    format!("two input columns are named `{}`", f.name()),
                    "rename one with a select component before the destination (`customers.id AS customer_id`)",
                ));
                return None;
            }
        }
        Some(())
    }

    fn database_destination(
        &mut self,
        input: LogicalPlan,
        d: &p::DatabaseDestination,
    ) -> Option<LogicalPlan> {
        self.unique_names(&input)?;
        match (d.operation, d.merge_keys.is_empty()) {
            (p::Operation::Merge, true) => {
                self.report(
                    Some("merge_keys"),
                    Problem::new(
                        "a merge needs the columns that identify a row",
                        "set merge_keys, e.g. [\"id\"]",
                    ),
                );
                return None;
            }
            (p::Operation::Merge, false) => {
                let names: Vec<String> = input
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                for k in &d.merge_keys {
                    if !names.contains(k) {
                        self.report(
                            Some("merge_keys"),
                            Problem::new(
                                format!("merge key `{k}` is not an input column"),
                                format!("the input's columns are: {}", sql::list(&names)),
                            ),
                        );
                        return None;
                    }
                }
            }
            (_, false) => self.findings.push(Finding::warning(
                &self.c.name,
                Some("merge_keys"),
                "merge_keys are only used by the merge operation; they are ignored",
                "remove merge_keys, or set operation to merge",
            )),
            (_, true) => {}
        }
        Some(input)
    }
}

fn with_alias(e: Expr, alias: Option<String>) -> Expr {
    match alias {
        Some(a) => e.alias(a),
        None => e,
    }
}

/// A reference to the column an aggregate or window plan computed for `e`.
fn as_column(e: &Expr) -> Expr {
    match e {
        Expr::Column(_) => e.clone(),
        _ => Expr::Column(Column::from_name(e.schema_name().to_string())),
    }
}

/// `e` with every computed sub-expression replaced by the column holding it.
fn rebase(e: &Expr, computed: &[Expr], groups: &[Expr]) -> Expr {
    e.clone()
        .transform_down(|x| {
            if computed.contains(&x) || groups.contains(&x) {
                Ok(Transformed::new(
                    as_column(&x),
                    true,
                    TreeNodeRecursion::Jump,
                ))
            } else {
                Ok(Transformed::no(x))
            }
        })
        .map(|t| t.data)
        .unwrap_or_else(|_| e.clone())
}

/// Columns of `e` used outside both an aggregate function and a group-by expression.
fn ungrouped(e: &Expr, groups: &[Expr], out: &mut Vec<Column>) {
    if groups.contains(e) {
        return;
    }
    match e {
        Expr::AggregateFunction(_) => {}
        Expr::Column(c) => out.push(c.clone()),
        _ => {
            let _ = e.apply_children(|child| {
                ungrouped(child, groups, out);
                Ok(TreeNodeRecursion::Continue)
            });
        }
    }
}
