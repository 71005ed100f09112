//! One test per thing validation must catch, each naming the component and property, plus
//! the catalog's examples and a 20-component package that must validate clean.

use std::time::Instant;

use serde_json::{json, Value};

use super::fixture::*;
use crate::components::{Category, CATALOG};
use crate::finding::{Finding, Severity};
use crate::package::FlowType;

fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

/// The only error, which must be on `component`.`property`.
fn only_error<'a>(findings: &'a [Finding], component: &str, property: Option<&str>) -> &'a Finding {
    let errs = errors(findings);
    assert_eq!(errs.len(), 1, "{findings:#?}");
    assert_eq!(
        errs[0].component.as_deref(),
        Some(component),
        "{findings:#?}"
    );
    assert_eq!(errs[0].property.as_deref(), property, "{findings:#?}");
    errs[0]
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A package around one catalog example, complete enough to validate with no finding.
fn package_for_example(name: &str) -> (FlowType, Value) {
    let c = CATALOG.iter().find(|c| c.name == name).unwrap();
    let ex = c.wrapper_example();
    match c.category {
        Category::Source => (
            FlowType::Dataflow,
            package(vec![ex, file_sink("d")], &[("c1", "d")]),
        ),
        Category::Destination => (
            FlowType::Dataflow,
            package(vec![orders_source("s"), ex], &[("s", "c1")]),
        ),
        Category::WorkflowTask => (FlowType::Workflow, package(vec![ex], &[])),
        Category::Transformation => {
            let p = match c.name {
                // Both tables have an `id`: a select picks what lands.
                "join" | "cross_join" => package(
                    vec![
                        orders_source("s1"),
                        customers_source("s2"),
                        ex,
                        component(
                            "select_component",
                            "p",
                            "pick",
                            json!({"fields": ["orders.*", "customers.name"]}),
                        ),
                        file_sink("d"),
                    ],
                    &[("s1", "c1"), ("s2", "c1"), ("c1", "p"), ("p", "d")],
                ),
                "union" => package(
                    vec![
                        orders_source("s1"),
                        component(
                            "mysql_source_component",
                            "s2",
                            "more_orders",
                            json!({"connection_id": 2, "table": "orders"}),
                        ),
                        ex,
                        file_sink("d"),
                    ],
                    &[("s1", "c1"), ("s2", "c1"), ("c1", "d")],
                ),
                _ => package(
                    vec![orders_source("s"), ex, file_sink("d")],
                    &[("s", "c1"), ("c1", "d")],
                ),
            };
            (FlowType::Dataflow, p)
        }
    }
}

#[test]
fn every_wrapper_example_validates_clean() {
    rt().block_on(async {
        for c in CATALOG {
            let (flow, p) = package_for_example(c.name);
            let findings = check_with(flow, &p, &["since"]).await;
            assert!(findings.is_empty(), "{}: {findings:#?}", c.name);
        }
    });
}

