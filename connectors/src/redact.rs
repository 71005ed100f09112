//! Scrubbing a connection's secrets out of text that came from upstream. A server (or a
//! library quoting it) can put anything in an error message, the password it was just
//! sent included; drivers are opened behind a boundary that passes every error through a
//! [`Redactor`] holding that connection's secrets, so no error site has to remember to.

use std::sync::LazyLock;

use regex::Regex;

use crate::error::DriverError;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Lines of a multi-line secret (a PEM private key) shorter than this are not scrubbed on
/// their own: they are armour or padding, not key material.
const MIN_LINE: usize = 16;

/// A connection's secrets, in every spelling an upstream message may quote them in.
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first, without empties or duplicates.
    needles: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} spellings)", self.needles.len())
    }
}

impl Redactor {
    /// From secret values; empty ones are ignored.
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut needles = Vec::new();
        for s in secrets.into_iter().filter(|s| !s.is_empty()) {
            needles.push(s.to_string());
            needles.push(percent_encoded(s, false));
            needles.push(percent_encoded(s, true));
            needles.push(s.escape_debug().to_string());
            if s.contains('\n') {
                needles.extend(
                    s.lines()
                        .map(str::trim)
                        .filter(|l| l.len() >= MIN_LINE && !l.starts_with("-----"))
                        .map(String::from),
                );
            }
        }
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Redactor { needles }
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }

    /// `text` with every occurrence of a secret replaced by [`REDACTED`]. Occurrences that
    /// overlap or touch become one marker, so no part of either secret is left behind.
    pub fn text(&self, text: &str) -> String {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for n in &self.needles {
            let mut from = 0;
            while let Some(i) = text[from..].find(n.as_str()) {
                let start = from + i;
                spans.push((start, start + n.len()));
                // Overlapping occurrences count too: `aa` twice in `aaa`.
                from = start + text[start..].chars().next().map_or(1, char::len_utf8);
            }
        }
        if spans.is_empty() {
            return text.to_string();
        }
        spans.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        let mut spans = spans.into_iter().peekable();
        while let Some((start, mut end)) = spans.next() {
            while let Some(&(s, e)) = spans.peek() {
                if s > end {
                    break;
                }
                end = end.max(e);
                spans.next();
            }
            out.push_str(&text[at..start]);
            out.push_str(REDACTED);
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The error with every text it carries scrubbed.
    pub fn error(&self, e: DriverError) -> DriverError {
        if self.is_empty() {
            return e;
        }
        e.map_text(|s| self.text(&s))
    }
}

/// Whether a name (a variable's, a JSON key's, an environment variable's) says its value
/// is a secret: `password`, `db_pass`, `PGPASSWORD`, `api-key`, `aws_secret_access_key`,
/// `ssh_key`, `passphrase`, `token`, … The one rule the worker (log redaction) and the run
/// tools (results) share.
pub fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "token",
        "credential",
        "authorization",
        "apikey",
        "api_key",
        "access_key",
        "private_key",
        "session_key",
    ];
    WORDS.iter().any(|w| n.contains(w))
        || n == "key"
        || n.ends_with("_key")
        || n == "pass"
        || n.ends_with("_pass")
}

/// Key names that hold secrets (`password`, `db_password`, `api-key`, `AWS_SECRET_ACCESS_KEY`, …).
const SECRET_KEY: &str = r"[\w\-]*(?:password|passwd|passphrase|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credential|authorization|session[_\-]?key)[\w\-]*";

struct Rule {
    pattern: Regex,
    replacement: String,
}

fn rule(pattern: &str, replacement: &str) -> Rule {
    Rule {
        // The patterns are constants of this file, checked by its tests.
        pattern: Regex::new(pattern).expect("a valid redaction pattern"),
        replacement: replacement.replace("{R}", REDACTED),
    }
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        rule(
            r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
            "{R}",
        ),
        // scheme://user:password@host
        rule(
            r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/@]*):[^\s@/]*@",
            "${1}:{R}@",
        ),
        rule(
            r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{6,}=*",
            "${1} {R}",
        ),
        rule(r"\bpwt_[A-Za-z0-9_\-]{8,}", "{R}"),
        rule(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b", "{R}"),
        // "password": "…", password='…', password=…
        rule(
            &format!(r#"(?i)({SECRET_KEY})("?\s*[=:]\s*)"(?:[^"\\]|\\.)*""#),
            r#"${1}${2}"{R}""#,
        ),
        rule(
            &format!(r"(?i)({SECRET_KEY})('?\s*[=:]\s*)'[^']*'"),
            "${1}${2}'{R}'",
        ),
        rule(
            &format!(r#"(?i)({SECRET_KEY})(\s*[=:]\s*)[^\s"'&;,)}}\]]+"#),
            "${1}${2}{R}",
        ),
    ]
});

