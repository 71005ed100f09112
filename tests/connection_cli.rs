//! `pipewright connection add|list|test|remove` against the real binary and the machine's
//! PostgreSQL: secrets come from the environment, a file or stdin, and never come back.

#[path = "support/hostile.rs"]
mod hostile;
mod support;

use std::{
    io::Write,
    process::{Command, Stdio},
};

use support::{cli, cli_err, services_required, BIN};

const SECRET: &str = "cli-Secret-LEAKCHECK-41";

fn run(
    data: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> std::process::Output {
    let mut c = Command::new(BIN);
    c.args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn add_list_test_remove_without_showing_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    cli(
        d,
        &[
            "account",
            "create",
            "--subdomain",
            "acme",
            "--owner",
            "ops@acme.io",
        ],
    );
    let mut seen = String::new();

    let added = run(
        d,
        &[
            "connection",
            "add",
            "--account",
            "acme",
            "--name",
            "pg",
            "--type",
            "postgres",
            "--set",
            "host=127.0.0.1",
            "--set",
            "port=5432",
            "--set",
            "database=postgres",
            "--set",
            "user=postgres",
            "--secret-env",
            "password=PW_TEST_SECRET",
        ],
        &[("PW_TEST_SECRET", SECRET)],
        None,
    );
    assert!(added.status.success(), "{}", text(&added));
    seen += &text(&added);
    let pg_id = String::from_utf8_lossy(&added.stdout).trim().to_string();
    assert!(pg_id.parse::<i64>().is_ok(), "{pg_id}");

    let added = run(
        d,
        &[
            "connection",
            "add",
            "--account",
            "acme",
            "--name",
            "nowhere",
            "--type",
            "mariadb",
            "--set",
            "host=127.0.0.1",
            "--set",
            "port=1",
            "--set",
            "user=etl",
            "--secret-stdin",
            "password",
        ],
        &[],
        Some(&format!("{SECRET}\n")),
    );
    assert!(added.status.success(), "{}", text(&added));
    seen += &text(&added);
    let bad_id = String::from_utf8_lossy(&added.stdout).trim().to_string();

    let listed = cli(d, &["connection", "list", "--account", "acme"]);
    assert!(
        listed.contains("host=127.0.0.1") && listed.contains("/ password"),
        "{listed}"
    );
    seen += &listed;

    let tested = run(
        d,
        &["connection", "test", &pg_id, "--account", "acme"],
        &[],
        None,
    );
    if services_required() || tested.status.success() {
        assert!(tested.status.success(), "{}", text(&tested));
        assert!(
            text(&tested).starts_with("ok: PostgreSQL"),
            "{}",
            text(&tested)
        );
    }
    seen += &text(&tested);
    let failed = run(
        d,
        &["connection", "test", &bad_id, "--account", "acme"],
        &[],
        None,
    );
    assert!(!failed.status.success());
    assert!(
        text(&failed).contains("cannot reach 127.0.0.1:1"),
        "{}",
        text(&failed)
    );
    seen += &text(&failed);

    // Bad input: clear errors.
    let e = cli_err(
        d,
        &[
            "connection",
            "add",
            "--account",
            "acme",
            "--name",
            "x",
            "--type",
            "postgres",
            "--set",
            "password=oops",
        ],
    );
    assert!(e.contains("looks like a credential"), "{e}");
    let e = cli_err(
        d,
        &[
            "connection",
            "add",
            "--account",
            "acme",
            "--name",
            "x",
            "--type",
            "postgres",
            "--secret-env",
            "password=PW_NOT_SET_ANYWHERE",
        ],
    );
    assert!(e.contains("PW_NOT_SET_ANYWHERE is not set"), "{e}");
    let e = cli_err(
        d,
        &[
            "connection",
            "add",
            "--account",
            "acme",
            "--name",
            "pg",
            "--type",
            "postgres",
        ],
    );
    assert!(e.contains("already exists"), "{e}");

    let removed = run(
        d,
        &["connection", "remove", &bad_id, "--account", "acme"],
        &[],
        None,
    );
    assert!(removed.status.success(), "{}", text(&removed));
    let e = cli_err(d, &["connection", "remove", &bad_id, "--account", "acme"]);
    assert!(e.contains("not found"), "{e}");
    assert!(!cli(d, &["connection", "list", "--account", "acme"]).contains("nowhere"));

    assert!(!seen.contains(SECRET), "a secret was printed:\n{seen}");
}

/// `connection test` against a PostgreSQL that declines TLS under `prefer` and asks for the
/// password in clear text: refused before the password is sent; when the connection allows
/// it, the password the server quotes back is not printed.
#[test]
fn connection_test_never_sends_or_prints_a_password_a_hostile_server_asks_for() {
    let hostile = hostile::Hostile::postgres();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    cli(
        d,
        &[
            "account",
            "create",
            "--subdomain",
            "acme",
            "--owner",
            "ops@acme.io",
        ],
    );
    let port = format!("port={}", hostile.port);
    let add = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "connection",
            "add",
            "--account",
            "acme",
            "--name",
            name,
            "--type",
            "postgres",
            "--set",
            "host=127.0.0.1",
            "--set",
            &port,
            "--set",
            "database=shop",
            "--set",
            "user=etl",
            "--set",
            "tls_mode=prefer",
            "--secret-env",
            "password=PW_TEST_SECRET",
        ];
        args.extend(extra);
        let added = run(d, &args, &[("PW_TEST_SECRET", SECRET)], None);
        assert!(added.status.success(), "{}", text(&added));
        String::from_utf8_lossy(&added.stdout).trim().to_string()
    };
    let refused = add("refused", &[]);
    let allowed = add("allowed", &["--set", "allow_cleartext_password=true"]);

    let out = run(
        d,
        &["connection", "test", &refused, "--account", "acme"],
        &[],
        None,
    );
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(
        shown.contains("asked for the password in clear text over an unencrypted connection")
            && shown.contains("allow_cleartext_password=true"),
        "{shown}"
    );
    assert!(
        !hostile.received_text(SECRET) && hostile.passwords().is_empty(),
        "the password was sent"
    );

    let out = run(
        d,
        &["connection", "test", &allowed, "--account", "acme"],
        &[],
        None,
    );
    assert!(!out.status.success());
    let shown = text(&out);
    assert_eq!(
        hostile.passwords(),
        [SECRET],
        "allowed, the password is sent"
    );
    assert!(shown.contains("password \"[redacted]\""), "{shown}");
    assert!(!shown.contains(SECRET), "a secret was printed:\n{shown}");
}
