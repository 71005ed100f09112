//! The `pipewright` binary: configuration, command line, the HTTP server with its auth
//! edge, the stdio server, and the demo. Everything it serves comes from `mcp`, which
//! sits on `catalog`, `engine` and `connectors`.

mod app;
mod cli;
mod config;
mod connect;
mod connection_cmd;
mod demo;
mod duration;
mod http;
mod logging;
mod schedule_cmd;
mod scheduler;
mod stdio;
mod worker;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(cli::run(cli));
    // Work detached past its deadline (a read from a hung mount, a blocked stdin read)
    // must not keep the process alive once the server is done.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