/// 20 components: two sources joined, a chain of every single-input transformation, a
/// clone into two destinations.
fn twenty_components() -> Value {
    let t = |key: &str, id: &str, name: &str, props: Value| component(key, id, name, props);
    package(
        vec![
            orders_source("c1"),
            customers_source("c2"),
            t(
                "join_component",
                "c3",
                "joined",
                json!({"on": "orders.customer_id = customers.id", "join_type": "left"}),
            ),
            t(
                "select_component",
                "c4",
                "shaped",
                json!({"fields": ["orders.id AS order_id", "customers.name AS customer", "country", "ordered_at", "total", "status", "is_vip"]}),
            ),
            t(
                "filter_component",
                "c5",
                "recent",
                json!({"predicate": "ordered_at >= $since AND status <> 'cancelled'"}),
            ),
            t(
                "assert_component",
                "c6",
                "positive",
                json!({"condition": "total >= 0"}),
            ),
            t(
                "window_component",
                "c7",
                "running",
                json!({"windows": ["sum(total) OVER (PARTITION BY customer ORDER BY ordered_at) AS running_total"]}),
            ),
            t(
                "rank_component",
                "c8",
                "nth_order",
                json!({"function": "row_number", "partition_by": ["customer"], "order_by": ["ordered_at"], "output": "nth"}),
            ),
            t(
                "sort_component",
                "c9",
                "by_time",
                json!({"order_by": ["ordered_at DESC NULLS LAST", "order_id"]}),
            ),
            t("distinct_component", "c10", "dedup", json!({})),
            t("sample_component", "c11", "most", json!({"fraction": 0.9})),
            t(
                "limit_component",
                "c12",
                "capped",
                json!({"count": 100000, "offset": 0}),
            ),
            t(
                "aggregate_component",
                "c13",
                "per_country",
                json!({"group_by": ["country", "date_trunc('day', ordered_at) AS day"], "measures": ["sum(total) AS revenue", "count(*) AS orders", "max(running_total) - min(running_total) AS spread"]}),
            ),
            t(
                "select_component",
                "c14",
                "rounded",
                json!({"fields": ["country", "day", "round(revenue, 2) AS revenue", "orders", "CASE WHEN orders > 10 THEN 'busy' ELSE 'quiet' END AS load"]}),
            ),
            t(
                "filter_component",
                "c15",
                "busy_only",
                json!({"predicate": "load = 'busy' OR revenue > 1000"}),
            ),
            t("clone_component", "c16", "fan", json!({})),
            t(
                "postgres_destination_component",
                "c17",
                "warehouse",
                json!({"connection_id": 1, "table": "country_daily", "operation": "merge", "merge_keys": ["country", "day"]}),
            ),
            t(
                "select_component",
                "c18",
                "for_files",
                json!({"fields": ["*"]}),
            ),
            t(
                "limit_component",
                "c19",
                "sample_rows",
                json!({"count": 10}),
            ),
            t(
                "cloud_storage_destination_component",
                "c20",
                "export",
                json!({"connection_id": 5, "path": "exports/${since}/daily.csv.gz", "compression": "gzip"}),
            ),
        ],
        &[
            ("c1", "c3"),
            ("c2", "c3"),
            ("c3", "c4"),
            ("c4", "c5"),
            ("c5", "c6"),
            ("c6", "c7"),
            ("c7", "c8"),
            ("c8", "c9"),
            ("c9", "c10"),
            ("c10", "c11"),
            ("c11", "c12"),
            ("c12", "c13"),
            ("c13", "c14"),
            ("c14", "c15"),
            ("c15", "c16"),
            ("c16", "c17"),
            ("c16", "c18"),
            ("c18", "c19"),
            ("c19", "c20"),
        ],
    )
}

#[test]
fn a_valid_twenty_component_package_has_no_findings_and_validates_fast() {
    let p = twenty_components();
    rt().block_on(async {
        let findings = check(&p).await;
        assert!(findings.is_empty(), "{findings:#?}");
        // Warm (the function registry is built once per process), then time.
        let mut times = Vec::new();
        for _ in 0..15 {
            let t = Instant::now();
            check(&p).await;
            times.push(t.elapsed());
        }
        times.sort();
        let p50 = times[times.len() / 2];
        eprintln!(
            "validate, 20 components, in-memory schemas: p50 {p50:?}, max {:?}",
            times[times.len() - 1]
        );
        assert!(p50.as_millis() < 100, "p50 {p50:?}");
    });
}

#[test]
fn an_unknown_column_is_named_with_the_columns_there_are() {
    let p = between("filter_component", json!({"predicate": "totl > 100"}));
    let f = rt().block_on(check(&p));
    let e = only_error(&f, "step", Some("predicate"));
    assert_eq!(e.message, "`predicate`: unknown column `totl`");
    assert!(
        e.fix.contains("customer_id, ordered_at, total, status"),
        "{}",
        e.fix
    );
}

#[test]
fn an_unknown_qualified_column_lists_that_components_columns() {
    let p = package(
        vec![
            orders_source("s1"),
            customers_source("s2"),
            component(
                "join_component",
                "j",
                "j",
                json!({"on": "orders.customer_id = customers.idx"}),
            ),
            file_sink("d"),
        ],
        &[("s1", "j"), ("s2", "j"), ("j", "d")],
    );
    let f = rt().block_on(check(&p));
    let e = only_error(&f, "j", Some("on"));
    assert_eq!(e.message, "`on`: unknown column `customers.idx`");
    assert_eq!(e.fix, "`customers` has: id, name, country, is_vip");
}

