//! `pipewright schedule list|create|enable|disable|remove`: the same store, rules and
//! audit trail as the MCP tools (changes are recorded as made by the system).

use anyhow::Context;
use catalog::{
    schedules::{ScheduleChange, ScheduleSpec},
    Actor, PageRequest,
};
use clap::Subcommand;
use serde_json::{Map, Value};

use crate::cli::{load_config, open_store, StoreArgs};
use crate::config::Overrides;

#[derive(Subcommand)]
pub enum ScheduleCommand {
    /// List an account's schedules with their next fire times.
    List {
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Schedule a package: prints the schedule and its next three fire times.
    Create {
        #[arg(long)]
        account: String,
        #[arg(long)]
        package: i64,
        #[arg(long)]
        name: String,
        /// Five fields, or six with seconds first, e.g. "0 */15 * * * *".
        #[arg(long)]
        cron: String,
        /// IANA time zone the cron is read in (default UTC), e.g. Europe/Berlin.
        #[arg(long)]
        time_zone: Option<String>,
        /// run_once (default) or skip: slots missed while no scheduler ran.
        #[arg(long)]
        missed: Option<String>,
        /// skip (default) or queue: a slot while the previous run is still going.
        #[arg(long)]
        overlap: Option<String>,
        /// Cluster id to run on (default: any worker).
        #[arg(long)]
        cluster: Option<i64>,
        /// A package variable for its runs, name=value (repeatable).
        #[arg(long = "var", value_name = "NAME=VALUE")]
        variables: Vec<String>,
        /// Create it switched off.
        #[arg(long)]
        disabled: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Switch a schedule on (its next fire time counts from now).
    Enable {
        id: i64,
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Switch a schedule off.
    Disable {
        id: i64,
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Delete a schedule (the runs it started are kept).
    Remove {
        id: i64,
        #[arg(long)]
        account: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(cmd: ScheduleCommand) -> anyhow::Result<()> {
    let (store_args, account) = match &cmd {
        ScheduleCommand::List { store, account }
        | ScheduleCommand::Create { store, account, .. }
        | ScheduleCommand::Enable { store, account, .. }
        | ScheduleCommand::Disable { store, account, .. }
        | ScheduleCommand::Remove { store, account, .. } => (store.clone(), account.clone()),
    };
    let cfg = load_config(&store_args, Overrides::default())?;
    let (store, _) = open_store(&cfg).await?;
    let acct = store.require_account(&account).await?;
    let who = Actor::system(acct.id).with_tool("pipewright schedule");
    match cmd {
        ScheduleCommand::List { .. } => {
            println!(
                "{:<5} {:<28} {:<8} {:<20} {:<16} {:<8} {:<26} LAST RUN",
                "ID", "NAME", "PACKAGE", "CRON", "TIME ZONE", "ENABLED", "NEXT RUN"
            );
            let mut offset = 0;
            loop {
                let page = store
                    .list_schedules(acct.id, None, None, PageRequest::new(100, offset))
                    .await?;
                for s in &page.items {
                    println!(
                        "{:<5} {:<28} {:<8} {:<20} {:<16} {:<8} {:<26} {}",
                        s.id,
                        s.name,
                        s.package_id,
                        s.cron,
                        s.time_zone,
                        if s.enabled { "yes" } else { "no" },
                        s.next_run_at.as_deref().unwrap_or("-"),
                        s.last_run_at.as_deref().unwrap_or("never")
                    );
                }
                offset += 100;
                if offset >= page.total {
                    break;
                }
            }
        }
        ScheduleCommand::Create {
            package,
            name,
            cron,
            time_zone,
            missed,
            overlap,
            cluster,
            variables,
            disabled,
            ..
        } => {
            let spec = ScheduleSpec {
                package_id: package,
                name,
                cron,
                time_zone,
                enabled: !disabled,
                variables: parse_vars(&variables)?,
                cluster_id: cluster,
                missed_policy: missed,
                overlap_policy: overlap,
            };
            let c = store.create_schedule(&who, spec).await?;
            print_change("Created", &c);
        }
        ScheduleCommand::Enable { id, .. } => {
            print_change("Enabled", &store.toggle_schedule(&who, id, true).await?)
        }
        ScheduleCommand::Disable { id, .. } => {
            print_change("Disabled", &store.toggle_schedule(&who, id, false).await?)
        }
        ScheduleCommand::Remove { id, .. } => {
            let s = store.delete_schedule(&who, id, None).await?;
            println!(
                "Removed schedule {} \"{}\"; the runs it started are kept.",
                s.id, s.name
            );
        }
    }
    Ok(())
}

fn print_change(what: &str, c: &ScheduleChange) {
    let s = &c.schedule;
    let state = if c.changed {
        what.to_string()
    } else {
        format!("Already {}", what.to_lowercase())
    };
    println!(
        "{state}: schedule {} \"{}\" (version {}), package {}, cron \"{}\" in {}, missed {}, overlap {}.",
        s.id, s.name, s.version, s.package_id, s.cron, s.time_zone, s.missed_policy, s.overlap_policy
    );
    if c.next_fire_times.is_empty() {
        println!("It is disabled: it will not fire until enabled.");
    } else {
        println!("Next fire times: {}", c.next_fire_times.join(", "));
    }
}

/// `name=value` pairs; values that read as a number or boolean are kept as such.
fn parse_vars(pairs: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut vars = Map::new();
    for pair in pairs {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| "--var takes NAME=VALUE".to_string())?;
        let value = serde_json::from_str::<Value>(value)
            .ok()
            .filter(|v| v.is_number() || v.is_boolean())
            .unwrap_or_else(|| Value::String(value.to_string()));
        vars.insert(name.trim().to_string(), value);
    }
    Ok(vars)
}
