//! Dynamic variables: SQL expressions evaluated once when a run starts (`now()`,
//! `current_date - INTERVAL '1 day'`, `date_trunc('month', now())`), their values then
//! used like any variable's. Only expressions over no columns: nothing is read.

use std::sync::Arc;

use datafusion::arrow::array::Array;
use datafusion::arrow::json::writer::{make_encoder, EncoderOptions};
use datafusion::common::tree_node::TreeNode;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::execution::context::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::ExprSchemable;
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::physical_expr::create_physical_expr;
use datafusion::physical_plan::ColumnarValue;
use serde_json::Value;

use super::failure::{Category, RunFailure};
use crate::validate::sql;

/// Longest expression text.
const MAX_TEXT: usize = 1000;

/// The functions a dynamic variable may call: dates, times and small text.
const ALLOWED: &[&str] = &[
    "now",
    "current_date",
    "current_time",
    "current_timestamp",
    "today",
    "date_trunc",
    "date_part",
    "datepart",
    "date_bin",
    "to_date",
    "to_timestamp",
    "to_timestamp_seconds",
    "to_timestamp_millis",
    "to_timestamp_micros",
    "to_char",
    "date_format",
    "make_date",
    "from_unixtime",
    "to_unixtime",
    "upper",
    "lower",
    "trim",
    "btrim",
    "concat",
    "abs",
    "round",
    "floor",
    "ceil",
];

/// The value of one dynamic variable's expression.
pub fn evaluate(text: &str) -> Result<Value, RunFailure> {
    let bad = |m: String| {
        RunFailure::new(
            Category::Expression,
            m,
            "write an SQL expression over no columns, e.g. `now()` or `current_date - INTERVAL '1 day'`",
        )
    };
    if text.len() > MAX_TEXT {
        return Err(bad(format!("is longer than {MAX_TEXT} characters")));
    }
    let schema = DFSchema::empty();
    let (expr, _) = sql::expr(text, &schema).map_err(|p| bad(p.message))?;
    // Evaluated in the server's process, outside any run's memory pool: only the
    // functions a date or a label needs (`repeat('x', 2000000000)` would not be).
    let mut refused = None;
    let _ = expr.apply(|e| {
        if let datafusion::logical_expr::Expr::ScalarFunction(f) = e {
            if !ALLOWED.contains(&f.name()) {
                refused = Some(f.name().to_string());
                return Ok(datafusion::common::tree_node::TreeNodeRecursion::Stop);
            }
        }
        Ok(datafusion::common::tree_node::TreeNodeRecursion::Continue)
    });
    if let Some(name) = refused {
        return Err(bad(format!(
            "uses `{name}`, which a dynamic variable may not call; allowed: {}",
            ALLOWED.join(", ")
        )));
    }
    // `now()` and friends are fixed at simplification, to the moment the run starts.
    let context = SimplifyContext::builder()
        .with_query_execution_start_time(Some(chrono::Utc::now()))
        .build();
    let simplified = ExprSimplifier::new(context)
        .simplify(expr)
        .map_err(|e| bad(e.to_string()))?;
    let _ = simplified
        .get_type(&schema)
        .map_err(|e| bad(e.to_string()))?;
    let physical = create_physical_expr(
        &simplified,
        &schema,
        &ExecutionProps::new(),
        &PhysicalPlanningContext::default(),
    )
    .map_err(|e| bad(e.to_string()))?;
    let batch = datafusion::arrow::record_batch::RecordBatch::try_new_with_options(
        Arc::new(datafusion::arrow::datatypes::Schema::empty()),
        vec![],
        &datafusion::arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(1)),
    )
    .map_err(|e| bad(e.to_string()))?;
    let value = physical.evaluate(&batch).map_err(|e| bad(e.to_string()))?;
    let scalar = match value {
        ColumnarValue::Scalar(s) => s,
        ColumnarValue::Array(a) => {
            ScalarValue::try_from_array(&a, 0).map_err(|e| bad(e.to_string()))?
        }
    };
    Ok(to_json(&scalar))
}

/// A scalar as JSON: numbers and booleans as themselves, everything else as its text
/// (timestamps in ISO 8601, as a database parses them).
fn to_json(s: &ScalarValue) -> Value {
    if s.is_null() {
        return Value::Null;
    }
    match s {
        ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
        ScalarValue::Int8(Some(v)) => Value::from(*v),
        ScalarValue::Int16(Some(v)) => Value::from(*v),
        ScalarValue::Int32(Some(v)) => Value::from(*v),
        ScalarValue::Int64(Some(v)) => Value::from(*v),
        ScalarValue::UInt64(Some(v)) => Value::from(*v),
        ScalarValue::Float64(Some(v)) => Value::from(*v),
        ScalarValue::Utf8(Some(v))
        | ScalarValue::LargeUtf8(Some(v))
        | ScalarValue::Utf8View(Some(v)) => Value::String(v.clone()),
        other => match other.to_array() {
            Ok(a) => json_text(&a).unwrap_or_else(|| Value::String(other.to_string())),
            Err(_) => Value::String(other.to_string()),
        },
    }
}

fn json_text(a: &dyn Array) -> Option<Value> {
    let field = Arc::new(datafusion::arrow::datatypes::Field::new(
        "v",
        a.data_type().clone(),
        true,
    ));
    let array = datafusion::arrow::array::make_array(a.to_data());
    let options = EncoderOptions::default();
    let mut encoder = make_encoder(&field, &array, &options).ok()?;
    let mut out = Vec::new();
    encoder.encode(0, &mut out);
    serde_json::from_slice(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_over_no_columns_evaluate_once() {
        assert_eq!(evaluate("1 + 2").unwrap(), Value::from(3));
        assert_eq!(evaluate("upper('eu')").unwrap(), Value::from("EU"));
        let d = evaluate("CAST('2026-03-01' AS DATE) - INTERVAL '1 day'").unwrap();
        assert_eq!(d, Value::from("2026-02-28"));
        assert!(evaluate("now()")
            .unwrap()
            .as_str()
            .is_some_and(|s| s.starts_with("20")));
    }

    #[test]
    fn a_column_or_garbage_is_an_expression_failure() {
        let f = evaluate("amount * 2").unwrap_err();
        assert_eq!(f.category, Category::Expression);
        assert_eq!(evaluate("1 +").unwrap_err().category, Category::Expression);
        let f = evaluate("repeat('x', 2000000000)").unwrap_err();
        assert!(f.message.contains("`repeat`"), "{}", f.message);
    }
}
