//! `discover_file_schema`'s dialect arguments as the sniffer's [`Hints`], and the
//! sniffer's errors as tool errors naming the argument to change.

use discovery::{Hints, RecordType, SniffError};

use super::discover_file_schema::DiscoverFileSchemaArgs;
use crate::error::ToolError;

fn one_char(field: &str, v: &str) -> Result<char, ToolError> {
    let mut chars = v.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(ToolError::invalid(
            field,
            format!("{field} must be one character (or a name such as tab or none)"),
        )),
    }
}

pub fn hints(a: &DiscoverFileSchemaArgs) -> Result<Hints, ToolError> {
    let none_word = |v: &str| matches!(v.to_ascii_lowercase().as_str(), "none" | "");
    let delimiter = match a.delimiter.as_deref() {
        None => None,
        Some(v) => Some(match v.to_ascii_lowercase().as_str() {
            "none" => None,
            "tab" | "\\t" => Some('\t'),
            "space" => Some(' '),
            "comma" => Some(','),
            "semicolon" => Some(';'),
            "pipe" => Some('|'),
            _ => Some(one_char("delimiter", v)?),
        }),
    };
    let quote = match a.quote.as_deref() {
        None => None,
        Some(v) if none_word(v) => Some(None),
        Some(v) => Some(Some(one_char("quote", v)?)),
    };
    let escape = match a.escape.as_deref() {
        None => None,
        Some(v)
            if none_word(v)
                || v.eq_ignore_ascii_case("double")
                || v.eq_ignore_ascii_case("doubled") =>
        {
            Some(None)
        }
        Some(v) => Some(Some(one_char("escape", v)?)),
    };
    let record_delimiter = match a.record_delimiter.as_deref() {
        None => None,
        Some(v) => Some(match v {
            "\n" | "\\n" => discovery::records::RecordDelimiter::Lf,
            "\r\n" | "\\r\\n" => discovery::records::RecordDelimiter::CrLf,
            "\r" | "\\r" => discovery::records::RecordDelimiter::Cr,
            _ => match v.to_ascii_uppercase().as_str() {
                "LF" => discovery::records::RecordDelimiter::Lf,
                "CRLF" => discovery::records::RecordDelimiter::CrLf,
                "CR" => discovery::records::RecordDelimiter::Cr,
                _ => discovery::records::RecordDelimiter::Char(one_char("record_delimiter", v)?),
            },
        }),
    };
    let header_row = match a.header_row {
        None => None,
        Some(h) if (0..=10_000).contains(&h) => Some(h as u32),
        Some(_) => {
            return Err(ToolError::invalid(
                "header_row",
                "header_row is the 1-based line of the header (0 = no header), at most 10000",
            ))
        }
    };
    let lines = match a.lines {
        None => None,
        Some(n) if (1..=50_000).contains(&n) => Some(n as usize),
        Some(_) => {
            return Err(ToolError::invalid(
                "lines",
                "lines must be between 1 and 50000",
            ))
        }
    };
    let record_type = match a
        .record_type
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None => None,
        Some("delimited" | "csv" | "tsv" | "delimited_text") => Some(RecordType::Delimited),
        Some("json" | "jsonl" | "ndjson" | "json_lines") => Some(RecordType::JsonLines),
        Some(_) => {
            return Err(ToolError::invalid(
                "record_type",
                "this record_type is not supported; use delimited or json (JSON Lines)",
            ))
        }
    };
    let encoding = match a.char_encoding.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => Some(e.to_string()),
    };
    Ok(Hints {
        delimiter,
        quote,
        escape,
        record_delimiter,
        encoding,
        header_row,
        lines,
        record_type,
    })
}

/// A sniffer error as a tool error: its message, the argument to change, and how.
pub fn sniff_error(e: SniffError) -> ToolError {
    let msg = e.to_string();
    match e {
        SniffError::Undecodable { .. } => ToolError::invalid("char_encoding", msg)
            .with_hint("give the file's real encoding in char_encoding"),
        SniffError::UnknownEncoding(_) => ToolError::invalid("char_encoding", msg),
        SniffError::NotJsonLines => ToolError::invalid("record_type", msg)
            .with_hint("use record_type delimited, or omit it"),
        SniffError::HeaderPastSample { .. } => ToolError::invalid("header_row", msg)
            .with_hint("give a smaller header_row, or a larger sample_bytes"),
        SniffError::TooWide { .. } => ToolError::invalid("delimiter", msg)
            .with_hint("give the delimiter with `delimiter`, or check record_type"),
        SniffError::Binary { .. } => ToolError::invalid("path", msg).with_hint(
            "discover_file_schema reads CSV, TSV and similar text files, and JSON Lines",
        ),
        SniffError::Empty | SniffError::Corrupt(_) => ToolError::invalid("path", msg),
    }
}