#[test]
fn a_type_error_in_an_expression_is_caught() {
    let f = rt().block_on(check(&between(
        "select_component",
        json!({"fields": ["id", "status * 2 AS doubled"]}),
    )));
    let e = only_error(&f, "step", Some("fields"));
    assert!(
        e.message.contains("Utf8") || e.message.contains("coerce"),
        "{}",
        e.message
    );

    let f = rt().block_on(check(&between(
        "aggregate_component",
        json!({"measures": ["sum(status)"]}),
    )));
    let e = only_error(&f, "step", Some("measures"));
    assert!(e.message.to_lowercase().contains("sum"), "{}", e.message);
}

#[test]
fn a_predicate_that_is_not_boolean_is_caught() {
    let f = rt().block_on(check(&between(
        "filter_component",
        json!({"predicate": "total + 1"}),
    )));
    let e = only_error(&f, "step", Some("predicate"));
    assert_eq!(
        e.message,
        "`predicate`: is of type Float64, not a boolean condition"
    );
}

#[test]
fn an_aggregate_without_the_group_key_it_needs_is_caught() {
    let f = rt().block_on(check(&between(
        "aggregate_component",
        json!({"group_by": ["customer_id"], "measures": ["sum(total)", "status"]}),
    )));
    let e = only_error(&f, "step", Some("measures"));
    assert_eq!(
        e.message,
        "`measures`: column `orders.status` is neither in group_by nor inside an aggregate function"
    );
    assert!(e.fix.contains("add `status` to group_by"), "{}", e.fix);
}

#[test]
fn aggregate_and_window_functions_are_refused_outside_their_components() {
    let f = rt().block_on(check(&between(
        "select_component",
        json!({"fields": ["sum(total)"]}),
    )));
    assert!(only_error(&f, "step", Some("fields"))
        .message
        .contains("aggregate function"));
    let f = rt().block_on(check(&between(
        "window_component",
        json!({"windows": ["total * 2"]}),
    )));
    assert!(only_error(&f, "step", Some("windows"))
        .message
        .contains("no window function"));
}

#[test]
fn a_join_key_missing_on_one_side_is_caught() {
    let p = package(
        vec![
            orders_source("s1"),
            customers_source("s2"),
            component(
                "join_component",
                "j",
                "j",
                json!({"on": "orders.customer_id = orders.id"}),
            ),
            file_sink("d"),
        ],
        &[("s1", "j"), ("s2", "j"), ("j", "d")],
    );
    let f = rt().block_on(check(&p));
    let e = only_error(&f, "j", Some("on"));
    assert_eq!(
        e.message,
        "`on`: the join condition uses no column of the right input `customers`"
    );
}

#[test]
fn an_ambiguous_column_after_a_join_asks_for_a_qualifier() {
    let p = package(
        vec![
            orders_source("s1"),
            customers_source("s2"),
            component(
                "join_component",
                "j",
                "j",
                json!({"on": "orders.customer_id = customers.id"}),
            ),
            component("select_component", "p", "pick", json!({"fields": ["id"]})),
            file_sink("d"),
        ],
        &[("s1", "j"), ("s2", "j"), ("j", "p"), ("p", "d")],
    );
    let f = rt().block_on(check(&p));
    let e = only_error(&f, "pick", Some("fields"));
    assert_eq!(e.message, "`fields`: column `id` is in more than one input");
    assert_eq!(e.fix, "qualify it: orders.id, customers.id");
}

#[test]
fn a_destination_refuses_two_columns_of_one_name() {
    let p = package(
        vec![
            orders_source("s1"),
            customers_source("s2"),
            component(
                "join_component",
                "j",
                "j",
                json!({"on": "orders.customer_id = customers.id"}),
            ),
            file_sink("d"),
        ],
        &[("s1", "j"), ("s2", "j"), ("j", "d")],
    );
    let f = rt().block_on(check(&p));
    assert_eq!(
        only_error(&f, "out", None).message,
        "two input columns are named `id`"
    );
}

