//! Context is a budget: what `tools/list` costs an assistant, for a full-scope token.
//! DESIGN.md: at most 40 KB in all, and 20 KB of what a model reads (names,
//! descriptions, input schemas).

mod support;

use serde_json::{json, Value};
use support::demo;

const TOTAL_MAX: usize = 40 * 1024;
const MODEL_MAX: usize = 20 * 1024;

#[tokio::test]
async fn tools_list_fits_the_context_budget() {
    let (_s, mut c) = demo().await;
    let m = c.request("tools/list", json!({})).await.message();
    let tools = m["result"]["tools"].as_array().expect("tools").clone();
    let total = serde_json::to_string(&m["result"]).unwrap().len();
    let read: usize = tools
        .iter()
        .map(|t| {
            t["name"].as_str().unwrap().len()
                + t["description"].as_str().unwrap_or("").len()
                + serde_json::to_string(&t["inputSchema"]).unwrap().len()
        })
        .sum();
    let mut by_tool: Vec<(usize, &str)> = tools
        .iter()
        .map(|t: &Value| {
            (
                serde_json::to_string(t).unwrap().len(),
                t["name"].as_str().unwrap(),
            )
        })
        .collect();
    by_tool.sort();
    println!(
        "tools/list: {} tools, {total} bytes in all, {read} bytes a model reads; largest: {:?}",
        tools.len(),
        &by_tool[by_tool.len().saturating_sub(5)..]
    );
    assert!(
        total <= TOTAL_MAX,
        "tools/list is {total} bytes (max {TOTAL_MAX})"
    );
    assert!(
        read <= MODEL_MAX,
        "what a model reads is {read} bytes (max {MODEL_MAX})"
    );
}
