//! Structured logs on stderr (stdout belongs to stdio MCP and to printed tokens).

use tracing_subscriber::EnvFilter;

pub fn init(json: bool) {
    let filter = EnvFilter::try_from_env("PIPEWRIGHT_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,rmcp=warn"))
        // rmcp logs whole JSON-RPC messages (tool arguments and results, which may hold
        // credentials or previewed rows) at debug and trace: never let them through.
        .add_directive("rmcp=info".parse().expect("static directive"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // When stderr is gone (a closed pipe, `serve 2>&1 | head`), a failed log write must
        // not report itself with eprintln!, which panics and takes the request down.
        .log_internal_errors(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}
