//! A server whose stderr is gone (a closed pipe: `pipewright serve 2>&1 | head`) keeps
//! answering. tracing-subscriber reports a failed log write with eprintln!, which panics on
//! a closed stderr and took every request down with it.

mod support;

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use serde_json::json;
use support::{Session, BIN};

#[tokio::test]
async fn requests_survive_a_closed_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let l = err.next().expect("server output").unwrap();
        if let Some(a) = l.strip_prefix("pipewright listening on ") {
            break a.trim().to_string();
        }
    };
    drop(err); // the read end closes: every later log write fails
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let token = loop {
        let l = out.next().expect("token line").unwrap();
        if let Some(t) = l.split_whitespace().find(|w| w.starts_with("pwt_")) {
            break t.to_string();
        }
    };
    let mut c = Session::open(&format!("{base}/demo/api/mcp"), &token).await;
    for _ in 0..20 {
        let w = c.ok("list_workspaces", json!({})).await;
        assert!(w["workspaces"].is_array(), "{w}");
    }
    let _ = child.kill();
    let _ = child.wait();
}
