//! Sniffing throughput on 1 MiB samples, beside CleverCSV and DuckDB's sniff_csv on the
//! same bytes in the same run (through `scripts/score-sniffers --time`, which keeps their
//! pinned versions in a venv).
//!
//!   cargo bench -p discovery --bench sniff        (or scripts/bench)
//!
//! Samples: a comma file with quoted fields and timestamps, a `;` file with comma decimals
//! and CRLF, and the first 1 MiB of the corpus's 100k-row file.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

const MIB: usize = 1 << 20;

/// A deterministic pseudo-random sequence (no dependency for a bench).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn orders(sep: char, decimal: char, newline: &str) -> Vec<u8> {
    let mut r = Lcg(7);
    let mut s = format!("order_id{sep}customer{sep}placed_at{sep}total{sep}paid{sep}note{newline}");
    let mut i = 0;
    while s.len() < MIB + 64 * 1024 {
        i += 1;
        let total =
            format!("{}.{:02}", r.next(9999), r.next(100)).replace('.', &decimal.to_string());
        s.push_str(&format!(
            "{i}{sep}Customer {}{sep}2024-{:02}-{:02}T{:02}:{:02}:00Z{sep}{total}{sep}{}{sep}\"note{sep} with a separator {i}\"{newline}",
            r.next(5000),
            r.next(12) + 1,
            r.next(28) + 1,
            r.next(24),
            r.next(60),
            if r.next(2) == 0 { "true" } else { "false" },
        ));
    }
    s.into_bytes()
}

fn corpus_prefix() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/files/hundred_k_rows.csv.gz");
    let gz = std::fs::read(path).expect("corpus file");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .take(MIB as u64 + 64 * 1024)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("comma_quoted_timestamps", orders(',', '.', "\n")),
        ("semicolon_comma_decimals_crlf", orders(';', ',', "\r\n")),
        ("corpus_100k_rows", corpus_prefix()),
    ];
    println!("sniff: 1 MiB samples, median of 30 runs each (ours), CleverCSV and DuckDB in the same run\n");
    println!(
        "{:<32} {:>10} {:>10} {:>13} {:>11} {:>10} {:>10}",
        "sample", "ours ms", "ours MB/s", "CleverCSV ms", "DuckDB ms", "vs Clever", "vs DuckDB"
    );
    for (name, bytes) in samples {
        let sample = &bytes[..MIB];
        let mut times = Vec::new();
        for _ in 0..30 {
            let t = Instant::now();
            let d = discovery::sniff(sample, true, &discovery::Hints::default()).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(d.field_count >= 6, "{name}: {}", d.field_count);
        }
        let ours = median(times);
        let file: PathBuf = dir.path().join(format!("{name}.csv"));
        std::fs::write(&file, sample).unwrap();
        let theirs = competitors(&file);
        let (clever, duck) = match &theirs {
            Some((c, d)) => (format!("{c:.1}"), format!("{d:.1}")),
            None => ("n/a".into(), "n/a".into()),
        };
        let ratio = |x: Option<f64>| x.map_or("n/a".into(), |x| format!("{:.1}x", x / ours));
        println!(
            "{name:<32} {ours:>10.2} {:>10.1} {clever:>13} {duck:>11} {:>10} {:>10}",
            MIB as f64 / 1e6 / (ours / 1000.0),
            ratio(theirs.map(|t| t.0)),
            ratio(theirs.map(|t| t.1)),
        );
    }
    println!(
        "\n(vs = their median time / ours; above 1x we are faster. Goals: >= 1x vs DuckDB, >= 100x vs CleverCSV.)"
    );
}

/// CleverCSV and DuckDB medians on the same file, or None when Python is unavailable.
fn competitors(file: &Path) -> Option<(f64, f64)> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/score-sniffers");
    let out = Command::new(script)
        .arg("--time")
        .arg(file)
        .arg("--runs")
        .arg("3")
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "competitors unavailable: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.lines().last()?).ok()?;
    Some((v["clevercsv_ms"].as_f64()?, v["duckdb_ms"].as_f64()?))
}
