//! What every file-store test file needs: the test servers' variables (a skip without
//! them, a failure when services are required) and a store opened as a connection would
//! open it. Shared by `connectors/tests/{files,file_streams}.rs` and `engine/tests/files.rs`.
#![allow(dead_code)]

use std::{collections::BTreeMap, sync::Arc};

use connectors::files::{self, FileConfig, FileStore};
use serde_json::Value;

pub fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// The variables a store needs, or a skip (a failure when services are required).
pub fn need(keys: &[&str], what: &str) -> Option<Vec<String>> {
    let got: Vec<Option<String>> = keys.iter().map(|k| env(k)).collect();
    if got.iter().all(Option::is_some) {
        return Some(got.into_iter().map(Option::unwrap).collect());
    }
    assert!(
        env("PIPEWRIGHT_REQUIRE_SERVICES").as_deref() != Some("1"),
        "{what} is required: scripts/test starts it (scripts/file-servers, scripts/ssh-server)"
    );
    eprintln!("skipping: no {what}");
    None
}

/// The store of a connection of type `kind` with these fields and secrets.
pub fn open(kind: &str, fields: Value, secrets: &[(&str, &str)]) -> Arc<dyn FileStore> {
    let secrets: BTreeMap<String, String> = secrets
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let cfg = FileConfig::from_fields(kind, fields.as_object().unwrap(), secrets, None).unwrap();
    files::open(cfg).unwrap()
}
