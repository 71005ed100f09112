//! The whole sniff: bytes and "was this cut short?" in, a [`Discovery`] out.

use serde::Serialize;

use crate::{
    decode, dialect, jsonl, layout,
    records::{Reader, Record, RecordDelimiter},
    types::{ColumnStats, Inferred},
    SniffError,
};

/// Data rows analysed at most (after the preamble and header).
pub const DEFAULT_MAX_ROWS: usize = 50_000;
/// Data rows returned as a sample.
pub const SAMPLE_ROWS: usize = 10;
/// Text inflated at most from a compressed sample.
pub const MAX_INFLATED: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordType {
    #[default]
    Delimited,
    JsonLines,
}

/// What the user fixed; every `Some` overrides the guess.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// `Some(None)`: one column per line.
    pub delimiter: Option<Option<char>>,
    /// `Some(None)`: fields are never quoted.
    pub quote: Option<Option<char>>,
    /// `Some(None)`: quotes are doubled, nothing else escapes.
    pub escape: Option<Option<char>>,
    pub record_delimiter: Option<RecordDelimiter>,
    /// A WHATWG encoding label.
    pub encoding: Option<String>,
    /// 1-based line of the header; 0 = no header.
    pub header_row: Option<u32>,
    /// Data rows to analyse at most.
    pub lines: Option<usize>,
    pub record_type: Option<RecordType>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: String,
    #[serde(flatten)]
    pub inferred: Inferred,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Confidence {
    pub encoding: f64,
    pub record_delimiter: f64,
    pub delimiter: f64,
    pub quote: f64,
    pub escape: f64,
    pub header: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Discovery {
    /// `delimited` or `json`.
    pub record_type: &'static str,
    /// WHATWG name: UTF-8, UTF-16LE, windows-1252, Shift_JIS, GBK, …
    pub encoding: String,
    pub bom: bool,
    /// `gzip` when the file was compressed.
    pub compression: Option<&'static str>,
    pub record_delimiter: String,
    /// `None`: one column per line.
    pub delimiter: Option<String>,
    /// A table aligned with spaces (`delimiter` is `" "`): where each column starts, in
    /// characters from the start of the line; a field is the trimmed text up to the next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_offsets: Option<Vec<u32>>,
    /// `None`: no quoting.
    pub quote: Option<String>,
    /// `None`: quotes are doubled; `\` when a backslash escapes.
    pub escape: Option<String>,
    /// 1-based line of the header; 0 when there is none.
    pub header_row: u32,
    /// Lines before the header (or the first data row).
    pub preamble_lines: u32,
    pub field_count: usize,
    pub column_names: Vec<String>,
    pub fields: Vec<Field>,
    pub confidence: Confidence,
    pub sample_rows: Vec<Vec<String>>,
    /// Data rows the guesses rest on.
    pub rows_sampled: usize,
    /// Data rows with more or fewer fields than the header.
    pub ragged_rows: usize,
    /// Whether the sample ended before the file did.
    pub truncated: bool,
}

fn is_text_start(b: &[u8]) -> Result<(), SniffError> {
    match decode::binary_format(b) {
        Some(f) => Err(SniffError::Binary { format: f.into() }),
        None => Ok(()),
    }
}

/// Sniffs a sample: the first bytes of a file, `truncated` when the file goes on.
pub fn sniff(sample: &[u8], truncated: bool, hints: &Hints) -> Result<Discovery, SniffError> {
    if sample.is_empty() {
        return Err(SniffError::Empty);
    }
    let (owned, compression, truncated) = if decode::is_gzip(sample) {
        let (b, t) = decode::gunzip(sample, truncated, MAX_INFLATED)?;
        (Some(b), Some("gzip"), t)
    } else {
        (None, None, truncated)
    };
    let bytes = owned.as_deref().unwrap_or(sample);
    if bytes.is_empty() {
        return Err(SniffError::Empty);
    }
    is_text_start(bytes)?;
    let decoded = match &hints.encoding {
        Some(label) => decode::decode_as(bytes, truncated, label)?,
        None => decode::decode_guess(bytes, truncated)?,
    };
    let text = decoded.text.as_str();
    if text.trim().is_empty() {
        return Err(SniffError::Empty);
    }
    if decode::looks_binary(text) {
        return Err(SniffError::Binary {
            format: "binary (control bytes, not text)".into(),
        });
    }
    let max_rows = hints.lines.unwrap_or(DEFAULT_MAX_ROWS).max(1);
    let record_type = hints
        .record_type
        .unwrap_or(if jsonl::looks_like_jsonl(text) {
            RecordType::JsonLines
        } else {
            RecordType::Delimited
        });
    let (record, record_conf) = match hints.record_delimiter {
        Some(r) => (r, 1.0),
        None => dialect::record_delimiter(text),
    };
    let mut confidence = Confidence {
        encoding: decoded.confidence,
        record_delimiter: record_conf,
        ..Confidence::default()
    };
    let base = Discovery {
        record_type: "delimited",
        encoding: decoded.encoding.name().to_string(),
        bom: decoded.bom,
        compression,
        record_delimiter: record.as_str(),
        delimiter: None,
        column_offsets: None,
        quote: None,
        escape: None,
        header_row: 0,
        preamble_lines: 0,
        field_count: 0,
        column_names: vec![],
        fields: vec![],
        confidence: Confidence::default(),
        sample_rows: vec![],
        rows_sampled: 0,
        ragged_rows: 0,
        truncated,
    };
    if record_type == RecordType::JsonLines {
        let j = jsonl::fields(text, truncated, max_rows);
        if j.rows == 0 {
            return Err(SniffError::NotJsonLines);
        }
        if j.names.len() > crate::records::MAX_FIELDS {
            return Err(SniffError::TooWide {
                max: crate::records::MAX_FIELDS,
            });
        }
        confidence.header = 1.0;
        return Ok(Discovery {
            record_type: "json",
            field_count: j.names.len(),
            fields: j
                .names
                .iter()
                .zip(j.types)
                .map(|(n, t)| Field {
                    name: n.clone(),
                    inferred: t,
                })
                .collect(),
            column_names: j.names,
            sample_rows: j.sample,
            rows_sampled: j.rows,
            confidence,
            ..base
        });
    }
    let fixed = dialect::Fixed {
        delimiter: hints.delimiter,
        quote: hints.quote,
        escape: hints.escape,
    };
    let found = dialect::detect(text, record, &fixed, truncated);
    confidence.delimiter = found.delimiter_confidence;
    confidence.quote = found.quote_confidence;
    confidence.escape = found.escape_confidence;
    let d = found.dialect;
    // The head: enough records for the preamble (or the given header line), the header
    // and the rows the header is weighed on. The rest streams through the statistics.
    let lead = hints.header_row.unwrap_or(0) as usize + 64;
    let mut source = Source::new(text, &d, truncated, max_rows.saturating_add(lead));
    let mut records = Vec::new();
    let mut r = Record::default();
    let head = (layout::HEADER_EVIDENCE_ROWS + 1).min(max_rows) + lead;
    while records.len() < head && source.next(&mut r) {
        records.push(std::mem::take(&mut r));
    }
    if let Some(h) = hints.header_row.filter(|&h| h > 0) {
        if !records.iter().any(|r| r.line + 1 >= h) {
            return Err(SniffError::HeaderPastSample {
                line: h,
                lines_read: records.last().map_or(0, |r| r.line + 1),
            });
        }
    }
    let lay = layout::detect(&records, hints.header_row);
    confidence.header = lay.header_confidence;
    let data_from = (lay.start + lay.header as usize).min(records.len());
    let mut body = Body {
        stats: vec![ColumnStats::default(); lay.field_count],
        sample: Vec::new(),
        rows: 0,
        ragged: 0,
        wide: records.iter().any(|r| r.wide),
        field_count: lay.field_count,
        max_rows,
    };
    records[data_from..].iter().for_each(|r| body.add(r));
    while body.rows < max_rows && source.next(&mut r) {
        body.add(&r);
    }
    if body.wide {
        return Err(SniffError::TooWide {
            max: crate::records::MAX_FIELDS,
        });
    }
    let fields = lay
        .names
        .iter()
        .zip(body.stats.iter().map(ColumnStats::infer))
        .map(|(n, t)| Field {
            name: n.clone(),
            inferred: t,
        })
        .collect();
    let first_line = records.get(lay.start).map_or(0, |r| r.line);
    Ok(Discovery {
        delimiter: d.delimiter.map(String::from),
        column_offsets: d.aligned.map(|c| c.starts().to_vec()),
        quote: d.quote.map(String::from),
        escape: d.escape.map(String::from),
        header_row: if lay.header { first_line + 1 } else { 0 },
        preamble_lines: first_line,
        field_count: lay.field_count,
        column_names: lay.names,
        fields,
        confidence,
        sample_rows: body.sample,
        rows_sampled: body.rows,
        ragged_rows: body.ragged,
        ..base
    })
}

/// Records after the head: a reader, or the rows of an aligned table.
enum Source<'a> {
    Delimited(Box<Reader<'a>>),
    Aligned(std::vec::IntoIter<Record>),
}

impl<'a> Source<'a> {
    fn new(text: &'a str, d: &crate::records::Dialect, truncated: bool, max: usize) -> Self {
        match &d.aligned {
            Some(c) => Source::Aligned(crate::aligned::parse(text, c, max, truncated).into_iter()),
            None => Source::Delimited(Box::new(Reader::new(text, d, truncated))),
        }
    }

    fn next(&mut self, r: &mut Record) -> bool {
        match self {
            Source::Delimited(reader) => reader.next_into(r),
            Source::Aligned(rows) => rows.next().map(|n| *r = n).is_some(),
        }
    }
}

/// What the data rows add up to, row by row.
struct Body {
    stats: Vec<ColumnStats>,
    sample: Vec<Vec<String>>,
    rows: usize,
    ragged: usize,
    wide: bool,
    field_count: usize,
    max_rows: usize,
}

impl Body {
    fn add(&mut self, r: &Record) {
        self.wide |= r.wide;
        if r.is_blank() || self.rows >= self.max_rows {
            return;
        }
        self.rows += 1;
        layout::add_row(&mut self.stats, r);
        if self.sample.len() < SAMPLE_ROWS {
            self.sample.push(r.fields.clone());
        }
        self.ragged += (r.fields.len() != self.field_count) as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_to_end() {
        let text = "Orders export\r\n\r\norder_id;placed_at;total\r\n1;2024-01-03;12,50\r\n2;2024-01-04;7\r\n";
        let d = sniff(text.as_bytes(), false, &Hints::default()).unwrap();
        assert_eq!(d.delimiter.as_deref(), Some(";"));
        assert_eq!(d.record_delimiter, "\r\n");
        assert_eq!((d.header_row, d.preamble_lines), (3, 2));
        assert_eq!(d.column_names, vec!["order_id", "placed_at", "total"]);
        let types: Vec<&str> = d.fields.iter().map(|f| f.inferred.kind.as_str()).collect();
        assert_eq!(types, vec!["integer", "date", "decimal"]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            sniff(b"", false, &Hints::default()).unwrap_err(),
            SniffError::Empty
        );
        assert!(matches!(
            sniff(b"PAR1\0\0", false, &Hints::default()),
            Err(SniffError::Binary { .. })
        ));
        let wide = ",".repeat(20_000);
        assert!(matches!(
            sniff(wide.as_bytes(), false, &Hints::default()),
            Err(SniffError::TooWide { .. })
        ));
        assert!(matches!(
            sniff(b"a\0b\0\x01\x02", false, &Hints::default()),
            Err(SniffError::Binary { .. })
        ));
    }

    #[test]
    fn json_lines() {
        let d = sniff(
            b"{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"c\":true}\n",
            false,
            &Hints::default(),
        )
        .unwrap();
        assert_eq!(d.record_type, "json");
        assert_eq!(d.column_names, vec!["a", "b", "c"]);
    }
}
