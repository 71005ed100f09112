//! `discover_file_schema` and `test_connection` on file connections, through the MCP
//! endpoint of the real binary: the demo's sample files (a local folder), and an S3
//! bucket on the moto server that scripts/test starts, added with the CLI.

mod support;

use serde_json::{json, Value};
use support::{cli, connection_id, demo, services_required};

fn types(d: &Value) -> Vec<String> {
    d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["type"].as_str().unwrap().to_string())
        .collect()
}

fn names(d: &Value) -> Vec<String> {
    d["column_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn discovers_every_demo_sample_file() {
    let (_s, mut c) = demo().await;
    let files = connection_id(&mut c, "sample-files").await;
    let d = c
        .ok(
            "discover_file_schema",
            json!({"connection_id": files, "path": "customers.csv"}),
        )
        .await;
    assert_eq!(d["dialect"]["delimiter"], json!(","), "{d}");
    assert_eq!(
        names(&d),
        [
            "id",
            "first_name",
            "last_name",
            "email",
            "country",
            "city",
            "created_at",
            "is_vip"
        ]
    );
    let t = types(&d);
    assert_eq!(
        (t[0].as_str(), t[7].as_str()),
        ("integer", "boolean"),
        "{d}"
    );
    assert_eq!(
        d["fields"][0],
        json!({"name": "id", "alias": "id", "type": "integer"})
    );
    assert_eq!(d["field_count"], json!(8));
    assert_eq!(d["truncated"], json!(false));

    let d = c
        .ok(
            "discover_file_schema",
            json!({"connection_id": files, "path": "orders_eu.csv"}),
        )
        .await;
    assert_eq!(d["dialect"]["delimiter"], json!(";"), "{d}");
    assert_eq!(d["dialect"]["record_delimiter"], json!("\r\n"));
    let total = d["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "total")
        .unwrap();
    assert_eq!(total["type"], json!("decimal"), "{d}");
    assert_eq!(total["format"], json!("decimal_separator=,"));
    assert_eq!(types(&d)[2], "date");

    let d = c
        .ok(
            "discover_file_schema",
            json!({"connection_id": files, "path": "products.tsv"}),
        )
        .await;
    assert_eq!(d["dialect"]["delimiter"], json!("\t"), "{d}");
    assert_eq!(types(&d).last().unwrap(), "decimal");

    let d = c
        .ok(
            "discover_file_schema",
            json!({"connection_id": files, "path": "support_tickets.txt"}),
        )
        .await;
    assert_eq!(d["dialect"]["delimiter"], json!("|"), "{d}");
    assert_eq!(
        d["ragged_rows"],
        json!(0),
        "quoted line breaks stay inside their field: {d}"
    );

    let d = c
        .ok(
            "discover_file_schema",
            json!({"connection_id": files, "path": "legacy_customers_latin1.csv"}),
        )
        .await;
    assert_eq!(d["dialect"]["encoding"], json!("windows-1252"), "{d}");
    assert!(d["dialect"]["preamble_lines"].as_u64().unwrap() >= 1, "{d}");
    assert!(
        d["sample_rows"].to_string().contains('é')
            || d["sample_rows"].to_string().contains('ü')
            || d["sample_rows"].to_string().contains('ö'),
        "{d}"
    );

    // A glob picks the newest match and says how many matched.
    let d = c
        .ok(
            "discover_file_schema",
            json!({"connection_id": files, "path": "*.csv"}),
        )
        .await;
    assert!(d["matched_files"].as_u64().unwrap() >= 3, "{d}");
    assert!(d["notes"][0].as_str().unwrap().contains("newest"), "{d}");

    // Every hint overrides its guess.
    let d = c
        .ok(
            "discover_file_schema",
            json!({"connection_id": files, "path": "customers.csv", "delimiter": "none",
                   "header_row": 0, "lines": 5, "quote": "none", "escape": "none",
                   "char_encoding": "windows-1252", "record_delimiter": "LF"}),
        )
        .await;
    assert_eq!(d["field_count"], json!(1), "{d}");
    assert_eq!(d["dialect"]["header_row"], json!(0));
    assert_eq!(d["dialect"]["encoding"], json!("windows-1252"));
    assert_eq!(d["rows_sampled"], json!(5));
    assert_eq!(d["confidence"]["delimiter"], json!(1.0));

    let ok = c
        .ok("test_connection", json!({"connection_id": files}))
        .await;
    assert_eq!(ok["success"], json!(true), "{ok}");
}

#[tokio::test]
async fn bad_file_requests_name_the_field_and_the_fix() {
    let (s, mut c) = demo().await;
    let files = connection_id(&mut c, "sample-files").await;
    let shop = connection_id(&mut c, "shop-db").await;
    let dir = s.data_dir.join("demo/files");
    std::fs::create_dir_all(dir.join("archive")).unwrap();
    std::fs::write(dir.join("archive/old.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(dir.join("empty.csv"), "").unwrap();
    std::fs::write(dir.join("blank.csv"), "\n\n  \n").unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/files/image.png"
        ),
        dir.join("image.png"),
    )
    .unwrap();
    std::fs::write(
        dir.join("data.parquet"),
        b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02",
    )
    .unwrap();

    let cases: &[(Value, &str, &str)] = &[
        (json!({"path": "nope.csv"}), "path", "not found"),
        (json!({"path": "archive"}), "path", "is a folder"),
        (json!({"path": "*.json"}), "path", "no file matches"),
        (json!({"path": "empty.csv"}), "path", "empty"),
        (json!({"path": "blank.csv"}), "path", "empty"),
        (json!({"path": "image.png"}), "path", "PNG image"),
        (json!({"path": "data.parquet"}), "path", "Parquet"),
        (json!({"path": "../../etc/passwd"}), "path", "not found"),
        (
            json!({"path": "legacy_customers_latin1.csv", "char_encoding": "UTF-8"}),
            "char_encoding",
            "not valid UTF-8",
        ),
        (
            json!({"path": "customers.csv", "char_encoding": "klingon"}),
            "char_encoding",
            "unknown encoding",
        ),
        (
            json!({"path": "customers.csv", "delimiter": ",,"}),
            "delimiter",
            "one character",
        ),
        (
            json!({"path": "customers.csv", "quote": "«»"}),
            "quote",
            "one character",
        ),
        (
            json!({"path": "customers.csv", "record_type": "xml"}),
            "record_type",
            "not supported",
        ),
        (
            json!({"path": "customers.csv", "header_row": -1}),
            "header_row",
            "0 = no header",
        ),
        (
            json!({"path": "customers.csv", "lines": 0}),
            "lines",
            "between 1 and 50000",
        ),
        (
            json!({"path": "customers.csv", "sample_bytes": 10}),
            "sample_bytes",
            "between",
        ),
        (
            json!({"path": "customers.csv", "header_row": 5000}),
            "header_row",
            "past the end of the sample",
        ),
        (
            json!({"path": "customers.csv", "record_type": "json"}),
            "record_type",
            "no line of the sample is a JSON object",
        ),
        (
            json!({"path": "customers.csv", "bucket": "other"}),
            "bucket",
            "no buckets",
        ),
        (json!({"path": " "}), "path", "give the file's path"),
    ];
    for (extra, field, says) in cases {
        let mut args = json!({"connection_id": files});
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let e = c.err("discover_file_schema", args.clone()).await;
        assert_eq!(e["field"], json!(field), "{args}: {e}");
        assert!(
            e["message"].as_str().unwrap().contains(says),
            "{args}: `{}` should say `{says}`",
            e["message"]
        );
    }
    let e = c
        .err(
            "discover_file_schema",
            json!({"connection_id": shop, "path": "x.csv"}),
        )
        .await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a file connection"),
        "{e}"
    );
    // The tools that only work on databases still say so for a file connection.
    let e = c
        .err(
            "preview_data",
            json!({"connection_id": files, "table_name": "customers.csv"}),
        )
        .await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a database connection"),
        "{e}"
    );
}

