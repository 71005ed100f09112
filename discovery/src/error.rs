/// Why a sample could not be read as a delimited text file. Each message says what to do,
/// in words about the file (never about how a caller asked: the caller names its own
/// arguments when it shows these).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    #[error("the file is empty; pick a file with data")]
    Empty,
    #[error("this is a {format} file, not delimited text; only CSV, TSV and similar text files (and JSON Lines) are read")]
    Binary { format: String },
    #[error("the bytes at offset {offset} are not valid {encoding}; the file has another encoding (for example windows-1252, ISO-8859-1, Shift_JIS, GBK, UTF-16LE)")]
    Undecodable { encoding: String, offset: usize },
    /// The label is kept for code; the message does not echo it back.
    #[error("unknown encoding; use a WHATWG label such as UTF-8, UTF-16LE, windows-1252, ISO-8859-1, Shift_JIS, GBK")]
    UnknownEncoding(String),
    #[error("the compressed data is corrupt: {0}")]
    Corrupt(String),
    #[error("a row has more than {max} fields; the delimiter or the record type is probably not the file's")]
    TooWide { max: usize },
    /// JSON Lines was asked for ([`crate::Hints::record_type`]).
    #[error("no line of the sample is a JSON object, so this is not JSON Lines")]
    NotJsonLines,
    /// The header line given ([`crate::Hints::header_row`]) is not in the sample.
    #[error("line {line} is past the end of the sample ({lines_read} lines read)")]
    HeaderPastSample { line: u32, lines_read: u32 },
}
