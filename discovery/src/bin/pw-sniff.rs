//! `pw-sniff FILE [PREFIX_BYTES]`: sniffs the first bytes of a local file (1 MiB by
//! default) and prints the discovery as JSON. For the corpus scorer and for debugging.

use std::io::Read;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: pw-sniff FILE [PREFIX_BYTES]");
        std::process::exit(2);
    };
    let limit: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1 << 20);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| {
        eprintln!("pw-sniff: {path}: {e}");
        std::process::exit(2)
    });
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut buf = Vec::new();
    if let Err(e) = file.take(limit).read_to_end(&mut buf) {
        eprintln!("pw-sniff: {path}: {e}");
        std::process::exit(2);
    }
    match discovery::sniff(&buf, size > limit, &discovery::Hints::default()) {
        Ok(d) => println!("{}", serde_json::to_string(&d).expect("serialisable")),
        Err(e) => {
            println!("{}", serde_json::json!({ "error": e.to_string() }));
            std::process::exit(1);
        }
    }
}