/// In every value a caller sends below: none may come back in an error.
const MARKER: &str = "Zq7MARKERq";

#[tokio::test]
async fn file_errors_name_the_field_never_the_value_or_a_server_path() {
    let (s, mut c) = demo().await;
    let files = connection_id(&mut c, "sample-files").await;
    let dir = s.data_dir.join("demo/files");
    std::fs::create_dir_all(dir.join(format!("dir-{MARKER}"))).unwrap();
    let server_paths = [
        s.data_dir.display().to_string(),
        s.data_dir.canonicalize().unwrap().display().to_string(),
    ];
    let m = MARKER;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"path": "customers.csv", "delimiter": format!("{m};")}),
            "delimiter",
        ),
        (json!({"path": "customers.csv", "quote": m}), "quote"),
        (json!({"path": "customers.csv", "escape": m}), "escape"),
        (
            json!({"path": "customers.csv", "record_delimiter": m}),
            "record_delimiter",
        ),
        (
            json!({"path": "customers.csv", "char_encoding": m}),
            "char_encoding",
        ),
        (
            json!({"path": "customers.csv", "record_type": m}),
            "record_type",
        ),
        (json!({"path": "customers.csv", "bucket": m}), "bucket"),
        (json!({"path": format!("{m}/nope.csv")}), "path"),
        (json!({"path": format!("{m}.csv")}), "path"),
        (json!({"path": format!("{m}*.csv")}), "path"),
        (json!({"path": format!("{m}/*.csv")}), "path"),
        (json!({"path": format!("dir-{m}")}), "path"),
        (json!({"path": format!("../{m}.csv")}), "path"),
        (
            json!({"path": format!("{}/{m}.csv", dir.display())}),
            "path",
        ),
    ];
    for (extra, field) in cases {
        let mut args = json!({"connection_id": files});
        args.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let e = c.err("discover_file_schema", args.clone()).await;
        assert_eq!(e["field"], json!(field), "{args}: {e}");
        let text = e.to_string();
        assert!(
            !text.contains(MARKER),
            "{args}: the value came back: {text}"
        );
        for p in &server_paths {
            assert!(!text.contains(p.as_str()), "{args}: a server path: {text}");
        }
    }

    // test_connection on a local connection whose folder is gone.
    let gone = dir.join(format!("{m}-gone"));
    let id: i64 = cli(
        &s.data_dir,
        &[
            "connection",
            "add",
            "--account",
            "demo",
            "--name",
            "gone",
            "--type",
            "local",
            "--set",
            &format!("path={}", gone.display()),
        ],
    )
    .trim()
    .parse()
    .unwrap();
    let r = c.ok("test_connection", json!({"connection_id": id})).await;
    assert_eq!(r["success"], json!(false), "{r}");
    let text = r.to_string();
    assert!(text.contains("path"), "{text}");
    assert!(
        !text.contains(MARKER) && !server_paths.iter().any(|p| text.contains(p.as_str())),
        "{text}"
    );
}

