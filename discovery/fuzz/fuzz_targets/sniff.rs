//! Arbitrary bytes as a file prefix, cut short or whole, with and without hints taken from
//! the input itself: the sniffer must never panic, and what it returns must hang together
//! (one name and one field per column, names unique, confidences between 0 and 1).
#![no_main]

use discovery::{records::RecordDelimiter, sniff, Hints};
use libfuzzer_sys::fuzz_target;

fn check(data: &[u8], truncated: bool, hints: &Hints) {
    let Ok(d) = sniff(data, truncated, hints) else { return };
    assert_eq!(d.column_names.len(), d.field_count);
    assert_eq!(d.fields.len(), d.field_count);
    let mut names = d.column_names.clone();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), d.field_count, "column names are unique");
    let c = &d.confidence;
    for v in [c.encoding, c.record_delimiter, c.delimiter, c.quote, c.escape, c.header] {
        assert!((0.0..=1.0).contains(&v), "confidence {v}");
    }
    for f in &d.fields {
        assert!((0.0..=1.0).contains(&f.inferred.confidence));
    }
    assert!(d.sample_rows.len() <= 10);
}

fuzz_target!(|data: &[u8]| {
    check(data, false, &Hints::default());
    check(data, true, &Hints::default());
    if data.len() > 4 {
        let (h, rest) = data.split_at(4);
        let pick = |b: u8| char::from(b);
        let hints = Hints {
            delimiter: Some(if h[0] % 7 == 0 { None } else { Some(pick(h[0])) }),
            quote: Some(if h[1] % 5 == 0 { None } else { Some(pick(h[1])) }),
            escape: Some(if h[2] % 3 == 0 { None } else { Some(pick(h[2])) }),
            record_delimiter: Some(match h[3] % 4 {
                0 => RecordDelimiter::Lf,
                1 => RecordDelimiter::CrLf,
                2 => RecordDelimiter::Cr,
                _ => RecordDelimiter::Char(pick(h[3])),
            }),
            header_row: Some(u32::from(h[3] % 5)),
            lines: Some(usize::from(h[0]) + 1),
            encoding: (h[1] % 4 == 1).then(|| ["UTF-8", "UTF-16LE", "Shift_JIS", "windows-1252"][usize::from(h[2] % 4)].to_string()),
            record_type: None,
        };
        check(rest, h[3] % 2 == 0, &hints);
    }
});
