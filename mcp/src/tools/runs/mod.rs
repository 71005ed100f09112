//! Runs: submit a package (`run_package`), watch it (`get_run`, `list_runs`), stop it
//! (`cancel_job`), run a failed one again (`retry_job`) and say why it failed
//! (`explain_job_failure`). One tool per file; the queue itself is the catalog's
//! (`catalog::runs`), and workers execute what it holds. Everything returned passes
//! through [`redact`].

pub mod cancel_job;
pub mod diagnosis;
pub mod explain_job_failure;
pub mod get_run;
pub mod list_runs;
pub mod redact;
pub mod retry_job;
pub mod run_package;

use catalog::CatalogError;

use crate::{
    error::{ErrorCode, ToolError},
    registry::ToolSpec,
};

/// This resource's tools, in the order `tools/list` shows them.
pub fn tools() -> Vec<ToolSpec> {
    vec![
        list_runs::spec(),
        get_run::spec(),
        explain_job_failure::spec(),
        run_package::spec(),
        cancel_job::spec(),
        retry_job::spec(),
    ]
}

/// The most log lines a tool returns.
pub const MAX_LOG_TAIL: usize = 200;

/// `log_tail_lines`, checked: `default` when absent, 0 to [`MAX_LOG_TAIL`].
pub fn log_tail(asked: Option<i64>, default: usize) -> Result<usize, ToolError> {
    match asked {
        None => Ok(default),
        Some(n) if (0..=MAX_LOG_TAIL as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(ToolError::invalid(
            "log_tail_lines",
            format!("log_tail_lines must be between 0 and {MAX_LOG_TAIL} (got {n})"),
        )),
    }
}

/// A catalog error of a run tool, told in the tool's arguments: a missing run, package
/// or cluster names `run_id`, `package_id` or `cluster_id`; a refusal names the argument
/// whose resource refused (the catalog's conflict messages start with its kind).
pub fn store_error(e: CatalogError) -> ToolError {
    match e {
        CatalogError::NotFound { kind, id } => {
            let (field, hint) = match kind {
                "package" => ("package_id", "list_packages or search_all shows package ids"),
                "cluster" => (
                    "cluster_id",
                    "list_clusters shows cluster ids; leave cluster_id out to let any worker run it",
                ),
                _ => ("run_id", "list_runs shows this account's runs"),
            };
            ToolError {
                field: Some(field.into()),
                hint: Some(hint.into()),
                ..ToolError::new(
                    ErrorCode::NotFound,
                    format!("{kind} {id} not found in this account"),
                )
            }
        }
        CatalogError::Conflict(m) => {
            let field = match m.split(' ').next() {
                Some("package") => "package_id",
                Some("cluster") => "cluster_id",
                _ => "run_id",
            };
            ToolError::new(ErrorCode::Conflict, m).with_field(field)
        }
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_tail_defaults_and_bounds() {
        assert_eq!(log_tail(None, 20).unwrap(), 20);
        assert_eq!(log_tail(Some(0), 20).unwrap(), 0);
        assert_eq!(log_tail(Some(200), 20).unwrap(), 200);
        let e = log_tail(Some(201), 20).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("log_tail_lines"));
        assert!(log_tail(Some(-1), 50).is_err());
    }

    #[test]
    fn store_errors_name_the_argument_of_the_missing_or_refusing_resource() {
        let e = store_error(CatalogError::not_found("cluster", 7));
        assert_eq!(
            (e.code, e.field.as_deref()),
            (ErrorCode::NotFound, Some("cluster_id"))
        );
        assert_eq!(e.message, "cluster 7 not found in this account");
        let e = store_error(CatalogError::not_found("package", 3));
        assert_eq!(e.field.as_deref(), Some("package_id"));
        let e = store_error(CatalogError::not_found("run", 9));
        assert_eq!(e.field.as_deref(), Some("run_id"));
        let e = store_error(CatalogError::Conflict("package 3 is archived".into()));
        assert_eq!(
            (e.code, e.field.as_deref()),
            (ErrorCode::Conflict, Some("package_id"))
        );
        let e = store_error(CatalogError::Conflict("run 9 is completed".into()));
        assert_eq!(e.field.as_deref(), Some("run_id"));
    }
}