/// Families of files written outside the project (issue 14): one value per line, a table
/// aligned with spaces, control-character delimiters, trailing fields omitted, GB18030.
#[tokio::test]
async fn discovers_files_other_tools_write() {
    let (s, mut c) = demo().await;
    let files = connection_id(&mut c, "sample-files").await;
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("discovery/corpus/files");
    for f in [
        "single_column_emails.txt",
        "aligned_docker_ps.txt",
        "unit_separator_record_separator.txt",
        "ragged_trailing_omitted.csv",
        "gb18030_rare_names.csv",
    ] {
        std::fs::copy(corpus.join(f), s.data_dir.join("demo/files").join(f)).unwrap();
    }
    let discover = |path: &'static str| json!({"connection_id": files, "path": path});

    let d = c
        .ok("discover_file_schema", discover("single_column_emails.txt"))
        .await;
    assert_eq!(
        (d["field_count"].clone(), d["dialect"].get("delimiter")),
        (json!(1), None),
        "{d}"
    );
    assert_eq!(names(&d), ["email"]);
    assert!(d["notes"].to_string().contains("one column"), "{d}");

    let d = c
        .ok("discover_file_schema", discover("aligned_docker_ps.txt"))
        .await;
    assert_eq!(d["dialect"]["delimiter"], json!(" "), "{d}");
    assert_eq!(
        d["dialect"]["column_offsets"],
        json!([0, 15, 33, 58, 75, 99, 122]),
        "{d}"
    );
    assert_eq!(names(&d)[0], "CONTAINER ID");
    assert!(
        d["sample_rows"][0][4].as_str().unwrap().contains(' '),
        "values keep their spaces: {d}"
    );
    assert!(
        d["notes"].to_string().contains("aligned with spaces"),
        "{d}"
    );

    let d = c
        .ok(
            "discover_file_schema",
            discover("unit_separator_record_separator.txt"),
        )
        .await;
    assert_eq!(d["dialect"]["delimiter"], json!("\u{1f}"), "{d}");
    assert_eq!(d["dialect"]["record_delimiter"], json!("\u{1e}"), "{d}");
    assert_eq!(d["rows_sampled"], json!(20), "{d}");

    let d = c
        .ok(
            "discover_file_schema",
            discover("ragged_trailing_omitted.csv"),
        )
        .await;
    assert_eq!(
        (d["dialect"]["header_row"].clone(), d["field_count"].clone()),
        (json!(1), json!(7)),
        "{d}"
    );
    assert!(d["ragged_rows"].as_u64().unwrap() > 10, "{d}");

    let d = c
        .ok("discover_file_schema", discover("gb18030_rare_names.csv"))
        .await;
    assert_eq!(d["dialect"]["encoding"], json!("gb18030"), "{d}");
    assert!(
        d["sample_rows"].to_string().contains('䶮') || d["sample_rows"].to_string().contains('𠀾'),
        "{d}"
    );
}

