//! Which dialect reads the sample best. Every candidate (delimiter × quote × escape) parses
//! the first records; its score is the consistency of the row lengths times the share of
//! cells that look like data (the measure of van den Burg et al., "Wrangling messy CSV
//! files by detecting row and type patterns", 2019, which CleverCSV implements). Ties
//! go to the common choice.

use std::collections::HashMap;

use crate::{
    aligned,
    records::{parse, Dialect, RecordDelimiter},
    types::{is_known, is_typed},
};

/// Records each candidate parses when scoring.
const SCORE_RECORDS: usize = 200;
/// Characters of the sample used for scoring.
const SCORE_CHARS: usize = 128 * 1024;
/// Delimiter candidates kept after the cheap per-line count.
const MAX_DELIMITERS: usize = 8;
/// Preference when scores tie.
const COMMON: &[char] = &[',', ';', '\t', '|'];
/// ASCII record separator: some exports end records with it instead of a line break.
const RECORD_SEPARATOR: char = '\x1E';
/// Share of lines that must be one whole value for a file to be one column.
const ONE_COLUMN_SHARE: f64 = 0.9;

/// The user's fixed choices; `None` means "guess".
#[derive(Debug, Clone, Default)]
pub struct Fixed {
    pub delimiter: Option<Option<char>>,
    pub quote: Option<Option<char>>,
    pub escape: Option<Option<char>>,
}

#[derive(Debug, Clone)]
pub struct Detected {
    pub dialect: Dialect,
    pub delimiter_confidence: f64,
    pub quote_confidence: f64,
    pub escape_confidence: f64,
}

/// The most frequent record ending (quotes are unknown yet): counts of `\r\n`, lone
/// `\n`, lone `\r` and the ASCII record separator 0x1E.
pub fn record_delimiter(text: &str) -> (RecordDelimiter, f64) {
    let b = text.as_bytes();
    let (mut crlf, mut lf, mut cr, mut rs) = (0usize, 0usize, 0usize, 0usize);
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\r' if b.get(i + 1) == Some(&b'\n') => {
                crlf += 1;
                i += 1;
            }
            b'\r' => cr += 1,
            b'\n' => lf += 1,
            0x1E => rs += 1,
            _ => {}
        }
        i += 1;
    }
    let total = (crlf + lf + cr + rs) as f64;
    if total == 0.0 {
        return (RecordDelimiter::Lf, 0.5);
    }
    let (d, n) = [
        (RecordDelimiter::CrLf, crlf),
        (RecordDelimiter::Lf, lf),
        (RecordDelimiter::Cr, cr),
        // Line breaks win a tie: `…\x1E\n` ends records with both.
        (
            RecordDelimiter::Char(RECORD_SEPARATOR),
            if rs > crlf + lf + cr { rs } else { 0 },
        ),
    ]
    .into_iter()
    .max_by_key(|(_, n)| *n)
    .unwrap();
    (d, round(n as f64 / total))
}

