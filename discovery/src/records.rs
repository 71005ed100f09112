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
}

/// Fields parsed at most over all records: a sample of empty fields (`,,,,`) must not
/// cost a `String` per byte.
pub const MAX_CELLS: usize = 2_000_000;

/// Fields kept per record; past it, delimiters are text and the record is marked `wide`
/// (a wrong delimiter or a hostile file must not cost memory per character).
pub const MAX_FIELDS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
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
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line: u32 = 0;
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut at_field_start = true;
    let mut quoted = false;
    let mut record_line = 0u32;
    let mut stray = 0u32;
    let mut wide = false;
    let mut after_close = false; // a quoted field has closed; more text is stray
    let mut open = false; // something was read since the last record ended
    let custom = match d.record {
        RecordDelimiter::Char(c) => Some(c),
        _ => None,
    };
    let mut cells = 0usize;
    while let Some(c) = chars.next() {
        if out.len() >= max || cells >= MAX_CELLS {
            return (out, true);
        }
        open = true;
        if in_quotes {
            if Some(c) == d.escape && Some(c) != d.quote {
                if let Some(n) = chars.next() {
                    if n == '\n' || n == '\r' {
                        line += 1;
                    }
                    field.push(n);
                }
            } else if Some(c) == d.quote {
                if chars.peek() == Some(&c) {
                    chars.next();
                    field.push(c);
                } else {
                    in_quotes = false;
                    after_close = true;
                }
            } else {
                if c == '\n' || (c == '\r' && chars.peek() != Some(&'\n')) {
                    line += 1;
                }
                field.push(c);
            }
            continue;
        }
        let ends_record = match custom {
            Some(r) => c == r,
            None => c == '\n' || c == '\r',
        };
        if ends_record {
            if c == '\r' && custom.is_none() && chars.peek() == Some(&'\n') {
                chars.next();
            }
            if custom.is_none() || c == '\n' || c == '\r' {
                line += 1;
            }
            fields.push(std::mem::take(&mut field));
            cells += fields.len();
            out.push(Record {
                fields: std::mem::take(&mut fields),
                line: record_line,
                quoted,
                stray,
                wide,
            });
            record_line = line;
            quoted = false;
            stray = 0;
            wide = false;
            after_close = false;
            at_field_start = true;
            open = false;
            continue;
        }
        if custom.is_some() && (c == '\n' || (c == '\r' && chars.peek() != Some(&'\n'))) {
            line += 1;
        }
        if Some(c) == d.delimiter && fields.len() + 1 >= MAX_FIELDS {
            wide = true;
        } else if Some(c) == d.delimiter {
            fields.push(std::mem::take(&mut field));
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
            if let Some(&n) = chars.peek() {
                if Some(n) == d.delimiter || Some(n) == d.quote || n == c {
                    chars.next();
                    field.push(n);
                    continue;
                }
            }
        }
        field.push(c);
    }
    let clean = !in_quotes;
    if open && out.len() < max && (!truncated) {
        fields.push(field);
        out.push(Record {
            fields,
            line: record_line,
            quoted,
            stray,
            wide,
        });
    }
    (out, clean)
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
