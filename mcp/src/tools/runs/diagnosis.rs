//! Why a run failed and what to change, for `explain_job_failure`. A run a worker ended
//! carries a structured error (category, component, property, message, hint) and that is
//! the answer; runs without one (the demo's seeded history, a crash before the error was
//! stored) are read from their last error and log by the pattern table below.

use catalog::runs::RunDetail;
use serde_json::Value;

/// Patterns looked for in the error and the log: (name, lower-case needles). The
/// categories come first, in the order one is chosen when several match (an auth failure
/// often mentions its connection).
const PATTERNS: &[(&str, &[&str])] = &[
    (
        "auth",
        &[
            "auth",
            "password",
            "credential",
            "access denied",
            "permission denied",
            "login failed",
            "unauthorized",
            "forbidden",
        ],
    ),
    (
        "connection",
        &[
            "connection refused",
            "could not connect",
            "connection reset",
            "unreachable",
            "no route to host",
            "timed out",
            "timeout",
            "could not resolve",
            "name resolution",
            "tls",
            "ssl",
            "network",
        ],
    ),
    (
        "schema",
        &[
            "schema",
            "column",
            "no such table",
            "does not exist",
            "unknown table",
            "relation",
            "not found",
        ],
    ),
    (
        "expression",
        &[
            "expression",
            "syntax error",
            "cannot parse",
            "invalid function",
        ],
    ),
    (
        "data",
        &[
            "cannot convert",
            "invalid value",
            "invalid input",
            "overflow",
            "duplicate key",
            "null value",
            "malformed",
        ],
    ),
    (
        "resource",
        &[
            "out of memory",
            "no space left",
            "disk full",
            "too many connections",
            "heartbeat",
        ],
    ),
    ("FATAL", &["fatal"]),
    ("ERROR", &["error"]),
    ("exception", &["exception", "panicked", "traceback"]),
];

/// How many of [`PATTERNS`] are categories.
const CATEGORY_PATTERNS: usize = 6;

/// What explain_job_failure says about a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    pub error: Option<String>,
    pub category: Option<String>,
    pub component: Option<String>,
    pub property: Option<String>,
    /// `error` (the run's structured error) or `log` (detected in its text).
    pub source: Option<&'static str>,
    pub patterns: Vec<&'static str>,
    pub next_steps: Vec<String>,
    pub summary: String,
}

/// The diagnosis of `run`, whose `log` is the tail to read.
pub fn diagnose(run: &RunDetail) -> Diagnosis {
    let id = run.summary.id;
    let status = run.summary.status.as_str();
    let texts: Vec<&str> = run
        .log
        .iter()
        .flat_map(|l| [l.level.as_str(), l.message.as_str()])
        .chain(run.summary.last_error.as_deref())
        .collect();
    let patterns = detect(&texts);
    if !matches!(status, "failed" | "cancelled") {
        return Diagnosis {
            error: None,
            category: None,
            component: None,
            property: None,
            source: None,
            patterns,
            next_steps: Vec::new(),
            summary: format!(
                "run {id} is {status}, not failed: there is no failure to explain{}",
                if matches!(status, "queued" | "running") {
                    " yet (get_run shows its progress)"
                } else {
                    ""
                }
            ),
        };
    }
    let stored = run.error.as_ref().filter(|e| e.is_object());
    let field = |k: &str| -> Option<String> {
        stored
            .and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let error = field("message")
        .or_else(|| run.summary.last_error.clone())
        .or_else(|| {
            run.log
                .iter()
                .rev()
                .find(|l| matches!(l.level.as_str(), "ERROR" | "FATAL"))
                .map(|l| l.message.clone())
        });
    let (category, source) = match field("category") {
        Some(c) => (c, "error"),
        None if status == "cancelled" => ("cancelled".to_string(), "log"),
        None => {
            let primary: Vec<&str> = error.as_deref().into_iter().collect();
            let found = category_of(&primary).or_else(|| category_of(&texts));
            (found.unwrap_or("internal").to_string(), "log")
        }
    };
    let (component, property) = (field("component"), field("property"));
    let next_steps = steps(
        id,
        status,
        &category,
        component.as_deref(),
        property.as_deref(),
        field("hint").as_deref(),
    );
    let at = component
        .as_deref()
        .map(|c| format!(" in component `{c}`"))
        .unwrap_or_default();
    Diagnosis {
        summary: format!("run {id} {status}{at}: a {category} problem"),
        error,
        category: Some(category),
        component,
        property,
        source: Some(source),
        patterns,
        next_steps,
    }
}

/// The names of every pattern found in `texts`, in table order.
fn detect(texts: &[&str]) -> Vec<&'static str> {
    let lower: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
    PATTERNS
        .iter()
        .filter(|(_, needles)| lower.iter().any(|t| needles.iter().any(|n| t.contains(n))))
        .map(|(name, _)| *name)
        .collect()
}

/// The first category whose patterns appear in `texts`.
fn category_of(texts: &[&str]) -> Option<&'static str> {
    detect(texts)
        .into_iter()
        .find(|p| PATTERNS[..CATEGORY_PATTERNS].iter().any(|(n, _)| n == p))
}

