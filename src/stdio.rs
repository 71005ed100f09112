//! `pipewright stdio`: the same tools over stdin/stdout for one account, with no bridge.
//! The token comes from `PIPEWRIGHT_TOKEN` (never argv, where `ps` would show it) and is
//! re-checked on every request. A guard ([`mcp::stdio_guard`]) stands between the real
//! stdin/stdout and rmcp, so a malformed or over-long line gets a JSON-RPC error, not silence.

use anyhow::{bail, Context};
use mcp::{stdio_guard::StdioGuard, CallerSource, PipewrightServer};
use rmcp::ServiceExt;

use crate::config::Config;

pub async fn serve(cfg: Config, account: String) -> anyhow::Result<()> {
    let token = std::env::var("PIPEWRIGHT_TOKEN").unwrap_or_default();
    if token.trim().is_empty() {
        bail!("set PIPEWRIGHT_TOKEN to a token from `pipewright token create --account {account} --name …`");
    }
    let shared = crate::app::open(&cfg, false).await?;
    let store = shared.store.clone();
    // Runs started over stdio need a worker too; it stops with the session.
    let worker_stop = tokio_util::sync::CancellationToken::new();
    let _worker_guard = worker_stop.clone().drop_guard();
    let _worker = crate::worker::spawn(&cfg, &shared, worker_stop.child_token());
    let acct = store.find_account(&account).await?.with_context(|| {
        format!("account `{account}` not found; `pipewright account list` shows them")
    })?;
    if let Err(r) = store.authenticate(token.trim(), &acct).await? {
        bail!("{}", r.message());
    }
    let server = PipewrightServer::new(
        shared,
        CallerSource::Fixed {
            account,
            token: token.trim().into(),
        },
    );
    tracing::info!(account = acct.id, "serving MCP over stdio");
    let (guard, rmcp_ends) = StdioGuard::spawn(tokio::io::stdin(), tokio::io::stdout());
    let session = match server.serve(rmcp_ends).await {
        Ok(running) => running
            .waiting()
            .await
            .map(drop)
            .context("stdio session failed"),
        Err(e) => Err(e).context("stdio handshake failed"),
    };
    // Whatever ended the session, the replies already made (the guard's too) reach stdout.
    // A client that closed its end of stdout has gone; that is no failure of ours.
    if let Err(e) = guard.finish().await {
        tracing::debug!(error = %e, "stdout closed before every reply was written");
    }
    store.close().await;
    session
}