#[test]
fn a_cycle_is_caught_on_each_component_on_it() {
    let p = package(
        vec![
            orders_source("s"),
            component("union_component", "u", "u", json!({})),
            component(
                "filter_component",
                "f",
                "f",
                json!({"predicate": "total > 0"}),
            ),
            component("clone_component", "c", "c", json!({})),
            file_sink("d"),
        ],
        &[("s", "u"), ("u", "f"), ("f", "c"), ("c", "u"), ("c", "d")],
    );
    let f = rt().block_on(check(&p));
    let errs = errors(&f);
    let names: Vec<_> = errs
        .iter()
        .map(|e| e.component.as_deref().unwrap())
        .collect();
    assert_eq!(names, vec!["u", "f", "c"], "{f:#?}");
    assert_eq!(errs[0].message, "is on a cycle with f, c");
}

#[test]
fn a_dangling_edge_is_caught() {
    let p = package(
        vec![orders_source("s"), file_sink("d")],
        &[("s", "d"), ("s", "nowhere")],
    );
    let f = rt().block_on(check(&p));
    let errs = errors(&f);
    assert!(
        errs.iter().any(|e| e.component.is_none()
            && e.property.as_deref() == Some("edges[1]")
            && e.message == "edge s → nowhere names no component with id `nowhere`"),
        "{f:#?}"
    );
}

#[test]
fn a_missing_required_property_is_caught() {
    let p = package(
        vec![
            orders_source("s"),
            component(
                "postgres_destination_component",
                "d",
                "wh",
                json!({"connection_id": 1}),
            ),
        ],
        &[("s", "d")],
    );
    let f = rt().block_on(check(&p));
    let e = only_error(&f, "wh", Some("table"));
    assert_eq!(e.message, "missing required property `table`");
}

#[test]
fn a_source_connection_of_the_wrong_family_is_caught() {
    let p = package(
        vec![
            component(
                "database_source_component",
                "s",
                "orders",
                json!({"connection_id": 5, "table": "orders"}),
            ),
            file_sink("d"),
        ],
        &[("s", "d")],
    );
    let f = rt().block_on(check(&p));
    let e = only_error(&f, "orders", Some("connection_id"));
    assert_eq!(
        e.message,
        "connection 5 is a file connection (s3); database_source needs a database connection"
    );

    // Right family, wrong vendor: the fix names the component that fits.
    let p = package(
        vec![
            component(
                "postgres_source_component",
                "s",
                "orders",
                json!({"connection_id": 2, "table": "orders"}),
            ),
            file_sink("d"),
        ],
        &[("s", "d")],
    );
    let f = rt().block_on(check(&p));
    let e = only_error(&f, "orders", Some("connection_id"));
    assert!(e.fix.contains("mysql_source_component"), "{}", e.fix);

    // A read-only store as a destination.
    let p = package(
        vec![
            orders_source("s"),
            component(
                "cloud_storage_destination_component",
                "d",
                "out",
                json!({"connection_id": 7, "path": "x.csv"}),
            ),
        ],
        &[("s", "d")],
    );
    let f = rt().block_on(check(&p));
    assert!(only_error(&f, "out", Some("connection_id"))
        .fix
        .contains("read-only"));
}

#[test]
fn an_unknown_connection_is_caught() {
    let p = package(
        vec![
            component(
                "database_source_component",
                "s",
                "orders",
                json!({"connection_id": 99, "table": "orders"}),
            ),
            file_sink("d"),
        ],
        &[("s", "d")],
    );
    let f = rt().block_on(check(&p));
    assert_eq!(
        only_error(&f, "orders", Some("connection_id")).message,
        "there is no connection 99 in this account"
    );
}

#[test]
fn an_undefined_variable_is_caught() {
    let f = rt().block_on(check(&between(
        "filter_component",
        json!({"predicate": "ordered_at >= $since AND total > $min_total"}),
    )));
    let e = only_error(&f, "step", Some("predicate"));
    assert_eq!(e.message, "variable `min_total` is not defined");
    // In a path, `${name}`.
    let p = package(
        vec![
            orders_source("s"),
            component(
                "cloud_storage_destination_component",
                "d",
                "out",
                json!({"connection_id": 5, "path": "x/${day}.csv"}),
            ),
        ],
        &[("s", "d")],
    );
    let f = rt().block_on(check(&p));
    assert_eq!(
        only_error(&f, "out", Some("path")).message,
        "variable `day` is not defined"
    );
}

