//! Where the data starts and what its columns are called: preamble lines (titles, export
//! notes, blank lines) before the header, whether the first row is a header, and column
//! names trimmed, deduplicated and named when blank.

use std::collections::HashMap;

use crate::{
    records::Record,
    types::{fits, is_integer, is_typed, ColumnStats, ColumnType, Inferred},
};

/// Data rows weighed when deciding whether the first row is a header.
pub const HEADER_EVIDENCE_ROWS: usize = 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Index of the first record after the preamble (the header, or the first data row).
    pub start: usize,
    pub header: bool,
    pub header_confidence: f64,
    pub field_count: usize,
    pub names: Vec<String>,
}

/// The most common row length, blank lines aside.
pub fn modal_length(records: &[Record]) -> usize {
    let mut freq: HashMap<usize, usize> = HashMap::new();
    for r in records.iter().filter(|r| !r.is_blank()) {
        *freq.entry(r.fields.len()).or_default() += 1;
    }
    freq.into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(len, _)| len)
        .unwrap_or(1)
}

/// First record of the table: skip blank lines and lines whose length is not the table's
/// (titles, "exported on …") until a record of the modal length starts a run.
fn table_start(records: &[Record], modal: usize) -> usize {
    let limit = records.len().min(50);
    for i in 0..limit {
        let r = &records[i];
        if r.is_blank() {
            continue;
        }
        if modal <= 1 {
            return i;
        }
        let next_ok = records
            .get(i + 1)
            .is_none_or(|n| n.fields.len() == modal || n.fields.len() + 1 >= modal);
        // Excel pads title lines with delimiters: one filled cell in a wide row.
        let filled = r.fields.iter().filter(|f| !f.trim().is_empty()).count();
        let padded_title = modal >= 3 && filled <= 1 && i + 1 < records.len();
        // A header over rows that omit trailing fields is wider than most rows, no row
        // under it is wider, and some are as wide (a wide title line has none).
        let below = || records[i + 1..].iter().filter(|n| !n.is_blank()).take(20);
        let wide_header = r.fields.len() > modal
            && modal >= 2
            && below().all(|n| (2..=r.fields.len()).contains(&n.fields.len()))
            && below().any(|n| n.fields.len() == r.fields.len());
        if (r.fields.len() == modal && next_ok || wide_header) && !padded_title {
            return i;
        }
    }
    records.iter().position(|r| !r.is_blank()).unwrap_or(0)
}

/// Column statistics over data rows.
pub fn column_stats<'a>(
    rows: impl IntoIterator<Item = &'a Record>,
    width: usize,
) -> Vec<ColumnStats> {
    let mut stats = vec![ColumnStats::default(); width];
    for r in rows {
        add_row(&mut stats, r);
    }
    stats
}

/// Adds one data row to per-column statistics; missing trailing fields count as empty.
pub fn add_row(stats: &mut [ColumnStats], r: &Record) {
    for (j, s) in stats.iter_mut().enumerate() {
        s.add(r.fields.get(j).map(String::as_str).unwrap_or(""));
    }
}

/// Evidence that `first` is a header over `body`: positive for a header.
fn header_votes(
    first: &Record,
    body: &[&Record],
    types: &[Inferred],
    stats: &[ColumnStats],
) -> f64 {
    let mut votes = 0.0;
    for (j, t) in types.iter().enumerate() {
        let Some(h) = first.fields.get(j).map(|s| s.trim()) else {
            continue;
        };
        if h.is_empty() {
            continue;
        }
        if t.kind == ColumnType::String {
            let typed = |r: &&&Record| r.fields.get(j).is_some_and(|v| is_typed(v));
            if is_integer(h) || crate::types::is_decimal(h, b'.') || crate::types::date_mask(h) != 0
            {
                votes -= 0.5;
            } else if is_typed(h)
                && body.iter().take(200).filter(typed).count() * 10 >= body.len().min(200) * 9
            {
                // An address, UUID or path over a column of the same: data, not a name.
                votes -= 0.5;
            } else if body
                .iter()
                .take(200)
                .any(|r| r.fields.get(j).is_some_and(|v| v.trim() == h))
            {
                votes -= 0.25;
            } else {
                votes += 0.25;
            }
            continue;
        }
        if fits(h, t) {
            // An integer over values that always have a fraction (years over amounts).
            if t.kind == ColumnType::Decimal && is_integer(h) && stats[j].all_fractional() {
                votes += 0.5;
            } else {
                votes -= 1.0;
            }
        } else {
            votes += 1.0;
        }
    }
    // Numbered columns (1,2,3 or 2019,2020,2021) are names when the data is not a run.
    let run = |r: &Record| {
        let ints: Vec<i64> = r
            .fields
            .iter()
            .filter_map(|f| f.trim().parse::<i64>().ok())
            .collect();
        ints.len() >= 3
            && ints.windows(2).all(|w| {
                i128::from(w[1]) - i128::from(w[0]) == i128::from(ints[1]) - i128::from(ints[0])
            })
            && ints[1] != ints[0]
    };
    if run(first) && !body.first().is_some_and(|r| run(r)) {
        votes += 1.5 * first.fields.len() as f64;
    }
    votes
}

