//! A file's bytes on the way to a decoder: streamed from the store (counted as they
//! come), inflated when compressed, transcoded to UTF-8 when in another encoding, and,
//! for delimited text, with the lines before the data (preamble and header) dropped.
//! Each step holds one chunk at a time.

use std::io;
use std::sync::Arc;

use async_compression::tokio::bufread::{GzipDecoder, ZstdDecoder};
use connectors::files::FileStore;
use connectors::DriverError;
use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt};
use tokio_util::io::StreamReader;

use super::layout::Layout;
use super::{bad_data, store_failure, FileAt};
use crate::components::properties::Compression;
use crate::run::{Counters, RunFailure};

/// Bytes read from the (inflated) file per step.
const CHUNK: usize = 256 * 1024;

/// A file's inflated bytes.
pub(crate) struct Inflated {
    reader: Box<dyn AsyncRead + Send + Unpin>,
    compression: Compression,
    at: FileAt,
}

impl Inflated {
    /// Opens `path` for a streamed read. The compression is the layout's, else the file
    /// name's (`.gz`, `.zst`), else what its first bytes say.
    pub async fn open(
        store: &Arc<dyn FileStore>,
        path: &str,
        layout: &Layout,
        counters: &Arc<Counters>,
        at: FileAt,
    ) -> Result<Inflated, RunFailure> {
        let raw = Arc::clone(store)
            .read_stream(path)
            .await
            .map_err(|e| store_failure(&e, "path"))?;
        let counters = Arc::clone(counters);
        let raw = raw.map(move |chunk| match chunk {
            Ok(bytes) => {
                counters.read(0, bytes.len() as u64);
                Ok(bytes)
            }
            Err(e) => Err(io::Error::other(e)),
        });
        let mut reader = StreamReader::new(raw);
        let compression = match layout.compression.or_else(|| by_name(path)) {
            Some(c) => c,
            None => {
                let head = reader
                    .fill_buf()
                    .await
                    .map_err(|e| read_error(e, Compression::None, at))?;
                by_magic(head)
            }
        };
        let reader: Box<dyn AsyncRead + Send + Unpin> = match compression {
            Compression::None => Box::new(reader),
            Compression::Gzip => {
                let mut d = GzipDecoder::new(reader);
                d.multiple_members(true);
                Box::new(d)
            }
            Compression::Zstd => {
                let mut d = ZstdDecoder::new(reader);
                d.multiple_members(true);
                Box::new(d)
            }
        };
        Ok(Inflated {
            reader,
            compression,
            at,
        })
    }

    /// Up to about [`CHUNK`] more bytes into `buf` (appended); `false` at the end.
    async fn fill(&mut self, buf: &mut Vec<u8>) -> Result<bool, RunFailure> {
        let start = buf.len();
        buf.reserve(CHUNK);
        while buf.len() - start < CHUNK / 2 {
            let n = self
                .reader
                .read_buf(buf)
                .await
                .map_err(|e| read_error(e, self.compression, self.at))?;
            if n == 0 {
                return Ok(buf.len() > start);
            }
        }
        Ok(true)
    }
}

fn by_name(path: &str) -> Option<Compression> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".gz") || lower.ends_with(".gzip") {
        Some(Compression::Gzip)
    } else if lower.ends_with(".zst") || lower.ends_with(".zstd") {
        Some(Compression::Zstd)
    } else {
        None
    }
}

fn by_magic(head: &[u8]) -> Compression {
    match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        _ => Compression::None,
    }
}

/// A read error: the store's (carried through the byte stream) or the decompressor's.
fn read_error(e: io::Error, compression: Compression, at: FileAt) -> RunFailure {
    let message = e.to_string();
    if let Some(inner) = e.into_inner() {
        if let Ok(store) = inner.downcast::<DriverError>() {
            return store_failure(&store, "path");
        }
    }
    let what = match compression {
        Compression::Gzip => "gzip",
        Compression::Zstd => "zstd",
        Compression::None => {
            return RunFailure::internal(format!("reading {at} failed: {message}"));
        }
    };
    let mut f = bad_data(format!(
        "{at} is not valid {what} data ({message}); it may be cut off or not compressed"
    ));
    f.property = Some("compression".into());
    f.hint = "set `compression` to what the file really is (none, gzip or zstd), or replace the damaged file".into();
    f
}

/// A file as UTF-8 text, from the line where its data starts.
pub(crate) struct Text {
    bytes: Inflated,
    decoder: Option<encoding_rs::Decoder>,
    skip: LineSkip,
    started: bool,
    done: bool,
}

impl Text {
    /// `skip_lines` lines (the preamble and header) are dropped.
    pub fn new(bytes: Inflated, layout: &Layout, skip_lines: u32) -> Text {
        Text {
            bytes,
            // Sniffs a BOM: a UTF-8 or UTF-16 file labelled otherwise is still read right.
            decoder: layout.encoding.map(|e| e.new_decoder()),
            skip: LineSkip {
                left: skip_lines,
                terminator: layout.terminator,
                after_cr: false,
            },
            started: false,
            done: false,
        }
    }

