//! Splits decoded text into records under one dialect. Lenient like the readers users
//! load files with: a stray quote inside an unquoted field is kept as text, text after a
//! closing quote joins the field, and a record may end with `\n`, `\r\n` or `\r`.

/// How records end. Detection reports the most common one; parsing accepts all three
/// unless the user named another single character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordDelimiter {
    Lf,
    CrLf,
    Cr,
    /// A user-given single character (for files that end records with, say, `~`).
    Char(char),
}

impl RecordDelimiter {
    pub fn as_str(&self) -> String {
        match self {
            RecordDelimiter::Lf => "\n".into(),
            RecordDelimiter::CrLf => "\r\n".into(),
            RecordDelimiter::Cr => "\r".into(),
            RecordDelimiter::Char(c) => c.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// `None`: one column per record.
    pub delimiter: Option<char>,
    /// `None`: fields are never quoted.
    pub quote: Option<char>,
    /// `Some('\\')`: a backslash escapes the next character; quotes may always be doubled.
    pub escape: Option<char>,
    pub record: RecordDelimiter,
    /// A table aligned with spaces: columns cut at these positions (`delimiter` is `' '`).
    pub aligned: Option<crate::aligned::Columns>,
}

/// The text's non-blank lines, split also at `extra` (a record separator): a cheap view for
/// the guesses made before any parse (one column, aligned tables, delimiter candidates).
pub fn nonblank_lines(text: &str, extra: Option<char>) -> impl Iterator<Item = &str> {
    text.split(move |c: char| c == '\n' || c == '\r' || Some(c) == extra)
        .filter(|l| !l.trim().is_empty())
}

/// Fields parsed at most over all records: a sample of empty fields (`,,,,`) must not
/// cost a `String` per byte.
pub const MAX_CELLS: usize = 2_000_000;

/// Fields kept per record; past it, delimiters are text and the record is marked `wide`
/// (a wrong delimiter or a hostile file must not cost memory per character).
pub const MAX_FIELDS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Record {
    pub fields: Vec<String>,
    /// 0-based physical line where the record starts.
    pub line: u32,
    /// Whether any field was quoted.
    pub quoted: bool,
    /// Fields with text after their closing quote: a sign the quote guess is wrong.
    pub stray: u32,
    /// More than [`MAX_FIELDS`] fields.
    pub wide: bool,
}

impl Record {
    /// A record that is only an empty line.
    pub fn is_blank(&self) -> bool {
        self.fields.len() == 1 && self.fields[0].trim().is_empty() && !self.quoted
    }
}

/// Parses up to `max` records. When `truncated`, the sample was cut mid-file: a last
/// record not followed by a record delimiter (or inside an open quote) is dropped.
pub fn parse(text: &str, d: &Dialect, max: usize, truncated: bool) -> Vec<Record> {
    parse_with_end(text, d, max, truncated).0
}

/// Like [`parse`]; also says whether the text ended cleanly (not inside a quote), and
/// keeps an unterminated last record only when `!truncated`.
pub fn parse_with_end(text: &str, d: &Dialect, max: usize, truncated: bool) -> (Vec<Record>, bool) {
    if let Some(columns) = &d.aligned {
        return (crate::aligned::parse(text, columns, max, truncated), true);
    }
    let mut reader = Reader::new(text, d, truncated);
    let mut out = Vec::new();
    let mut record = Record::default();
    while out.len() < max && reader.next_into(&mut record) {
        out.push(std::mem::take(&mut record));
    }
    // Stopping at `max` before the end of the text is no sign of an open quote.
    let clean = if out.len() >= max && reader.at < text.len() {
        true
    } else {
        reader.clean
    };
    (out, clean)
}

fn special_bytes(d: &Dialect) -> [bool; 256] {
    let mut t = [false; 256];
    let record = match d.record {
        RecordDelimiter::Char(c) => Some(c),
        _ => None,
    };
    for c in [
        d.delimiter,
        d.quote,
        d.escape,
        record,
        Some('\n'),
        Some('\r'),
    ]
    .into_iter()
    .flatten()
    {
        let mut buf = [0u8; 4];
        t[c.encode_utf8(&mut buf).as_bytes()[0] as usize] = true;
    }
    t
}

/// Reads records one at a time into a caller's [`Record`], reusing its strings: a sniff
/// of 50,000 rows allocates per row only when a field outgrows its buffer.
pub struct Reader<'a> {
    text: &'a str,
    /// Byte position of the next character.
    at: usize,
    d: Dialect,
    truncated: bool,
    line: u32,
    cells: usize,
    field: String,
    spare: Vec<String>,
    /// Bytes that start a character the parser must look at (delimiter, quote, escape,
    /// line and record ends); every other byte is copied as a run.
    special: [bool; 256],
    /// The text ended outside quotes.
    pub clean: bool,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str, d: &Dialect, truncated: bool) -> Self {
        Reader {
            text,
            at: 0,
            d: *d,
            truncated,
            line: 0,
            cells: 0,
            field: String::new(),
            spare: Vec::new(),
            special: special_bytes(d),
            clean: true,
        }
    }

    fn end_field(&mut self, fields: &mut Vec<String>) {
        let mut s = self.spare.pop().unwrap_or_default();
        s.push_str(&self.field);
        self.field.clear();
        fields.push(s);
    }

