//! `serve --demo`: an account `demo` with real sample data, created once in the data
//! directory, and a fresh token with ready-to-paste client configs at every start.

mod files;
mod rng;
mod seed;
mod shop;

use anyhow::Context;
use catalog::{seal::Sealer, tokens::NewToken, Store};

use crate::config::Config;

pub const ACCOUNT: &str = "demo";
pub const OWNER: &str = "demo@pipewright.local";

/// Creates the demo account and its data unless it already exists.
pub async fn ensure(store: &Store, sealer: &Sealer, cfg: &Config) -> anyhow::Result<()> {
    if store.find_account(ACCOUNT).await?.is_some() {
        tracing::info!(data_dir = %cfg.data_dir.display(), "reusing the demo account and its data");
        return Ok(());
    }
    let dir = cfg.data_dir.join("demo");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let shop = shop::generate(&dir.join("shop.db")).await?;
    shop::create_empty(&dir.join("analytics.db")).await?;
    files::write_samples(&dir.join("files"), &shop)?;
    seed::seed(store, sealer, &dir).await?;
    tracing::info!(dir = %dir.display(), customers = shop.customers.len(), orders = shop.orders.len(), "created the demo account");
    Ok(())
}

/// Mints a token for this start and prints it with client configs, once, on stdout.
pub async fn print_connect_help(store: &Store, cfg: &Config) -> anyhow::Result<()> {
    let acct = store.require_account(ACCOUNT).await?;
    let owner = store
        .account_owner(acct.id)
        .await?
        .context("the demo account has no owner")?;
    let name = format!(
        "serve --demo at {}",
        catalog::time::rfc3339(catalog::time::now_ms())
    );
    let (_, token) = store
        .create_token(NewToken {
            account_id: acct.id,
            user_id: owner.id,
            name: &name,
            lifetime_ms: None,
            read_only: false,
        })
        .await?;
    let url = format!("{}/{ACCOUNT}/api/mcp", cfg.public_url());
    let desktop = serde_json::json!({"mcpServers": {"pipewright": {
        "command": "npx",
        "args": ["mcp-remote", url, "--header", "Authorization:${AUTH_HEADER}"],
        "env": {"AUTH_HEADER": format!("Bearer {token}")}
    }}});
    println!(
        "\nPipewright demo is ready: account `{ACCOUNT}`, data in {dir}\n\
         MCP endpoint: {url}\n\
         Token (shown once; `pipewright token list` shows its name, never the token):\n  {token}\n\n\
         Claude Code:\n  claude mcp add --transport http pipewright {url} --header \"Authorization: Bearer {token}\"\n\n\
         Claude Desktop (claude_desktop_config.json):\n{desktop}\n\n\
         MCP Inspector:\n  npx @modelcontextprotocol/inspector --cli {url} --header \"Authorization: Bearer {token}\" --method tools/list\n\n\
         Try: \"List the workspaces in my Pipewright account and summarise the health of each one.\"\n",
        dir = cfg.data_dir.join("demo").display(),
        desktop = serde_json::to_string_pretty(&desktop).unwrap_or_default(),
    );
    Ok(())
}
