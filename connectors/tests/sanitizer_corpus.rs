//! The sanitizer against the corpus in `tests/corpus/`: every fragment users really write
//! passes in its dialects, every hostile one is rejected in its dialects, with a reason.

use connectors::sanitize::{sanitize, Scope};

#[path = "support/tool_words.rs"]
mod tool_words;

#[path = "support/where_corpus.rs"]
mod where_corpus;
use where_corpus::{columns, corpus, schema};

#[test]
fn everyday_fragments_pass() {
    let cols = columns();
    let lines = corpus(include_str!("corpus/where_ok.txt"));
    assert!(lines.len() >= 60, "only {} good fragments", lines.len());
    let mut failures = Vec::new();
    for (dialects, frag) in &lines {
        for d in dialects {
            let scope = Scope {
                schema: schema(*d),
                table: "orders",
                columns: &cols,
            };
            match sanitize(frag, *d, &scope) {
                Ok(p) => {
                    // What passes re-parses to the same text (the rendering is stable).
                    let again = sanitize(p.sql(), *d, &scope).unwrap_or_else(|e| {
                        panic!("{d:?}: rendering of {frag:?} does not pass: {e}")
                    });
                    assert_eq!(
                        again.sql(),
                        p.sql(),
                        "{d:?}: unstable rendering of {frag:?}"
                    );
                }
                Err(e) => failures.push(format!("{d:?}: {frag:?}: {e}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "rejected good fragments:\n{}",
        failures.join("\n")
    );
}

#[test]
fn hostile_fragments_are_rejected_with_a_reason() {
    let cols = columns();
    let lines = corpus(include_str!("corpus/where_hostile.txt"));
    assert!(lines.len() >= 100, "only {} hostile fragments", lines.len());
    let mut passed = Vec::new();
    for (dialects, frag) in &lines {
        for d in dialects {
            let scope = Scope {
                schema: schema(*d),
                table: "orders",
                columns: &cols,
            };
            match sanitize(frag, *d, &scope) {
                Ok(p) => passed.push(format!("{d:?}: {frag:?} passed as {:?}", p.sql())),
                Err(e) => {
                    assert!(!e.reason.is_empty(), "{frag:?}: empty reason");
                    assert!(
                        e.to_string().starts_with("the condition is refused at `"),
                        "{e}"
                    );
                    // The MCP layer names `where_clause`; the reason never does (the part
                    // quoted before it is the caller's own text).
                    assert_eq!(tool_words::named_in(&e.reason), None, "{e}");
                }
            }
        }
    }
    assert!(
        passed.is_empty(),
        "hostile fragments passed:\n{}",
        passed.join("\n")
    );
}