    /// Reads the next record into `r`; false at the end of the text (or of the cell
    /// budget), when `r` holds nothing meaningful.
    pub fn next_into(&mut self, r: &mut Record) -> bool {
        if self.cells >= MAX_CELLS || self.at >= self.text.len() {
            return false;
        }
        for mut f in r.fields.drain(..) {
            f.clear();
            self.spare.push(f);
        }
        let d = self.d;
        let custom = match d.record {
            RecordDelimiter::Char(c) => Some(c),
            _ => None,
        };
        let text = self.text;
        let bytes = text.as_bytes();
        let char_at = |i: usize| text[i..].chars().next();
        let mut fields = std::mem::take(&mut r.fields);
        let record_line = self.line;
        let (mut quoted, mut stray, mut wide) = (false, 0u32, false);
        let mut in_quotes = false;
        let mut at_field_start = true;
        let mut after_close = false; // a quoted field has closed; more text is stray
        let mut ended = false;
        let mut i = self.at;
        while i < bytes.len() {
            // Copy the run of ordinary characters up to the next possibly special one.
            let run = bytes[i..]
                .iter()
                .position(|&b| self.special[b as usize])
                .map_or(bytes.len(), |k| i + k);
            if run > i {
                if !in_quotes {
                    if after_close {
                        stray += 1;
                        after_close = false;
                    }
                    at_field_start = false;
                }
                self.field.push_str(&text[i..run]);
                i = run;
                continue;
            }
            let Some(c) = char_at(i) else { break };
            i += c.len_utf8();
            let next = char_at(i);
            if in_quotes {
                if Some(c) == d.escape && Some(c) != d.quote {
                    if let Some(n) = next {
                        i += n.len_utf8();
                        if n == '\n' || n == '\r' {
                            self.line += 1;
                        }
                        self.field.push(n);
                    }
                } else if Some(c) == d.quote {
                    if next == Some(c) {
                        i += c.len_utf8();
                        self.field.push(c);
                    } else {
                        in_quotes = false;
                        after_close = true;
                    }
                } else {
                    if c == '\n' || (c == '\r' && next != Some('\n')) {
                        self.line += 1;
                    }
                    self.field.push(c);
                }
                continue;
            }
            let ends_record = match custom {
                Some(rc) => c == rc,
                None => c == '\n' || c == '\r',
            };
            if ends_record {
                if c == '\r' && custom.is_none() && next == Some('\n') {
                    i += 1;
                }
                if custom.is_none() || c == '\n' || c == '\r' {
                    self.line += 1;
                }
                ended = true;
                break;
            }
            if custom.is_some() && (c == '\n' || (c == '\r' && next != Some('\n'))) {
                self.line += 1;
            }
            if Some(c) == d.delimiter && fields.len() + 1 >= MAX_FIELDS {
                wide = true;
            } else if Some(c) == d.delimiter {
                self.end_field(&mut fields);
                at_field_start = true;
                after_close = false;
                continue;
            }
            if after_close {
                stray += 1;
                after_close = false;
            }
            if at_field_start && Some(c) == d.quote {
                in_quotes = true;
                quoted = true;
                at_field_start = false;
                continue;
            }
            at_field_start = false;
            if Some(c) == d.escape && Some(c) != d.quote {
                if let Some(n) = next {
                    if Some(n) == d.delimiter || Some(n) == d.quote || n == c {
                        i += n.len_utf8();
                        self.field.push(n);
                        continue;
                    }
                }
            }
            self.field.push(c);
        }
        self.at = i;
        if !ended {
            // The text ran out inside this record.
            self.clean = !in_quotes;
            if self.truncated {
                self.field.clear();
                r.fields = fields;
                return false;
            }
        }
        self.end_field(&mut fields);
        self.cells += fields.len();
        r.fields = fields;
        r.line = record_line;
        r.quoted = quoted;
        r.stray = stray;
        r.wide = wide;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(delim: char) -> Dialect {
        Dialect {
            delimiter: Some(delim),
            quote: Some('"'),
            escape: None,
            record: RecordDelimiter::Lf,
            aligned: None,
        }
    }

    #[test]
    fn quoted_newlines_doubled_quotes_and_lines() {
        let t = "a,b\n\"x\ny\",\"say \"\"hi\"\"\"\r\nlast,1\n";
        let r = parse(t, &d(','), 100, false);
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].fields, vec!["x\ny", "say \"hi\""]);
        assert_eq!(r[1].line, 1);
        assert_eq!(r[2].line, 3);
        assert!(r[1].quoted && !r[2].quoted);
    }

    #[test]
    fn truncated_tail_is_dropped_unless_complete() {
        let t = "a,b\n1,2\n3,";
        assert_eq!(parse_with_end(t, &d(','), 100, true).0.len(), 2);
        assert_eq!(parse_with_end(t, &d(','), 100, false).0.len(), 3);
    }

    #[test]
    fn backslash_escapes() {
        let mut dl = d(',');
        dl.escape = Some('\\');
        let r = parse("\"a \\\"q\\\" b\",x\\,y\n", &dl, 10, false);
        assert_eq!(r[0].fields, vec!["a \"q\" b", "x,y"]);
    }

    #[test]
    fn multibyte_delimiter_and_cr_records() {
        let r = parse("a§b\rc§d\r", &d('§'), 10, false);
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].fields, vec!["c", "d"]);
        assert_eq!(r[1].line, 1);
    }
}
