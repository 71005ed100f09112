//! The last line of defence for run output: everything a run tool returns passes through
//! here, so text that *looks* secret is scrubbed even if a worker's own redaction (which
//! knows the connection's actual secrets, see `connectors::redact`) missed it. Patterns,
//! not known values: passwords in URLs (`scheme://user:pass@`), `password=…`-style pairs
//! (also quoted and JSON), bearer and basic credentials, Pipewright tokens, AWS access key
//! ids and PEM private keys; and, in JSON objects, the value of any key named like a
//! secret.

use catalog::runs::{LogLine, RunDetail, RunSummary};
use connectors::redact::REDACTED;
use serde_json::Value;

/// `text` with everything that looks like a secret replaced by `[redacted]` (the one
/// pattern redactor, shared with the worker's log lines).
pub fn text(text: &str) -> String {
    connectors::redact::credentials_in_text(text)
}

/// `v` with every string scrubbed, and the value of every secret-named key replaced.
pub fn value(v: &mut Value) {
    match v {
        Value::String(s) => *s = text(s),
        Value::Array(items) => items.iter_mut().for_each(value),
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if connectors::redact::is_secret_name(k) && !v.is_null() {
                    *v = Value::String(REDACTED.into());
                } else {
                    value(v);
                }
            }
        }
        _ => {}
    }
}

pub fn log(lines: &mut [LogLine]) {
    for l in lines {
        l.message = text(&l.message);
    }
}

pub fn summary(s: &mut RunSummary) {
    if let Some(e) = &mut s.last_error {
        *e = text(e);
    }
}

pub fn detail(d: &mut RunDetail) {
    summary(&mut d.summary);
    value(&mut d.variables);
    value(&mut d.dynamic_variables);
    value(&mut d.progress);
    if let Some(e) = &mut d.error {
        value(e);
    }
    log(&mut d.log);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// (input, what must remain, what must be gone)
    const CASES: &[(&str, &str, &str)] = &[
        (
            "connecting to postgres://etl:hunter2@db:5432/shop",
            "postgres://etl:[redacted]@db:5432/shop",
            "hunter2",
        ),
        (
            "mysql://root:p%40ss@127.0.0.1/test failed",
            "mysql://root:[redacted]@127.0.0.1/test failed",
            "p%40ss",
        ),
        (
            "host=db user=etl password=hunter2 sslmode=require",
            "host=db user=etl password=[redacted] sslmode=require",
            "hunter2",
        ),
        (
            r#"{"user": "etl", "password": "two words"}"#,
            r#"{"user": "etl", "password": "[redacted]"}"#,
            "two words",
        ),
        (
            "DB_PASSWORD='s3cr3t value' next",
            "DB_PASSWORD='[redacted]' next",
            "s3cr3t",
        ),
        (
            "AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI/K7MDENG, region",
            "AWS_SECRET_ACCESS_KEY: [redacted], region",
            "wJalrXUtnFEMI",
        ),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc",
            "Authorization: [redacted]",
            "eyJhbGciOiJIUzI1NiJ9",
        ),
        (
            "token pwt_AbCdEfGh12345678xyz leaked",
            "token [redacted] leaked",
            "pwt_AbCdEfGh",
        ),
        ("key AKIAIOSFODNN7EXAMPLE here", "key [redacted] here", "AKIAIOSFODNN7EXAMPLE"),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\nafter",
            "[redacted]\nafter",
            "b3BlbnNzaC1rZXk",
        ),
        ("api_key=abc123&x=1", "api_key=[redacted]&x=1", "abc123"),
    ];

    #[test]
    fn secret_looking_text_is_scrubbed() {
        for (input, kept, gone) in CASES {
            let out = text(input);
            assert!(out.contains(kept), "{input:?} became {out:?}");
            assert!(!out.contains(gone), "{input:?} kept a secret: {out:?}");
        }
    }

    #[test]
    fn ordinary_run_messages_are_left_alone() {
        for msg in [
            "FATAL: password authentication failed for user \"etl\"",
            "ERROR connection refused: could not connect to db at 127.0.0.1:5432",
            "read 5000 rows from https://example.com/data.csv",
            "column `is_vip` expected boolean on line 812",
            "auth failed for user \"pipewright\"",
        ] {
            assert_eq!(text(msg), msg);
        }
    }

    #[test]
    fn secret_named_keys_lose_their_values_anywhere_in_json() {
        let mut v = json!({
            "since": "2026-01-01",
            "db_password": "hunter2",
            "nested": [{"apiKey": 42, "note": "url postgres://u:pw@h/db"}],
            "token": null,
        });
        value(&mut v);
        assert_eq!(
            v,
            json!({
                "since": "2026-01-01",
                "db_password": "[redacted]",
                "nested": [{"apiKey": "[redacted]", "note": "url postgres://u:[redacted]@h/db"}],
                "token": null,
            })
        );
    }
}
