//! `pipewright connection add|list|test|remove`. Secrets come from an environment
//! variable, a file or stdin, never from the command line (argv is visible to every user
//! of the machine) and are never printed.

use std::{collections::BTreeMap, io::Read, path::PathBuf};

use anyhow::{bail, Context};
use catalog::connections::NewConnection;
use clap::Subcommand;
use serde_json::{Map, Value};

use crate::cli::{load_config, open_store, StoreArgs};
use crate::config::Overrides;

#[derive(Subcommand)]
pub enum ConnectionCommand {
    /// Add a connection. Fields with --set key=value; secrets with --secret-env,
    /// --secret-file or --secret-stdin.
    Add {
        #[arg(long)]
        account: String,
        #[arg(long)]
        name: String,
        /// postgres, mysql, mariadb, mssql, sqlite, s3, gcs, azure, local, sftp, http.
        #[arg(long = "type")]
        kind: String,
        /// A non-secret field, e.g. host=db.internal, port=5432, database=shop, user=reader,
        /// tls_mode=require, path=/data/shop.db.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        fields: Vec<String>,
        /// A secret read from an environment variable: password=PGPASSWORD.
        #[arg(long, value_name = "NAME=VARIABLE")]
        secret_env: Vec<String>,
        /// A secret read from a file (trailing newline dropped): private_key=/run/keys/id.
        #[arg(long, value_name = "NAME=PATH")]
        secret_file: Vec<String>,
        /// One secret read from standard input (trailing newline dropped).
        #[arg(long, value_name = "NAME")]
        secret_stdin: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List connections (fields and which secrets are set; never their values).
    List {
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Connect and run a trivial query (a database) or list the top folder (a file store);
    /// exit 1 with the reason on failure.
    Test {
        id: i64,
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete a connection and its sealed secrets.
    Remove {
        id: i64,
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

fn pair<'a>(flag: &str, s: &'a str) -> anyhow::Result<(&'a str, &'a str)> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim(), v)),
        _ => bail!(
            "{flag} takes NAME=VALUE, got `{}`",
            s.split('=').next().unwrap_or("")
        ),
    }
}

/// `5432` → number, `true` → boolean, anything else → string.
fn field_value(v: &str) -> Value {
    if let Ok(n) = v.parse::<i64>() {
        return Value::from(n);
    }
    match v {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => Value::String(v.to_string()),
    }
}

fn trim_newline(mut s: String) -> String {
    while s.ends_with('\n') || s.ends_with('\r') {
        s.pop();
    }
    s
}

pub async fn run(cmd: ConnectionCommand) -> anyhow::Result<()> {
    match cmd {
        ConnectionCommand::Add {
            account,
            name,
            kind,
            fields,
            secret_env,
            secret_file,
            secret_stdin,
            store,
        } => {
            let mut map = Map::new();
            for f in &fields {
                let (k, v) = pair("--set", f)?;
                map.insert(k.to_string(), field_value(v));
            }
            let mut secrets = BTreeMap::new();
            for s in &secret_env {
                let (k, var) = pair("--secret-env", s)?;
                let v = std::env::var(var).with_context(|| {
                    format!("--secret-env {k}: environment variable {var} is not set")
                })?;
                secrets.insert(k.to_string(), v);
            }
            for s in &secret_file {
                let (k, path) = pair("--secret-file", s)?;
                let v = std::fs::read_to_string(PathBuf::from(path))
                    .with_context(|| format!("--secret-file {k}: cannot read {path}"))?;
                secrets.insert(k.to_string(), trim_newline(v));
            }
            if let Some(k) = secret_stdin {
                let mut v = String::new();
                std::io::stdin()
                    .read_to_string(&mut v)
                    .context("--secret-stdin: cannot read standard input")?;
                secrets.insert(k, trim_newline(v));
            }
            if secrets.values().any(|v| v.is_empty()) {
                bail!("a secret is empty; check the variable, file or input it comes from");
            }
            let cfg = load_config(&store, Overrides::default())?;
            let (store, sealer) = open_store(&cfg).await?;
            let acct = store.require_account(&account).await?;
            let id = store
                .create_connection(
                    &sealer,
                    NewConnection {
                        account_id: acct.id,
                        name: &name,
                        kind: &kind,
                        fields: map,
                        secrets: secrets.clone(),
                    },
                )
                .await?;
            eprintln!(
                "Created connection {id} \"{name}\" ({kind}) on account {}{}",
                acct.subdomain,
                if secrets.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", secrets sealed: {}",
                        secrets.keys().cloned().collect::<Vec<_>>().join(", ")
                    )
                }
            );
            println!("{id}");
        }
        ConnectionCommand::List { account, store } => {
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            let acct = store.require_account(&account).await?;
            let page = store
                .list_connections(acct.id, None, catalog::PageRequest::new(1000, 0))
                .await?;
            println!(
                "{:<5} {:<24} {:<9} {:<8} FIELDS / SECRETS SET",
                "ID", "NAME", "TYPE", "FAMILY"
            );
            for s in page.items {
                let c = store.connection(acct.id, s.id).await?;
                let fields = c
                    .fields
                    .iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}={}",
                            v.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string())
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ");
                println!(
                    "{:<5} {:<24} {:<9} {:<8} {fields}{}",
                    c.id,
                    c.name,
                    c.kind,
                    c.family.as_str(),
                    if c.secrets_set.is_empty() {
                        String::new()
                    } else {
                        format!(" / {}", c.secrets_set.join(", "))
                    }
                );
            }
        }
        ConnectionCommand::Test { id, account, store } => {
            let cfg = load_config(&store, Overrides::default())?;
            let (store, sealer) = open_store(&cfg).await?;
            let acct = store.require_account(&account).await?;
            let ping = crate::app::connections(&store, &sealer)
                .ping(acct.id, id)
                .await;
            match ping {
                Ok(p) => println!(
                    "ok: {} ({:.1} ms){}",
                    p.server_version,
                    p.latency_ms,
                    match p.can_write {
                        Some(true) => "; can write: yes (a SELECT-only user is safer for previews)",
                        Some(false) => "; can write: no",
                        None => "",
                    }
                ),
                // The test could not be made (no such connection, the store is down).
                Err(e) if e.is_ours() => bail!("{e}"),
                Err(e) => bail!("connection {id} failed: {e}"),
            }
        }
        ConnectionCommand::Remove { id, account, store } => {
            let cfg = load_config(&store, Overrides::default())?;
            let (store, _) = open_store(&cfg).await?;
            let acct = store.require_account(&account).await?;
            let c = store.delete_connection(acct.id, id).await?;
            eprintln!("Removed connection {id} \"{}\" ({})", c.name, c.kind);
        }
    }
    Ok(())
}
