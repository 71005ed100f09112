//! A file source's properties, checked once and read as bytes the decoders take: the
//! delimiter, quote, escape and record delimiter, the lines before the data, the text
//! encoding and the compression.

use encoding_rs::Encoding;

use super::bad_property;
use crate::components::properties::{Compression, FileSource, RecordType};
use crate::run::RunFailure;

/// How the files of one source are laid out.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub record_type: RecordType,
    pub delimiter: u8,
    /// `None`: fields are never quoted.
    pub quote: Option<u8>,
    /// `None`: quotes are doubled.
    pub escape: Option<u8>,
    /// `None`: LF, CRLF or CR, whichever comes.
    pub terminator: Option<u8>,
    /// Lines skipped before the data: the preamble and the header.
    pub header_lines: u32,
    /// `None`: UTF-8.
    pub encoding: Option<&'static Encoding>,
    /// `None`: from each file's name, else from its first bytes.
    pub compression: Option<Compression>,
}

impl Layout {
    pub fn of(spec: &FileSource) -> Result<Layout, RunFailure> {
        Ok(Layout {
            record_type: spec.record_type,
            delimiter: delimiter("delimiter", spec.delimiter.as_deref())?,
            quote: match spec.quote.as_deref() {
                None => Some(b'"'),
                Some(q) if is_none(q) => None,
                Some(q) => Some(one_byte("quote", q)?),
            },
            escape: match spec.escape.as_deref() {
                None => None,
                Some(e) if is_none(e) => None,
                Some(e) => Some(one_byte("escape", e)?),
            },
            terminator: terminator(spec.record_delimiter.as_deref())?,
            header_lines: spec.header_row.unwrap_or(1),
            encoding: encoding(spec.encoding.as_deref())?,
            compression: spec.compression,
        })
    }
}

fn is_none(v: &str) -> bool {
    v.is_empty() || v.eq_ignore_ascii_case("none")
}

/// One ASCII character (Arrow's CSV reader and writer split on single bytes).
fn one_byte(property: &str, v: &str) -> Result<u8, RunFailure> {
    match v.as_bytes() {
        [b] if b.is_ascii() => Ok(*b),
        _ => Err(bad_property(
            property,
            format!("`{property}` must be one ASCII character"),
            "give one ASCII character (discover_file_schema reports the file's)",
        )),
    }
}

/// A delimiter property (of a source or a destination): one character or `tab`; absent:
/// a comma.
pub(crate) fn delimiter(property: &str, v: Option<&str>) -> Result<u8, RunFailure> {
    match v {
        None => Ok(b','),
        Some(d) if d.eq_ignore_ascii_case("tab") || d == "\\t" => Ok(b'\t'),
        Some(d) => one_byte(property, d),
    }
}

fn terminator(v: Option<&str>) -> Result<Option<u8>, RunFailure> {
    match v {
        None => Ok(None),
        Some(t)
            if [
                "LF", "CRLF", "CR", "\n", "\r\n", "\r", "\\n", "\\r\\n", "\\r",
            ]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(t)) =>
        {
            Ok(None)
        }
        Some(t) => one_byte("record_delimiter", t).map(Some),
    }
}

/// The encoding a label names (WHATWG labels: UTF-8, windows-1252, ISO-8859-1, UTF-16LE,
/// Shift_JIS, …); `None` for UTF-8, which is read as it is.
fn encoding(label: Option<&str>) -> Result<Option<&'static Encoding>, RunFailure> {
    let Some(label) = label.map(str::trim).filter(|l| !l.is_empty()) else {
        return Ok(None);
    };
    match Encoding::for_label(label.as_bytes()) {
        Some(e) if e == encoding_rs::UTF_8 => Ok(None),
        Some(e) => Ok(Some(e)),
        None => Err(bad_property(
            "encoding",
            "`encoding` names no text encoding this engine knows".into(),
            "use a standard label such as UTF-8, windows-1252, ISO-8859-1, UTF-16LE or Shift_JIS",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(props: serde_json::Value) -> FileSource {
        let mut v = serde_json::json!({"connection_id": 1, "path": "a.csv"});
        v.as_object_mut()
            .unwrap()
            .extend(props.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn properties_become_bytes_and_defaults_are_csv() {
        let l = Layout::of(&spec(serde_json::json!({}))).unwrap();
        assert_eq!(
            (l.delimiter, l.quote, l.escape, l.terminator, l.header_lines),
            (b',', Some(b'"'), None, None, 1)
        );
        assert!(l.encoding.is_none());
        let l = Layout::of(&spec(serde_json::json!({
            "delimiter": "tab", "quote": "none", "escape": "\\", "record_delimiter": "CRLF",
            "header_row": 3, "encoding": "ISO-8859-1"
        })))
        .unwrap();
        assert_eq!(
            (l.delimiter, l.quote, l.escape, l.terminator, l.header_lines),
            (b'\t', None, Some(b'\\'), None, 3)
        );
        assert_eq!(l.encoding, Some(encoding_rs::WINDOWS_1252));
        let l = Layout::of(&spec(
            serde_json::json!({"record_delimiter": "|", "encoding": "utf8"}),
        ))
        .unwrap();
        assert_eq!(l.terminator, Some(b'|'));
        assert!(l.encoding.is_none());
    }

    #[test]
    fn unusable_properties_are_named() {
        for (props, property) in [
            (serde_json::json!({"delimiter": "ab"}), "delimiter"),
            (serde_json::json!({"delimiter": "§"}), "delimiter"),
            (serde_json::json!({"quote": "''"}), "quote"),
            (serde_json::json!({"encoding": "klingon-8"}), "encoding"),
        ] {
            let e = Layout::of(&spec(props)).unwrap_err();
            assert_eq!(e.property.as_deref(), Some(property), "{e:?}");
            assert!(!e.message.contains("klingon"), "{e}");
        }
    }
}