#[tokio::test]
async fn discover_file_schema_refuses_a_fifo_promptly_by_path_and_by_glob() {
    let (s, mut c) = demo().await;
    let files = connection_id(&mut c, "sample-files").await;
    let dir = s.data_dir.join("demo/files");
    support::mkfifo(&dir.join("feed.csv"));
    support::mkfifo(&dir.join("pipes/only.csv"));
    for (path, says) in [
        ("feed.csv", "is a FIFO (named pipe), not a regular file"),
        (
            "pipes/only.csv",
            "is a FIFO (named pipe), not a regular file",
        ),
        ("pipes/*.csv", "no file matches"),
    ] {
        let e = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            c.err(
                "discover_file_schema",
                json!({"connection_id": files, "path": path}),
            ),
        )
        .await
        .unwrap_or_else(|_| panic!("discover_file_schema on a FIFO ({path}) hung"));
        assert_eq!(e["field"], json!("path"), "{path}: {e}");
        assert!(e["message"].as_str().unwrap().contains(says), "{path}: {e}");
    }
    // The account's file discovery still works.
    let d = c
        .ok(
            "discover_file_schema",
            json!({"connection_id": files, "path": "customers.csv"}),
        )
        .await;
    assert_eq!(d["field_count"], json!(8), "{d}");
}

