//! The command line: `serve`, `stdio`, `worker`, `token`, `account`, `connection`,
//! `schedule`.

use std::{path::PathBuf, sync::Arc};

use anyhow::{bail, Context};
use catalog::{seal::Sealer, tokens::NewToken, Store};
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};

#[derive(Parser)]
#[command(
    name = "pipewright",
    version,
    about = "Self-hostable data-integration control plane with an MCP server"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the control-plane store is. Every subcommand takes these.
#[derive(Args, Clone, Default)]
pub struct StoreArgs {
    /// Data directory (SQLite store, master key, demo files). Env: PIPEWRIGHT_DATA_DIR.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// `postgres://…` control-plane database instead of SQLite. Env: PIPEWRIGHT_DATABASE_URL.
    #[arg(long)]
    database_url: Option<String>,
    /// TOML configuration file. Env: PIPEWRIGHT_CONFIG.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the MCP endpoint over Streamable HTTP at /{account}/api/mcp.
    Serve(ServeArgs),
    /// Serve the same tools over stdio for one account (token from PIPEWRIGHT_TOKEN).
    Stdio {
        /// Account subdomain or numeric id.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Bridge stdio to a remote Pipewright MCP endpoint, for clients that speak only stdio:
    /// with the token in PIPEWRIGHT_TOKEN, or else its own OAuth sign-in in the browser
    /// (kept in the user's config directory, mode 0600, and refreshed).
    Connect {
        /// The endpoint, e.g. https://pipewright.example.com/acme/api/mcp
        url: String,
        /// Forget (and revoke) the sign-in kept for this endpoint, then exit.
        #[arg(long)]
        sign_out: bool,
    },
    /// Run a worker alone: take queued runs (of one cluster, or all) from the store and
    /// execute them, until stopped (SIGTERM or Ctrl-C).
    Worker {
        /// Only runs placed on the cluster of this name (default: every run).
        #[arg(long)]
        cluster: Option<String>,
        /// Runs executed at once (default 2). Env: PIPEWRIGHT_WORKER_CONCURRENCY.
        #[arg(long)]
        concurrency: Option<usize>,
        /// Log format: text or json. Env: PIPEWRIGHT_LOG_FORMAT.
        #[arg(long)]
        log_format: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Users who sign in to the web pages (OAuth consent, Connected Applications).
    #[command(subcommand)]
    User(UserCommand),
    /// Personal Access Tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Accounts and their members.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Connections to databases and file stores (secrets sealed, never printed).
    #[command(subcommand)]
    Connection(crate::connection_cmd::ConnectionCommand),
    /// Schedules that run packages (the same store and audit trail as the MCP tools).
    #[command(subcommand)]
    Schedule(crate::schedule_cmd::ScheduleCommand),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Create (once) the `demo` account with sample data and print a fresh token.
    #[arg(long)]
    pub demo: bool,
    /// Address to listen on (default 127.0.0.1:8080). Env: PIPEWRIGHT_BIND.
    #[arg(long)]
    pub bind: Option<std::net::SocketAddr>,
    /// Public URL clients use, e.g. https://pipewright.example.com. Env: PIPEWRIGHT_PUBLIC_URL.
    #[arg(long)]
    pub public_url: Option<String>,
    /// Serve only read-only tools to every token. Env: PIPEWRIGHT_READ_ONLY.
    #[arg(long)]
    pub read_only: bool,
    /// Log format: text or json. Env: PIPEWRIGHT_LOG_FORMAT.
    #[arg(long)]
    pub log_format: Option<String>,
    /// Also register the fixture tools the MCP conformance suite looks for by name
    /// (test harness only).
    #[arg(long, hide = true)]
    pub conformance_fixtures: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Mint a token and print it, alone, on stdout. It is shown only this once.
    Create {
        #[arg(long)]
        account: String,
        /// A name you will recognise in `token list`, e.g. "Claude Desktop on laptop".
        #[arg(long)]
        name: String,
        /// Email of the member the token acts as (default: the account's owner).
        #[arg(long)]
        user: Option<String>,
        /// Lifetime, e.g. 90d, 12h, 1y (default 10 years).
        #[arg(long)]
        expires_in: Option<String>,
        /// The token sees and may call only read-only tools.
        #[arg(long)]
        read_only: bool,
        /// The token sees and may call only these tools (comma-separated names).
        #[arg(long, value_delimiter = ',')]
        tools: Option<Vec<String>>,
        /// The token sees and may use only these connections (comma-separated ids); a
        /// package that uses another is refused.
        #[arg(long, value_delimiter = ',')]
        connections: Option<Vec<i64>>,
        /// The token may change only the packages and schedules it creates itself (and
        /// create, clone, run and schedule those): a safe mode for agents.
        #[arg(long)]
        created_only: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tokens (names and dates; never the tokens themselves).
    List {
        /// Only this account (default: all).
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token by id; it stops working on the next request, everywhere.
    Revoke {
        id: i64,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user to an account and set their password, read from stdin (one line).
    Add {
        #[arg(long)]
        account: String,
        #[arg(long)]
        email: String,
        /// Display name (default: the email).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Set a user's password, read from stdin (one line; never an argument, where `ps`
    /// would show it). Their open sign-ins end.
    Passwd {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account with its owner.
    Create {
        /// URL name of the account, e.g. acme.
        #[arg(long)]
        subdomain: String,
        /// Display name (default: the subdomain).
        #[arg(long)]
        name: Option<String>,
        /// Email of the owner (created if new).
        #[arg(long)]
        owner: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List accounts.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Add a member to an account.
    AddMember {
        #[arg(long)]
        account: String,
        #[arg(long)]
        email: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Switch the MCP endpoint or account-wide read-only mode on or off.
    Set {
        account: String,
        /// on|off
        #[arg(long, value_parser = on_off)]
        mcp: Option<bool>,
        /// on|off
        #[arg(long, value_parser = on_off)]
        read_only: Option<bool>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        _ => Err("use on or off".into()),
    }
}

pub fn load_config(store: &StoreArgs, extra: Overrides) -> anyhow::Result<Config> {
    Config::load(
        store.config.clone(),
        Overrides {
            data_dir: store.data_dir.clone(),
            database_url: store.database_url.clone(),
            ..extra
        },
    )
}

/// Opens the store and the secret sealer the configuration points at.
pub async fn open_store(cfg: &Config) -> anyhow::Result<(Store, Arc<Sealer>)> {
    let store = match &cfg.database_url {
        Some(url) => Store::open(url).await?,
        None => Store::open_data_dir(&cfg.data_dir).await?,
    };
    std::fs::create_dir_all(&cfg.data_dir)
        .with_context(|| format!("cannot create {}", cfg.data_dir.display()))?;
    let key = std::env::var("PIPEWRIGHT_MASTER_KEY").ok();
    let sealer = Sealer::load(key.as_deref(), &cfg.data_dir)?;
    Ok((store, Arc::new(sealer)))
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let cfg = load_config(
                &args.store,
                Overrides {
                    bind: args.bind,
                    public_url: args.public_url.clone(),
                    read_only: args.read_only.then_some(true),
                    log_format: args.log_format.clone(),
                    ..Default::default()
                },
            )?;
            crate::logging::init(cfg.log_format == "json");
            crate::http::serve(cfg, args.demo, args.conformance_fixtures).await
        }
        Command::Connect { url, sign_out } => crate::connect::run(url, sign_out).await,
        Command::Stdio { account, store } => {
            let cfg = load_config(&store, Overrides::default())?;
            crate::logging::init(cfg.log_format == "json");
            crate::stdio::serve(cfg, account).await
        }
        Command::Worker {
            cluster,
            concurrency,
            log_format,
            store,
        } => {
            let mut cfg = load_config(
                &store,
                Overrides {
                    log_format,
                    ..Default::default()
                },
            )?;
            if let Some(c) = cluster {
                cfg.worker_cluster = c;
            }
            if let Some(n) = concurrency {
                cfg.worker_concurrency = n.max(1);
            }
            cfg.worker_concurrency = cfg.worker_concurrency.max(1);
            crate::logging::init(cfg.log_format == "json");
            crate::worker::serve_alone(cfg).await
        }
        Command::Token(t) => token(t).await,
        Command::User(u) => user(u).await,
        Command::Account(a) => account(a).await,
        Command::Connection(c) => crate::connection_cmd::run(c).await,
        Command::Schedule(c) => crate::schedule_cmd::run(c).await,
    }
}

async fn token(cmd: TokenCommand) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Create {
            account,
            name,
            user,
            expires_in,
            read_only,
            tools,
            connections,
            created_only,
            store,
        } => {
            let scopes = catalog::access::Scopes {
                tools: tools.map(|t| checked_tools(&t)).transpose()?,
                connections,
                created_only,
            };
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            let acct = store.require_account(&account).await?;
            let user = match user {
                Some(email) => store.user_by_email(&email).await?.with_context(|| {
                    format!("no user {email}; add them with `pipewright account add-member`")
                })?,
                None => store
                    .account_owner(acct.id)
                    .await?
                    .context("the account has no members; add one first")?,
            };
            let lifetime = expires_in
                .as_deref()
                .map(crate::duration::parse_ms)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let (summary, secret) = store
                .create_scoped_token(
                    NewToken {
                        account_id: acct.id,
                        user_id: user.id,
                        name: &name,
                        lifetime_ms: lifetime,
                        read_only,
                    },
                    &scopes,
                )
                .await?;
            eprintln!(
                "Created token {} \"{}\" for {} on account {}{}, expires {}. It is shown once:",
                summary.id,
                summary.name,
                user.email,
                acct.subdomain,
                if read_only { " (read-only)" } else { "" },
                summary.expires_at.as_deref().unwrap_or("never")
            );
            println!("{secret}");
            Ok(())
        }
        TokenCommand::List { account, store } => {
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            let accounts = match account {
                Some(a) => vec![store.require_account(&a).await?],
                None => store.list_accounts().await?,
            };
            println!(
                "{:<5} {:<12} {:<28} {:<11} {:<12} {:<20} {:<20} STATUS; LIMITS",
                "ID", "ACCOUNT", "NAME", "PREFIX", "ACCESS", "CREATED", "LAST USED"
            );
            for a in accounts {
                for t in store.list_tokens(a.id).await? {
                    let status = if t.revoked_at.is_some() {
                        "revoked".to_string()
                    } else {
                        format!("expires {}", t.expires_at.as_deref().unwrap_or("never"))
                    };
                    let access = if t.read_only {
                        "read-only"
                    } else if t.scopes.created_only {
                        "created-only"
                    } else {
                        "full"
                    };
                    println!(
                        "{:<5} {:<12} {:<28} {:<11} {:<12} {:<20} {:<20} {}; {}",
                        t.id,
                        a.subdomain,
                        t.name,
                        format!("{}…", t.prefix),
                        access,
                        t.created_at,
                        t.last_used_at.as_deref().unwrap_or("never"),
                        status,
                        t.scopes.describe(t.read_only)
                    );
                }
            }
            Ok(())
        }
        TokenCommand::Revoke { id, store } => {
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            let t = store.revoke_token(id).await?;
            println!(
                "Revoked token {} \"{}\"; it is refused from the next request on.",
                t.id, t.name
            );
            Ok(())
        }
    }
}

/// Tool names for `--tools`, each one the server has.
fn checked_tools(names: &[String]) -> anyhow::Result<Vec<String>> {
    let registry = mcp::tools::registry(false).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out: Vec<String> = Vec::new();
    for n in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if registry.get(n).is_none() {
            bail!("--tools: no tool is called `{n}`; `tools/list` with an unlimited token shows the names");
        }
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    if out.is_empty() {
        bail!("--tools: name at least one tool, e.g. --tools list_packages,get_package");
    }
    Ok(out)
}

/// One line of stdin, without its line break.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        bail!("give the password on stdin, e.g. `read -rs PW; echo \"$PW\" | pipewright user passwd --email …`");
    }
    Ok(pw)
}

async fn user(cmd: UserCommand) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            account,
            email,
            name,
            store,
        } => {
            let password = password_from_stdin()?;
            catalog::users::check_password_shape(&password)?;
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            let a = store.require_account(&account).await?;
            let u = store
                .add_member(a.id, &email, name.as_deref().unwrap_or(&email), "member")
                .await?;
            store.set_password(&u.email, &password).await?;
            println!(
                "{} is a member of {} and can sign in at /login",
                u.email, a.subdomain
            );
            Ok(())
        }
        UserCommand::Passwd { email, store } => {
            let password = password_from_stdin()?;
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            let u = store.set_password(&email, &password).await?;
            println!("password set for {}; their open sign-ins ended", u.email);
            Ok(())
        }
    }
}