/// Names from a header row: trimmed, blanks named `column_N`, duplicates suffixed `_2`.
pub fn column_names(header: Option<&Record>, width: usize) -> Vec<String> {
    let mut taken: std::collections::HashSet<String> = std::collections::HashSet::new();
    // Per base name, the next suffix to try: each only grows, so naming stays linear.
    let mut next: HashMap<String, usize> = HashMap::new();
    (0..width)
        .map(|j| {
            let raw = header
                .and_then(|h| h.fields.get(j))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            let base = if raw.is_empty() {
                format!("column_{}", j + 1)
            } else {
                raw
            };
            if taken.insert(base.clone()) {
                return base;
            }
            let k = next.entry(base.clone()).or_insert(2);
            loop {
                let candidate = format!("{base}_{k}");
                *k += 1;
                if taken.insert(candidate.clone()) {
                    break candidate;
                }
            }
        })
        .collect()
}

/// Preamble, header and names. `header_line`: the user's 1-based line of the header, or
/// 0 for "no header".
pub fn detect(records: &[Record], header_line: Option<u32>) -> Layout {
    let modal = modal_length(records);
    let start = match header_line {
        Some(h) if h > 0 => records
            .iter()
            .position(|r| r.line + 1 >= h)
            .unwrap_or(records.len()),
        _ => table_start(records, modal),
    };
    let rest = &records[start.min(records.len())..];
    let Some(first) = rest.first() else {
        return Layout {
            start,
            header: false,
            header_confidence: 0.0,
            field_count: 0,
            names: vec![],
        };
    };
    let width = modal.max(1);
    // Header evidence needs a few hundred rows, not the whole sample.
    let body: Vec<&Record> = rest[1..]
        .iter()
        .filter(|r| !r.is_blank())
        .take(HEADER_EVIDENCE_ROWS)
        .collect();
    let stats = column_stats(body.iter().copied(), width);
    let types: Vec<Inferred> = stats.iter().map(ColumnStats::infer).collect();
    let (header, confidence) = match header_line {
        Some(0) => (false, 1.0),
        Some(_) => (true, 1.0),
        None if body.is_empty() => (true, 0.5),
        None => {
            let v = header_votes(first, &body, &types, &stats);
            let conf = 0.5 + 0.5 * (v.abs() / width as f64).min(1.0);
            (v >= 0.0, (conf * 1000.0).round() / 1000.0)
        }
    };
    let field_count = if header {
        first.fields.len().max(width)
    } else {
        width
    };
    Layout {
        start,
        header,
        header_confidence: confidence,
        field_count,
        names: column_names(header.then_some(first), field_count),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{parse, Dialect, RecordDelimiter};

    fn layout(text: &str) -> Layout {
        let d = Dialect {
            delimiter: Some(','),
            quote: Some('"'),
            escape: None,
            record: RecordDelimiter::Lf,
            aligned: None,
        };
        detect(&parse(text, &d, 1000, false), None)
    }

    #[test]
    fn header_preamble_and_names() {
        let l = layout("Sales report\nexported 2024-01-01\n\n id ,name,,name\n1,a,x,b\n2,b,y,c\n");
        assert_eq!((l.start, l.header), (3, true));
        assert_eq!(l.names, vec!["id", "name", "column_3", "name_2"]);
        let l = layout("1,alice,10.5\n2,bob,20.25\n3,carol,1.5\n");
        assert!(!l.header);
        assert_eq!(l.names, vec!["column_1", "column_2", "column_3"]);
        let l = layout("region,2019,2020,2021\nnorth,1.5,2.5,3.5\nsouth,4.25,5.5,6.5\n");
        assert!(l.header);
        let l = layout("1,2,3\n17,4,99\n5,81,6\n");
        assert!(l.header);
        // trailing fields omitted under a real header; a title wider than the table is not one
        let l = layout("id,name,email,city\n1,ann\n2,bob,b@x.io,Oslo\n3,cy\n4,di\n");
        assert_eq!((l.start, l.header, l.field_count), (0, true, 4));
        let l = layout(
            "Sales report, Q1 2024, North region\ndate,amount\n2024-01-01,5\n2024-01-02,7\n",
        );
        assert_eq!(
            (l.start, l.names.clone()),
            (1, vec!["date".to_string(), "amount".into()])
        );
    }
}
