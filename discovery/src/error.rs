/// Why a sample could not be read as a delimited text file. Each message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    #[error("the file is empty; pick a file with data")]
    Empty,
    #[error("this is a {format} file, not delimited text; discover_file_schema reads CSV, TSV and similar text files")]
    Binary { format: String },
    #[error("the bytes at offset {offset} are not valid {encoding}; give the file's real encoding in char_encoding (for example windows-1252, ISO-8859-1, Shift_JIS, GBK, UTF-16LE)")]
    Undecodable { encoding: String, offset: usize },
    /// The label is kept for code; the message does not echo it back.
    #[error("unknown encoding in char_encoding; use a WHATWG label such as UTF-8, UTF-16LE, windows-1252, ISO-8859-1, Shift_JIS, GBK")]
    UnknownEncoding(String),
    #[error("the compressed data is corrupt: {0}")]
    Corrupt(String),
    #[error("a row has more than {max} fields; check the delimiter (give it with `delimiter`) or the record_type")]
    TooWide { max: usize },
    #[error("{field}: {message}")]
    BadHint {
        field: &'static str,
        message: String,
    },
}