/// What to do, most specific first, naming the component and property where known.
fn steps(
    run_id: i64,
    status: &str,
    category: &str,
    component: Option<&str>,
    property: Option<&str>,
    hint: Option<&str>,
) -> Vec<String> {
    let c = component
        .map(|c| format!("component `{c}`"))
        .unwrap_or_else(|| "the failing component (get_package lists them)".into());
    let at = match property {
        Some(p) => format!("{c}, property `{p}`"),
        None => c.clone(),
    };
    let mut out = Vec::new();
    if let Some(h) = hint {
        out.push(format!("In {at}: {h}"));
    }
    out.push(match category {
        "auth" => format!("Fix the credentials of the connection that {c} uses, then check them with test_connection"),
        "connection" => format!("Check the host, port and network path of the connection that {c} uses with test_connection"),
        "schema" => format!("Compare {at} with what exists (discover_schema, discover_file_schema, preview_data), change it with update_package_components, then validate_package"),
        "expression" => format!("Correct the expression in {at} with update_package_components; validate_package checks it without running"),
        "data" => format!("Look at the values {c} reads or writes (preview_data) and at the destination's column types"),
        "resource" => "Retry when the workers are less busy, or run fewer packages at once".into(),
        "cancelled" => "Nothing is broken: the run was cancelled".into(),
        _ => "Retry; if it fails the same way, report it with this log".into(),
    });
    out.push(if status == "cancelled" {
        format!("To run it anyway: retry_job with run_id {run_id}")
    } else {
        format!("Then retry_job with run_id {run_id} (the failed run is kept)")
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use catalog::runs::{LogLine, RunSummary};
    use serde_json::json;

    fn run(
        status: &str,
        error: Option<Value>,
        last_error: Option<&str>,
        log: &[(&str, &str)],
    ) -> RunDetail {
        RunDetail {
            summary: RunSummary {
                id: 7,
                package_id: 1,
                package_name: "orders".into(),
                cluster_id: None,
                status: status.into(),
                created_at: String::new(),
                started_at: None,
                completed_at: None,
                runtime_in_seconds: None,
                rows_read: 0,
                rows_written: 0,
                parent_run_id: None,
                last_error: last_error.map(String::from),
            },
            package_version: None,
            variables: json!({}),
            dynamic_variables: json!({}),
            progress: json!([]),
            error,
            cancel_requested: false,
            worker_id: None,
            heartbeat_at: None,
            log: log
                .iter()
                .map(|(level, message)| LogLine {
                    at: String::new(),
                    level: level.to_string(),
                    message: message.to_string(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_structured_error_names_component_and_property_in_the_steps() {
        let d = diagnose(&run(
            "failed",
            Some(
                json!({"category": "expression", "component": "totals", "property": "expression",
                "message": "unknown column `amout`", "hint": "did you mean `amount`?"}),
            ),
            Some("unknown column `amout`"),
            &[("ERROR", "unknown column `amout`")],
        ));
        assert_eq!(d.category.as_deref(), Some("expression"));
        assert_eq!(d.source, Some("error"));
        assert_eq!(d.component.as_deref(), Some("totals"));
        assert_eq!(d.error.as_deref(), Some("unknown column `amout`"));
        assert_eq!(
            d.next_steps[0],
            "In component `totals`, property `expression`: did you mean `amount`?"
        );
        assert!(d.next_steps[1].contains("component `totals`, property `expression`"));
        assert!(d
            .next_steps
            .last()
            .unwrap()
            .contains("retry_job with run_id 7"));
    }

    /// (last_error, expected category): the demo's seeded failures and a few others.
    const LOG_CASES: &[(&str, &str)] = &[
        ("ERROR connection refused: could not connect to warehouse-postgres at 127.0.0.1:5432", "connection"),
        ("ERROR schema mismatch: column `is_vip` expected boolean, found \"maybe\" on line 812", "schema"),
        ("FATAL auth failed for user \"pipewright\" on warehouse-postgres; check the connection's credentials", "auth"),
        ("relation \"ordrs\" does not exist", "schema"),
        ("java.lang.OutOfMemoryError: out of memory", "resource"),
        ("something odd happened", "internal"),
    ];

    #[test]
    fn runs_without_a_structured_error_are_read_from_their_text() {
        for (text, category) in LOG_CASES {
            let d = diagnose(&run(
                "failed",
                None,
                Some(text),
                &[("INFO", "starting"), ("ERROR", text)],
            ));
            assert_eq!(d.category.as_deref(), Some(*category), "{text}");
            assert_eq!(d.source, Some("log"));
            assert_eq!(d.error.as_deref(), Some(*text));
        }
        let d = diagnose(&run(
            "failed",
            None,
            Some(LOG_CASES[2].0),
            &[("FATAL", LOG_CASES[2].0)],
        ));
        assert_eq!(d.patterns, vec!["auth", "FATAL"]);
    }

    #[test]
    fn the_primary_error_wins_over_the_rest_of_the_log() {
        let d = diagnose(&run(
            "failed",
            None,
            None,
            &[
                ("WARN", "connection slow, timed out once"),
                ("ERROR", "column `x` does not exist"),
            ],
        ));
        assert_eq!(d.error.as_deref(), Some("column `x` does not exist"));
        assert_eq!(d.category.as_deref(), Some("schema"));
        assert!(d.patterns.contains(&"connection"));
    }

    #[test]
    fn runs_that_did_not_fail_say_so_plainly() {
        let d = diagnose(&run("completed", None, None, &[("INFO", "done")]));
        assert_eq!(d.category, None);
        assert!(d.next_steps.is_empty());
        assert_eq!(
            d.summary,
            "run 7 is completed, not failed: there is no failure to explain"
        );
        let d = diagnose(&run("running", None, None, &[]));
        assert!(d.summary.contains("yet"), "{}", d.summary);
        let d = diagnose(&run("cancelled", None, None, &[]));
        assert_eq!(d.category.as_deref(), Some("cancelled"));
        assert!(d.next_steps.last().unwrap().contains("retry_job"));
    }
}
