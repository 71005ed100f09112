//! Every file of the corpus (`corpus/truth.json`, made by `corpus/generate.py`) is sniffed
//! right on every property: encoding, compression, record delimiter, delimiter, quote,
//! escape, header row and preamble, field count, column names and column types.
//! `scripts/score-sniffers` compares the same corpus with csv.Sniffer, CleverCSV and DuckDB.

use std::path::Path;

use serde_json::Value;

fn same_encoding(truth: &str, got: &str, ascii: bool) -> bool {
    let norm = |e: &str| match e.to_ascii_lowercase().as_str() {
        "iso-8859-1" | "latin-1" | "windows-1252" => "windows-1252".to_string(),
        "gbk" | "gb2312" => "gbk".into(),
        other => other.to_string(),
    };
    norm(truth) == norm(got) || (ascii && matches!(norm(got).as_str(), "utf-8" | "windows-1252"))
}

#[test]
fn every_corpus_file_is_sniffed_right() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let truth: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap();
    assert!(truth.len() >= 40, "the corpus has {} files", truth.len());
    let mut failures = Vec::new();
    for t in &truth {
        let file = t["file"].as_str().unwrap();
        let bytes = std::fs::read(dir.join("files").join(file)).unwrap();
        let (sample, truncated) = if bytes.len() > 1 << 20 {
            (&bytes[..1 << 20], true)
        } else {
            (&bytes[..], false)
        };
        let d = match discovery::sniff(sample, truncated, &discovery::Hints::default()) {
            Ok(d) => serde_json::to_value(d).unwrap(),
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        let mut check = |prop: &str, ok: bool| {
            if !ok {
                failures.push(format!(
                    "{file}: {prop}: expected {}, got {}",
                    t[prop], d[prop]
                ));
            }
        };
        let ascii = bytes.is_ascii();
        check(
            "encoding",
            same_encoding(
                t["encoding"].as_str().unwrap(),
                d["encoding"].as_str().unwrap(),
                ascii,
            ),
        );
        // One column: no delimiter, or one that leaves one field.
        let one_field = t["delimiter"].is_null() && d["field_count"] == 1;
        if t["delimiter"] != "any" {
            check("delimiter", t["delimiter"] == d["delimiter"] || one_field);
        }
        for prop in ["column_offsets", "ragged_rows"] {
            if !t[prop].is_null() {
                check(prop, t[prop] == d[prop]);
            }
        }
        for prop in [
            "compression",
            "record_delimiter",
            "escape",
            "header_row",
            "preamble_lines",
            "field_count",
        ] {
            check(prop, t[prop] == d[prop]);
        }
        if t["quote"] != "any" {
            check("quote", t["quote"] == d["quote"]);
        }
        if let Some(names) = t["column_names"].as_array() {
            let got = d["column_names"].as_array().unwrap();
            for (i, n) in names.iter().enumerate() {
                let unique = names.iter().filter(|m| *m == n).count() == 1;
                if unique && !n.as_str().unwrap().trim().is_empty() {
                    check(
                        "column_names",
                        got.get(i).map(|g| g.as_str().unwrap()) == Some(n.as_str().unwrap().trim()),
                    );
                }
            }
        }
        let types: Vec<&str> = d["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["type"].as_str().unwrap())
            .collect();
        // "any": nothing to type (a file with only a header).
        if let Some(want) = t["types"].as_array() {
            let want: Vec<&str> = want.iter().map(|v| v.as_str().unwrap()).collect();
            if types != want {
                failures.push(format!("{file}: types: expected {want:?}, got {types:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