#[test]
fn an_unreachable_source_warns_and_skips_checks_downstream() {
    let p = package(
        vec![
            component(
                "postgres_source_component",
                "s",
                "remote",
                json!({"connection_id": 6, "table": "orders"}),
            ),
            component(
                "filter_component",
                "f",
                "f",
                json!({"predicate": "no_such_column > 1"}),
            ),
            file_sink("d"),
        ],
        &[("s", "f"), ("f", "d")],
    );
    let f = rt().block_on(check(&p));
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(f[0].component.as_deref(), Some("remote"));
    assert!(f[0].message.contains("connection refused"));
}

#[test]
fn a_missing_table_or_file_is_an_error_on_that_property() {
    let p = package(
        vec![
            component(
                "postgres_source_component",
                "s",
                "src",
                json!({"connection_id": 1, "table": "ordrs"}),
            ),
            file_sink("d"),
        ],
        &[("s", "d")],
    );
    let f = rt().block_on(check(&p));
    assert_eq!(
        only_error(&f, "src", Some("table")).message,
        "`table` was not found: no table ordrs"
    );
    let p = package(
        vec![
            component(
                "cloud_storage_source_component",
                "s",
                "src",
                json!({"connection_id": 5, "path": "missing.csv"}),
            ),
            file_sink("d"),
        ],
        &[("s", "d")],
    );
    let f = rt().block_on(check(&p));
    only_error(&f, "src", Some("path"));
}

#[test]
fn inputs_and_outputs_are_counted_per_kind() {
    // A join with one input; a source feeding two components without a clone.
    let p = package(
        vec![
            orders_source("s"),
            component("join_component", "j", "j", json!({"on": "true"})),
            file_sink("d"),
            component(
                "cloud_storage_destination_component",
                "d2",
                "out2",
                json!({"connection_id": 5, "path": "y.csv"}),
            ),
        ],
        &[("s", "j"), ("j", "d"), ("s", "d2")],
    );
    let f = rt().block_on(check(&p));
    let errs = errors(&f);
    assert_eq!(errs.len(), 2, "{f:#?}");
    assert_eq!(errs[0].component.as_deref(), Some("orders"));
    assert!(errs[0].fix.contains("clone"));
    assert_eq!(errs[1].message, "a join takes 2 inputs; it has 1");
}

#[test]
fn unused_output_and_a_missing_destination_are_warnings() {
    let p = package(vec![orders_source("s")], &[]);
    let f = rt().block_on(check(&p));
    assert!(errors(&f).is_empty());
    assert_eq!(f.len(), 2, "{f:#?}");
}

#[test]
fn duplicate_ids_and_names_are_caught() {
    let p = package(
        vec![
            orders_source("s"),
            component(
                "filter_component",
                "s",
                "orders",
                json!({"predicate": "true"}),
            ),
            file_sink("d"),
        ],
        &[("s", "d")],
    );
    let f = rt().block_on(check(&p));
    let errs = errors(&f);
    assert!(
        errs.iter().any(|e| e.property.as_deref() == Some("id")),
        "{f:#?}"
    );
    assert!(
        errs.iter().any(|e| e.property.as_deref() == Some("name")),
        "{f:#?}"
    );
}

#[test]
fn union_inputs_must_line_up() {
    let p = package(
        vec![
            orders_source("s1"),
            customers_source("s2"),
            component("union_component", "u", "u", json!({})),
            file_sink("d"),
        ],
        &[("s1", "u"), ("s2", "u"), ("u", "d")],
    );
    let f = rt().block_on(check(&p));
    assert!(only_error(&f, "u", None)
        .message
        .contains("brings 5 columns and `customers` 4"));
}

#[test]
fn merge_needs_keys_that_are_input_columns() {
    let dest = |keys: Value| {
        package(
            vec![
                orders_source("s"),
                component(
                    "postgres_destination_component",
                    "d",
                    "wh",
                    json!({"connection_id": 1, "table": "t", "operation": "merge", "merge_keys": keys}),
                ),
            ],
            &[("s", "d")],
        )
    };
    let f = rt().block_on(check(&dest(json!([]))));
    only_error(&f, "wh", Some("merge_keys"));
    let f = rt().block_on(check(&dest(json!(["order_id"]))));
    assert_eq!(
        only_error(&f, "wh", Some("merge_keys")).message,
        "`merge_keys`: merge key `order_id` is not an input column"
    );
}

