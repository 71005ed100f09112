//! Arbitrary text as a WHERE fragment, in every dialect: the sanitizer must never panic,
//! and whatever it accepts must be accepted again, unchanged, when re-checked (so the
//! rendering cannot smuggle in something the walk did not see).
#![no_main]

use connectors::sanitize::{sanitize, Dialect, Scope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let columns: Vec<String> = ["id", "status", "total", "created_at", "Order Date"]
        .map(String::from)
        .to_vec();
    for dialect in [Dialect::Postgres, Dialect::MySql, Dialect::MsSql, Dialect::Sqlite] {
        let scope = Scope { schema: Some("public"), table: "orders", columns: &columns };
        if let Ok(p) = sanitize(text, dialect, &scope) {
            let again = sanitize(p.sql(), dialect, &scope).expect("a rendering that passed must pass again");
            assert_eq!(again.sql(), p.sql());
        }
    }
});