#[tokio::test]
async fn s3_connection_added_with_the_cli_is_tested_and_discovered_without_leaking() {
    let get = |k: &str| std::env::var(k).ok();
    let (Some(endpoint), Some(bucket), Some(key_id), Some(secret)) = (
        get("PIPEWRIGHT_TEST_S3_ENDPOINT"),
        get("PIPEWRIGHT_TEST_BUCKET"),
        get("PIPEWRIGHT_TEST_S3_ACCESS_KEY_ID"),
        get("PIPEWRIGHT_TEST_S3_SECRET_ACCESS_KEY"),
    ) else {
        assert!(
            !services_required(),
            "the S3 test server is required (scripts/file-servers)"
        );
        eprintln!("skipping: no S3 test server");
        return;
    };
    let (s, mut c) = demo().await;
    // moto accepts any secret; a distinctive one shows it never comes back.
    let secret = format!("{secret}-LEAKCHECK-s3");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("id"), &key_id).unwrap();
    std::fs::write(dir.path().join("secret"), &secret).unwrap();
    let id = cli(
        &s.data_dir,
        &[
            "connection",
            "add",
            "--account",
            "demo",
            "--name",
            "lake",
            "--type",
            "s3",
            "--set",
            &format!("bucket={bucket}"),
            "--set",
            &format!("endpoint={endpoint}"),
            "--secret-file",
            &format!("access_key_id={}", dir.path().join("id").display()),
            "--secret-file",
            &format!("secret_access_key={}", dir.path().join("secret").display()),
        ],
    );
    let id: i64 = id.trim().parse().unwrap();
    // The CLI tests file connections too, and lists which secrets are set, not their values.
    let tested = cli(
        &s.data_dir,
        &["connection", "test", &id.to_string(), "--account", "demo"],
    );
    assert!(tested.starts_with("ok: s3://"), "{tested}");
    let listed = cli(&s.data_dir, &["connection", "list", "--account", "demo"]);
    assert!(
        listed.contains("access_key_id, secret_access_key"),
        "{listed}"
    );
    assert!(!listed.contains(&secret) && !tested.contains(&secret));
    let mut seen = String::new();
    let ok = c
        .ok(
            "test_connection",
            json!({"connection_id": id, "connection_type": "file"}),
        )
        .await;
    assert_eq!(ok["success"], json!(true), "{ok}");
    seen.push_str(&ok.to_string());
    let d = c
        .ok(
            "discover_file_schema",
            json!({"connection_id": id, "path": "data/orders_*.csv"}),
        )
        .await;
    assert_eq!(d["path"], json!("data/orders_2024-02.csv"), "{d}");
    assert_eq!(d["matched_files"], json!(2));
    assert_eq!(names(&d), ["order_id", "placed_at", "total"]);
    assert_eq!(types(&d), ["integer", "date", "decimal"]);
    seen.push_str(&d.to_string());
    let d = c
        .ok(
            "discover_file_schema",
            json!({"connection_id": id, "path": "big/sixty-four-mib.csv"}),
        )
        .await;
    assert_eq!(
        (d["bytes_read"].as_u64(), d["truncated"].as_bool()),
        (Some(1 << 20), Some(true)),
        "{d}"
    );
    assert_eq!(d["size_bytes"], json!(64u64 << 20));
    let e = c
        .err(
            "discover_file_schema",
            json!({"connection_id": id, "path": "people.csv", "bucket": "no-such-bucket"}),
        )
        .await;
    assert_eq!(e["field"], json!("bucket"), "{e}");
    seen.push_str(&e.to_string());
    // A bucket name is checked before it can reach a host name.
    let e = c
        .err(
            "discover_file_schema",
            json!({"connection_id": id, "path": "people.csv", "bucket": "evil.example#"}),
        )
        .await;
    assert_eq!(e["field"], json!("bucket"), "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a valid bucket name"),
        "{e}"
    );
    let got = c.ok("get_connection", json!({"connection_id": id})).await;
    seen.push_str(&got.to_string());
    assert!(!seen.contains(&secret), "a secret came back: {seen}");
    let logs = s.logs();
    assert!(!logs.contains(&secret), "a secret reached the logs");
}