#[test]
fn a_parse_error_says_where() {
    let f = rt().block_on(check(&between(
        "filter_component",
        json!({"predicate": "total >"}),
    )));
    let e = only_error(&f, "step", Some("predicate"));
    assert!(
        e.message
            .starts_with("`predicate`: is not a SQL expression"),
        "{}",
        e.message
    );
}

#[test]
fn a_source_query_must_be_one_select_in_the_connections_dialect() {
    let src = |q: &str| {
        package(
            vec![
                component(
                    "postgres_source_component",
                    "s",
                    "q",
                    json!({"connection_id": 1, "query": q}),
                ),
                file_sink("d"),
            ],
            &[("s", "d")],
        )
    };
    let f = rt().block_on(check(&src("SELECT * FROM orders; DELETE FROM orders")));
    assert!(only_error(&f, "q", Some("query"))
        .message
        .contains("2 statements"));
    let f = rt().block_on(check(&src(
        "SELECT * FROM orders WHERE ordered_at > $since",
    )));
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn workflows_check_tasks_packages_and_statements() {
    let p = json!({
        "components": [
            {"run_package_task": {"id": "t1", "name": "rollup", "package_id": 42}},
            {"run_package_task": {"id": "t2", "name": "ghost", "package_id": 7}},
            {"sql_task": {"id": "t3", "name": "cleanup", "connection_id": 1, "statement": "DELETE FROM staging WHERE"}},
            {"sql_task": {"id": "t4", "name": "on_files", "connection_id": 5, "statement": "SELECT 1"}},
            {"filter_component": {"id": "t5", "name": "stray", "predicate": "true"}}
        ],
        "edges": [
            {"source": "t1", "target": "t2", "condition": "on_success"},
            {"source": "t1", "target": "t3", "condition": "on_failure"},
            {"source": "t2", "target": "t4", "condition": "sometimes"}
        ]
    });
    let f = rt().block_on(check_with(FlowType::Workflow, &p, &[]));
    let errs = errors(&f);
    let at: Vec<_> = errs
        .iter()
        .map(|e| (e.component.as_deref(), e.property.as_deref()))
        .collect();
    assert!(at.contains(&(None, Some("edges[2]"))), "{f:#?}");
    assert!(at.contains(&(Some("ghost"), Some("package_id"))), "{f:#?}");
    assert!(at.contains(&(Some("cleanup"), Some("statement"))), "{f:#?}");
    assert!(
        at.contains(&(Some("on_files"), Some("connection_id"))),
        "{f:#?}"
    );
    assert!(at.contains(&(Some("stray"), None)), "{f:#?}");
}

#[test]
fn flat_components_validate_like_wrapped_ones() {
    let p = json!({
        "components": [
            {"type": "postgres_source_component", "id": "s", "name": "orders", "connection_id": 1, "table": "orders"},
            {"type": "filter_component", "id": "f", "name": "big", "predicate": "total > 10"},
            {"type": "cloud_storage_destination_component", "id": "d", "name": "out", "connection_id": 5, "path": "o.csv"}
        ],
        "edges": [{"source": "s", "target": "f"}, {"source": "f", "target": "d"}]
    });
    assert!(rt().block_on(check(&p)).is_empty());
}

#[test]
fn column_names_keep_their_case() {
    let p = package(
        vec![
            component(
                "cloud_storage_source_component",
                "s",
                "crm",
                json!({"connection_id": 5, "path": "crm.csv",
                "schema": {"fields": [{"name": "Customer ID", "alias": "CustomerID", "type": "integer"}, {"name": "Name", "type": "string"}]}}),
            ),
            component(
                "select_component",
                "p",
                "pick",
                json!({"fields": ["CustomerID", "upper(Name) AS name"]}),
            ),
            file_sink("d"),
        ],
        &[("s", "p"), ("p", "d")],
    );
    assert!(rt().block_on(check(&p)).is_empty());
}
