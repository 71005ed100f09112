//! `explain_job_failure`: a failed run's primary error, its category, the component and
//! property at fault, next steps, detected patterns and a redacted log tail.

use catalog::runs::LogLine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{diagnosis::diagnose, log_tail, redact, store_error};
use crate::{
    context::ToolContext,
    error::ToolError,
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "explain_job_failure",
            title: "Explain a failed run",
            description: "Why a run failed: primary error, category (auth, connection, schema, expression, data, resource, cancelled, internal), component and property at fault, next_steps, detected patterns (FATAL, ERROR, exception, auth, …) and a redacted log tail (log_tail_lines default 50, max 200).",
            effect: Effect::Read,
        },
        explain_job_failure,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Args {
    pub run_id: i64,
    pub log_tail_lines: Option<i64>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Explanation {
    pub run_id: i64,
    pub package_id: i64,
    pub status: String,
    pub summary: String,
    pub error: Option<String>,
    pub category: Option<String>,
    pub component: Option<String>,
    pub property: Option<String>,
    /// `error`: from the run's structured error; `log`: detected in its text.
    pub source: Option<&'static str>,
    pub patterns: Vec<&'static str>,
    pub next_steps: Vec<String>,
    pub log: Vec<LogLine>,
}

async fn explain_job_failure(ctx: ToolContext, a: Args) -> Result<Explanation, ToolError> {
    let tail = log_tail(a.log_tail_lines, 50)?;
    let mut run = ctx
        .store
        .get_run(ctx.account_id(), a.run_id, tail)
        .await
        .map_err(store_error)?;
    // Diagnose the text as stored (patterns can need the words redaction replaces), then
    // scrub everything that is returned.
    let d = diagnose(&run);
    redact::log(&mut run.log);
    let scrub = |s: Option<String>| s.map(|s| redact::text(&s));
    Ok(Explanation {
        run_id: run.summary.id,
        package_id: run.summary.package_id,
        status: run.summary.status,
        summary: redact::text(&d.summary),
        error: scrub(d.error),
        category: d.category,
        component: scrub(d.component),
        property: scrub(d.property),
        source: d.source,
        patterns: d.patterns,
        next_steps: d.next_steps.iter().map(|s| redact::text(s)).collect(),
        log: run.log,
    })
}