/// `text` with credentials any text may carry scrubbed, whoever's they are: PEM private
/// keys, the password of a URL (`scheme://user:password@host`), bearer and basic
/// credentials, Pipewright tokens, AWS access key ids, and the value of `password=…`,
/// `"token": "…"`, `PGPASSWORD=…`-style pairs. Patterns, not known values: for run log
/// lines and run tool results, on top of a [`Redactor`] that knows the connection's own.
pub fn credentials_in_text(text: &str) -> String {
    let mut out = text.to_string();
    for r in RULES.iter() {
        if r.pattern.is_match(&out) {
            out = r
                .pattern
                .replace_all(&out, r.replacement.as_str())
                .into_owned();
        }
    }
    out
}

/// RFC 3986 percent-encoding of everything but unreserved characters, as a URL or a
/// form body would carry the secret.
fn percent_encoded(s: &str, lower: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else if lower {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_exact_and_percent_encoded_secrets() {
        let r = Redactor::new(["p@ss w/rd"]);
        assert_eq!(
            r.text("password \"p@ss w/rd\" rejected"),
            "password \"[redacted]\" rejected"
        );
        assert_eq!(
            r.text("postgres://u:p%40ss%20w%2Frd@h/db"),
            "postgres://u:[redacted]@h/db"
        );
        assert_eq!(
            r.text("postgres://u:p%40ss%20w%2frd@h/db"),
            "postgres://u:[redacted]@h/db"
        );
    }

    #[test]
    fn scrubs_every_occurrence_and_debug_escaped_secrets() {
        let r = Redactor::new(["s\"cret"]);
        assert_eq!(
            r.text("s\"cret and s\"cret, quoted: \"s\\\"cret\""),
            "[redacted] and [redacted], quoted: \"[redacted]\""
        );
    }

    #[test]
    fn overlapping_secrets_leave_no_part_behind() {
        let r = Redactor::new(["abcd", "cdef"]);
        assert_eq!(r.text("xxabcdefyy"), "xx[redacted]yy");
        // One secret overlapping itself.
        let r = Redactor::new(["aa"]);
        assert_eq!(r.text("baaab"), "b[redacted]b");
        // A secret inside another.
        let r = Redactor::new(["hunter2", "hunter2hunter2!"]);
        assert_eq!(r.text("[hunter2hunter2!]"), "[[redacted]]");
    }

    #[test]
    fn empty_secrets_are_ignored() {
        let r = Redactor::new(["", ""]);
        assert!(r.is_empty());
        assert_eq!(r.text("nothing to hide"), "nothing to hide");
        let e = r.error(DriverError::Query("kept".into()));
        assert_eq!(e.to_string(), "the database refused the query: kept");
    }

    #[test]
    fn key_lines_are_scrubbed_but_not_the_armour() {
        let key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        let r = Redactor::new([key]);
        assert_eq!(
            r.text("bad key line b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ near -----END OPENSSH PRIVATE KEY-----"),
            "bad key line [redacted] near -----END OPENSSH PRIVATE KEY-----"
        );
    }

    #[test]
    fn multibyte_text_around_secrets_survives() {
        let r = Redactor::new(["Zoë-pw"]);
        assert_eq!(r.text("ééZoë-pwé"), "éé[redacted]é");
    }

    #[test]
    fn credentials_in_any_text_are_scrubbed() {
        let t = credentials_in_text(
            "failed: postgres://etl:s3cr3t@db:5432/shop; dsn password=hunter2 user=x, Token: abc.def",
        );
        assert!(
            !t.contains("s3cr3t") && !t.contains("hunter2") && !t.contains("abc.def"),
            "{t}"
        );
        assert!(t.contains("postgres://etl:[redacted]@db:5432/shop"), "{t}");
        assert!(t.contains("user=x"), "{t}");
        assert_eq!(
            credentials_in_text("https://example.com/a:b@c"),
            "https://example.com/a:b@c"
        );
        assert_eq!(credentials_in_text("passwords differ"), "passwords differ");
        assert!(!credentials_in_text("PGPASSWORD=hunter2 psql").contains("hunter2"));
    }

    #[test]
    fn secret_names_are_one_rule() {
        for n in [
            "password",
            "db_pass",
            "PGPASSWORD",
            "api-key",
            "AWS_SECRET_ACCESS_KEY",
            "ssh_key",
            "passphrase",
            "token",
            "key",
        ] {
            assert!(is_secret_name(n), "{n}");
        }
        for n in [
            "region",
            "since",
            "keyword",
            "monkey",
            "passenger",
            "days_back",
        ] {
            assert!(!is_secret_name(n), "{n}");
        }
    }

    #[test]
    fn errors_keep_their_kind_and_lose_the_secret() {
        let r = Redactor::new(["hunter2"]);
        let e = r.error(DriverError::Unreachable {
            target: "db:5432".into(),
            detail: "server said hunter2".into(),
        });
        assert_eq!(e.kind(), "unreachable");
        assert!(e.to_string().contains("server said [redacted]"), "{e}");
        let e = r.error(DriverError::config("password", "hunter2 is wrong"));
        assert_eq!(
            e.to_string(),
            "the connection is misconfigured: password: [redacted] is wrong"
        );
    }
}