async fn account(cmd: AccountCommand) -> anyhow::Result<()> {
    match cmd {
        AccountCommand::Create {
            subdomain,
            name,
            owner,
            store,
        } => {
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            let a = store
                .create_account(&subdomain, name.as_deref().unwrap_or(&subdomain))
                .await?;
            store.add_member(a.id, &owner, &owner, "owner").await?;
            println!(
                "Created account {} (id {}) owned by {owner}",
                a.subdomain, a.id
            );
            Ok(())
        }
        AccountCommand::List { store } => {
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            println!(
                "{:<5} {:<20} {:<24} {:<5} READ-ONLY",
                "ID", "SUBDOMAIN", "NAME", "MCP"
            );
            for a in store.list_accounts().await? {
                println!(
                    "{:<5} {:<20} {:<24} {:<5} {}",
                    a.id,
                    a.subdomain,
                    a.name,
                    if a.mcp_enabled { "on" } else { "off" },
                    if a.read_only { "yes" } else { "no" }
                );
            }
            Ok(())
        }
        AccountCommand::AddMember {
            account,
            email,
            store,
        } => {
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            let a = store.require_account(&account).await?;
            let u = store.add_member(a.id, &email, &email, "member").await?;
            println!("{} is a member of {}", u.email, a.subdomain);
            Ok(())
        }
        AccountCommand::Set {
            account,
            mcp,
            read_only,
            store,
        } => {
            if mcp.is_none() && read_only.is_none() {
                bail!("nothing to change: give --mcp on|off and/or --read-only on|off");
            }
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            let a = store.require_account(&account).await?;
            let a = store.set_account_flags(a.id, mcp, read_only).await?;
            println!(
                "{}: mcp {}, read-only {}",
                a.subdomain,
                if a.mcp_enabled { "on" } else { "off" },
                if a.read_only { "on" } else { "off" }
            );
            Ok(())
        }
    }
}
