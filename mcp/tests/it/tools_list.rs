//! The tool table as `tools/list` serves it, compared with `snapshots/tools_list.json`.
//! A change to a tool's name, title, description, annotations or input/output schema
//! fails here; when the change is meant, regenerate the snapshot with
//! `UPDATE_SNAPSHOTS=1 cargo test -p mcp --test it tools_list` and review its diff.

use std::path::PathBuf;

use serde_json::{json, Value};

const REGENERATE: &str = "if the change is meant, run `UPDATE_SNAPSHOTS=1 cargo test -p mcp --test it tools_list` and review the snapshot's diff";

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots/tools_list.json")
}

/// Every tool definition in `tools/list` order, and which tools a read-only caller and a
/// conformance-fixture server see.
fn current() -> Value {
    let full = mcp::tools::registry(false).unwrap();
    let names = |r: &mcp::registry::Registry, read_only: bool| -> Vec<String> {
        r.visible(read_only)
            .map(|t| t.meta.name.to_string())
            .collect()
    };
    json!({
        "tools": full.visible(false).map(|t| serde_json::to_value(&t.definition).unwrap()).collect::<Vec<_>>(),
        "read_only_names": names(&full, true),
        "with_conformance_fixtures": names(&mcp::tools::registry(true).unwrap(), false),
    })
}

#[test]
fn tools_list_is_unchanged() {
    let now = current();
    let path = snapshot_path();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&now).unwrap() + "\n").unwrap();
        return;
    }
    let pinned: Value = serde_json::from_str(
        &std::fs::read_to_string(&path)
            .expect("the snapshot exists (UPDATE_SNAPSHOTS=1 writes it)"),
    )
    .unwrap();
    let (now_tools, pinned_tools) = (
        now["tools"].as_array().unwrap(),
        pinned["tools"].as_array().unwrap(),
    );
    let name = |t: &Value| t["name"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        now_tools.iter().map(name).collect::<Vec<_>>(),
        pinned_tools.iter().map(name).collect::<Vec<_>>(),
        "tool names or their order changed; {REGENERATE}"
    );
    for (n, p) in now_tools.iter().zip(pinned_tools) {
        assert_eq!(
            n,
            p,
            "the definition of `{}` changed; {REGENERATE}",
            name(n)
        );
    }
    assert_eq!(now, pinned, "{REGENERATE}");
}