    /// The next piece of UTF-8 text; `None` at the end. Pieces end anywhere, even inside
    /// a record or a character (decoders take partial input).
    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, RunFailure> {
        loop {
            if self.done {
                return Ok(None);
            }
            let mut raw = Vec::new();
            let more = self.bytes.fill(&mut raw).await?;
            self.done = !more;
            let mut text = match &mut self.decoder {
                None => raw,
                Some(d) => transcode(d, &raw, !more),
            };
            if !self.started && self.decoder.is_none() && (more || !text.is_empty()) {
                self.started = true;
                if text.starts_with(b"\xEF\xBB\xBF") {
                    text.drain(..3);
                }
            }
            let from = self.skip.skip(&text);
            text.drain(..from);
            if !text.is_empty() {
                return Ok(Some(text));
            }
        }
    }
}

/// `raw` in the decoder's encoding, as UTF-8 (malformed bytes become U+FFFD).
fn transcode(d: &mut encoding_rs::Decoder, raw: &[u8], last: bool) -> Vec<u8> {
    let cap = d
        .max_utf8_buffer_length(raw.len())
        .unwrap_or(raw.len() * 3 + 16);
    let mut out = vec![0u8; cap];
    let mut read = 0;
    let mut written = 0;
    loop {
        let (result, r, w, _) = d.decode_to_utf8(&raw[read..], &mut out[written..], last);
        read += r;
        written += w;
        match result {
            encoding_rs::CoderResult::InputEmpty => break,
            encoding_rs::CoderResult::OutputFull => out.resize(out.len() * 2 + 16, 0),
        }
    }
    out.truncate(written);
    out
}

/// Drops whole lines from the front of the text, across pieces.
struct LineSkip {
    left: u32,
    /// `None`: LF, CRLF or CR.
    terminator: Option<u8>,
    /// The last piece ended in CR: an LF first in the next piece belongs to it.
    after_cr: bool,
}

impl LineSkip {
    /// How many bytes at the front of `text` belong to skipped lines.
    fn skip(&mut self, text: &[u8]) -> usize {
        let mut i = 0;
        if std::mem::take(&mut self.after_cr) && text.first() == Some(&b'\n') {
            i = 1;
        }
        while self.left > 0 && i < text.len() {
            match (self.terminator, text[i]) {
                (Some(t), b) if b == t => self.left -= 1,
                (Some(_), _) => {}
                (None, b'\n') => self.left -= 1,
                (None, b'\r') => {
                    self.left -= 1;
                    match text.get(i + 1) {
                        Some(b'\n') => i += 1,
                        Some(_) => {}
                        None => self.after_cr = true,
                    }
                }
                (None, _) => {}
            }
            i += 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip_all(lines: u32, terminator: Option<u8>, pieces: &[&[u8]]) -> Vec<u8> {
        let mut s = LineSkip {
            left: lines,
            terminator,
            after_cr: false,
        };
        let mut out = Vec::new();
        for p in pieces {
            let from = s.skip(p);
            out.extend_from_slice(&p[from..]);
        }
        out
    }

    #[test]
    fn lines_before_the_data_are_dropped_across_pieces_and_terminators() {
        assert_eq!(skip_all(1, None, &[b"a,b\n1,2\n"]), b"1,2\n");
        assert_eq!(
            skip_all(2, None, &[b"# note\r\na,b\r\n1,2\r\n"]),
            b"1,2\r\n"
        );
        assert_eq!(skip_all(1, None, &[b"a,b\r", b"\n1,2"]), b"1,2");
        assert_eq!(skip_all(1, None, &[b"a,b\r1,2\r"]), b"1,2\r");
        assert_eq!(skip_all(2, None, &[b"x", b"\ny\n", b"z"]), b"z");
        assert_eq!(skip_all(1, Some(b'|'), &[b"a,b|1,2|"]), b"1,2|");
        assert_eq!(skip_all(0, None, &[b"a\n"]), b"a\n");
        assert_eq!(skip_all(5, None, &[b"a\nb\n"]), b"");
    }

    #[test]
    fn legacy_text_becomes_utf8_even_split_mid_character() {
        let mut d = encoding_rs::WINDOWS_1252.new_decoder();
        assert_eq!(
            transcode(&mut d, b"M\xfcller;", false),
            "Müller;".as_bytes()
        );
        let mut d = encoding_rs::UTF_16LE.new_decoder();
        let utf16: Vec<u8> = "Genève".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let (a, b) = utf16.split_at(7);
        let mut out = transcode(&mut d, a, false);
        out.extend(transcode(&mut d, b, true));
        assert_eq!(String::from_utf8(out).unwrap(), "Genève");
    }

    #[test]
    fn compression_is_told_by_name_then_by_first_bytes() {
        assert_eq!(by_name("a/b.csv.GZ"), Some(Compression::Gzip));
        assert_eq!(by_name("b.jsonl.zst"), Some(Compression::Zstd));
        assert_eq!(by_name("b.csv"), None);
        assert_eq!(by_magic(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(by_magic(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
        assert_eq!(by_magic(b"id,name"), Compression::None);
    }
}