fn prefix(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Control characters exports use between fields: Hive's Ctrl-A (0x01) and the ASCII
/// file, group and unit separators (0x1C, 0x1D, 0x1F).
pub fn is_separator_control(c: char) -> bool {
    matches!(c, '\x01' | '\x1C' | '\x1D' | '\x1F')
}

fn may_delimit(c: char) -> bool {
    is_separator_control(c)
        || !(c.is_alphanumeric()
            || (c.is_whitespace() && c != '\t')
            || matches!(c, '"' | '\'' | '\\' | '\u{FEFF}' | '\u{FFFD}')
            || c.is_control() && c != '\t')
}

/// The text's lines (records, when the record separator ends them), blank ones aside.
fn lines(text: &str, record: RecordDelimiter) -> impl Iterator<Item = &str> {
    let extra = (record == RecordDelimiter::Char(RECORD_SEPARATOR)).then_some(RECORD_SEPARATOR);
    crate::records::nonblank_lines(text, extra)
}

/// Delimiter candidates, most regular first: per line, how often each character occurs;
/// a delimiter occurs the same number of times on most lines.
fn delimiter_candidates(text: &str, record: RecordDelimiter) -> Vec<(char, f64)> {
    let mut per_line: HashMap<char, Vec<u32>> = HashMap::new();
    let mut lines = 0u32;
    for (n, line) in self::lines(text, record).take(100).enumerate() {
        lines = n as u32 + 1;
        let mut counts: HashMap<char, u32> = HashMap::new();
        for c in line.chars().filter(|&c| may_delimit(c)) {
            *counts.entry(c).or_default() += 1;
        }
        for (c, k) in counts {
            let v = per_line.entry(c).or_default();
            v.resize(n, 0);
            v.push(k);
        }
    }
    let mut scored: Vec<(char, f64)> = per_line
        .into_iter()
        .map(|(c, mut v)| {
            v.resize(lines as usize, 0);
            let mut freq: HashMap<u32, u32> = HashMap::new();
            v.iter()
                .filter(|&&k| k > 0)
                .for_each(|&k| *freq.entry(k).or_default() += 1);
            let modal = freq.values().copied().max().unwrap_or(0);
            (c, modal as f64 / lines.max(1) as f64)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(rank(a.0).cmp(&rank(b.0))));
    let mut out: Vec<(char, f64)> = scored.iter().take(MAX_DELIMITERS).copied().collect();
    for c in COMMON {
        if !out.iter().any(|(d, _)| d == c) {
            if let Some(found) = scored.iter().find(|(d, _)| d == c) {
                out.push(*found);
            }
        }
    }
    out
}

fn rank(c: char) -> usize {
    COMMON.iter().position(|&d| d == c).unwrap_or(COMMON.len())
}

/// Consistency score of one parse: row-length regularity × share of data-like cells.
fn score(text: &str, d: &Dialect, truncated: bool) -> f64 {
    let records = parse(text, d, SCORE_RECORDS, truncated);
    let mut lengths: HashMap<usize, usize> = HashMap::new();
    let (mut cells, mut known) = (0usize, 0usize);
    for r in records.iter().filter(|r| !r.is_blank()) {
        *lengths.entry(r.fields.len()).or_default() += 1;
        for f in &r.fields {
            cells += 1;
            known += is_known(f) as usize;
        }
        // Text after a closing quote is a broken field: it counts against the quote twice,
        // once as an unknown cell and once as a quote that did not close a field.
        known = known.saturating_sub(2 * r.stray as usize);
    }
    if lengths.is_empty() {
        return 0.0;
    }
    let pattern: f64 = lengths
        .iter()
        .map(|(&len, &n)| n as f64 * ((len as f64 - 1.0) / len as f64).max(0.001))
        .sum::<f64>()
        / lengths.len() as f64;
    let types = known as f64 / cells.max(1) as f64;
    pattern * types.max(0.001)
}

/// A file of one value per line (e-mail addresses, decimals, dates, URLs, or quoted text):
/// the share of lines after the first that are one whole value, when the first line (a
/// header, or a value too) does not hold a character most of the others hold.
fn one_column(head: &str, record: RecordDelimiter) -> Option<f64> {
    let lines: Vec<&str> = lines(head, record).take(SCORE_RECORDS).collect();
    let (first, body) = lines.split_first()?;
    if body.len() < 2 {
        return None;
    }
    // A comma inside a value (`12,50`, `1,234`) is read as part of it only under a header
    // that holds no comma: without one, `1,2` lines are more likely two columns.
    let whole = |l: &str, comma: bool| {
        let t = l.trim();
        (is_typed(t) && (comma || !t.contains(',')))
            || quoted_whole(t, '"')
            || quoted_whole(t, '\'')
    };
    let header = !whole(first, false);
    let share = body.iter().filter(|l| whole(l, header)).count() as f64 / body.len() as f64;
    if share < ONE_COLUMN_SHARE {
        return None;
    }
    let mut marks: Vec<char> = first.chars().filter(|&c| may_delimit(c)).collect();
    marks.sort_unstable();
    marks.dedup();
    let common = |c: char| {
        body.iter().filter(|l| l.contains(c)).count() as f64 >= ONE_COLUMN_SHARE * body.len() as f64
    };
    let split_header = header && marks.into_iter().any(common);
    (!split_header).then_some(round(share))
}

/// One quoted field and nothing else: `"12 Main St, Springfield"`, quotes inside doubled.
fn quoted_whole(t: &str, q: char) -> bool {
    t.len() >= 2
        && t.starts_with(q)
        && t.ends_with(q)
        && !t[1..t.len() - 1]
            .replace(&format!("{q}{q}"), "")
            .contains(q)
}

/// Scores every candidate dialect on the start of the sample and keeps the best.
pub fn detect(text: &str, record: RecordDelimiter, fixed: &Fixed, truncated: bool) -> Detected {
    let head = prefix(text, SCORE_CHARS);
    let newlines = !matches!(record, RecordDelimiter::Char(_));
    if fixed.delimiter.is_none() {
        if let Some(share) = one_column(head, record) {
            let one = Fixed {
                delimiter: Some(None),
                ..fixed.clone()
            };
            let mut found = detect(text, record, &one, truncated);
            found.delimiter_confidence = share;
            return found;
        }
    }
    if newlines && fixed.delimiter.is_none() {
        if let Some(columns) = aligned::detect(head) {
            return Detected {
                dialect: Dialect {
                    delimiter: Some(' '),
                    quote: None,
                    escape: None,
                    record,
                    aligned: Some(columns),
                },
                delimiter_confidence: 0.9,
                quote_confidence: 0.9,
                escape_confidence: 0.9,
            };
        }
    }
    // Scoring sees a cut sample when the text goes on past the head.
    let truncated = truncated || head.len() < text.len();
    // Each candidate with the share of lines holding it its usual number of times.
    let delimiters: Vec<(Option<char>, f64)> = match fixed.delimiter {
        Some(d) => vec![(d, 1.0)],
        None => {
            let mut v: Vec<(Option<char>, f64)> = delimiter_candidates(head, record)
                .into_iter()
                .map(|(c, share)| (Some(c), share))
                .collect();
            v.push((None, 1.0));
            v
        }
    };
    let quotes: Vec<Option<char>> = match fixed.quote {
        Some(q) => vec![q],
        None => {
            let mut v = vec![Some('"'), None];
            if head.contains('\'') {
                v.push(Some('\''));
            }
            v
        }
    };
    let escapes = |q: Option<char>| -> Vec<Option<char>> {
        match fixed.escape {
            Some(e) => vec![e],
            None => match q {
                Some(q) if head.contains(&format!("\\{q}")) => vec![None, Some('\\')],
                _ => vec![None],
            },
        }
    };
    // (score, preference order, dialect)
    let mut scored: Vec<(f64, usize, Dialect)> = Vec::new();
    for (di, &(delimiter, regular)) in delimiters.iter().enumerate() {
        for (qi, &quote) in quotes.iter().enumerate() {
            for (ei, escape) in escapes(quote).into_iter().enumerate() {
                let d = Dialect {
                    delimiter,
                    quote,
                    escape,
                    record,
                    aligned: None,
                };
                let pref = rank(delimiter.unwrap_or('\u{0}')) * 10_000 + di * 100 + qi * 10 + ei;
                // A character found a varying number of times per line is more likely
                // part of the values (dots in versions, dashes in names) than between them.
                let weight = 0.5 + 0.5 * regular;
                scored.push((score(head, &d, truncated) * weight, pref, d));
            }
        }
    }
    scored.sort_by(|a, b| {
        // Scores within a hair of each other tie; the more common dialect wins.
        if (a.0 - b.0).abs() <= 1e-9 * a.0.abs().max(b.0.abs()) {
            a.1.cmp(&b.1)
        } else {
            b.0.total_cmp(&a.0)
        }
    });
    let (best, _, dialect) = scored[0];
    let runner_up = |same: &dyn Fn(&Dialect) -> bool| {
        scored
            .iter()
            .filter(|(_, _, d)| !same(d))
            .map(|(s, _, _)| *s)
            .fold(0.0, f64::max)
    };
    let confidence = |other: f64| {
        if best <= 0.0 {
            0.0
        } else {
            round(best / (best + other))
        }
    };
    let only = |fixed: bool, c: f64| if fixed { 1.0 } else { c };
    Detected {
        dialect,
        delimiter_confidence: only(
            fixed.delimiter.is_some(),
            confidence(runner_up(&|d| d.delimiter == dialect.delimiter)),
        ),
        quote_confidence: only(
            fixed.quote.is_some(),
            confidence(runner_up(&|d| {
                d.delimiter != dialect.delimiter || d.quote == dialect.quote
            })),
        ),
        escape_confidence: only(
            fixed.escape.is_some(),
            confidence(runner_up(&|d| {
                d.delimiter != dialect.delimiter
                    || d.quote != dialect.quote
                    || d.escape == dialect.escape
            })),
        ),
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guess(text: &str) -> Dialect {
        let (r, _) = record_delimiter(text);
        detect(text, r, &Fixed::default(), false).dialect
    }

    #[test]
    fn common_dialects() {
        assert_eq!(guess("a,b,c\n1,2,3\n4,5,6\n").delimiter, Some(','));
        assert_eq!(guess("a;b\n1,5;2\n3,25;4\n").delimiter, Some(';'));
        assert_eq!(guess("a\tb\n1\t2\n").delimiter, Some('\t'));
        let d = guess("id§name\n1§\"x§y\"\n2§z\n");
        assert_eq!((d.delimiter, d.quote), (Some('§'), Some('"')));
        let d = guess("id,txt\n1,\"he said \\\"hi, there\\\"\"\n2,plain\n3,\"a \\\"b\\\", c\"\n");
        assert_eq!(d.escape, Some('\\'));
        let d = guess("time,value\n2024-01-01T10:00:00Z,1\n2024-01-02T11:30:00Z,2\n");
        assert_eq!(d.delimiter, Some(','));
    }

    #[test]
    fn line_endings() {
        assert_eq!(record_delimiter("a\r\nb\r\n").0, RecordDelimiter::CrLf);
        assert_eq!(record_delimiter("a\rb\r").0, RecordDelimiter::Cr);
        assert_eq!(record_delimiter("a\nb\n").0, RecordDelimiter::Lf);
        let rs = RecordDelimiter::Char(RECORD_SEPARATOR);
        assert_eq!(record_delimiter("a\x1Fb\x1E1\x1F2\x1E").0, rs);
        // both: the line break ends the record, the separator is the field's last byte
        assert_eq!(
            record_delimiter("a\x1Fb\x1E\n1\x1F2\x1E\n").0,
            RecordDelimiter::Lf
        );
    }

    #[test]
    fn one_value_per_line() {
        let one = |t: &str| one_column(t, RecordDelimiter::Lf).is_some();
        assert!(one(
            "email\nann@example.com\nbo.li@mail.example.org\ncy@example.de\n"
        ));
        assert!(one("3.25\n-0.5\n12.125\n"));
        assert!(
            one("price\n12,50\n3,75\n1,05\n"),
            "comma decimals under a header"
        );
        assert!(
            !one("1,2\n1,3\n2,3\n"),
            "an edge list without a header is two columns"
        );
        assert!(
            !one("a,b\n1,5\n2,5\n3,5\n"),
            "the header splits where the rows do"
        );
        assert!(!one(
            "1\tann@example.com\n2\tbo@example.com\n3\tcy@example.com\n"
        ));
        // a first line of many marks over paths: linear, not characters times lines
        let mut t = "#".repeat(60_000);
        t.push('\n');
        for i in 0..200 {
            t.push_str(&format!("/data/{i}/{}\n", "a".repeat(300)));
        }
        assert!(one(&t));
    }
}
