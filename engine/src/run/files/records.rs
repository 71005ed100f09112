//! Delimited text and JSON Lines, one file at a time: Arrow's push decoders fed the
//! file's text a piece at a time, a batch out whenever one fills, every value read as
//! text and then typed by [`Typing`]. Columns of delimited text are matched by position,
//! JSON keys by the columns' names in the file.

use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;

use super::layout::Layout;
use super::text::Text;
use super::values::{BadValue, Typing};
use super::{bad_data, FileAt};
use crate::components::properties::RecordType;
use crate::run::RunFailure;

enum Decoder {
    Csv(Box<arrow::csv::reader::Decoder>),
    Json(arrow::json::reader::Decoder),
}

/// The records of one file, a batch at a time.
pub(crate) struct Records {
    text: Text,
    decoder: Decoder,
    typing: Typing,
    batch_rows: usize,
    /// The text piece being decoded, and how much of it the decoder took.
    piece: Vec<u8>,
    used: usize,
    ended: bool,
    /// Records handed out before, in this file.
    records: u64,
    at: FileAt,
}

impl Records {
    /// `names`: the columns' names in the file (JSON keys), in the order of `schema`'s.
    pub fn new(
        text: Text,
        layout: &Layout,
        names: &[String],
        schema: SchemaRef,
        batch_rows: usize,
        at: FileAt,
    ) -> Result<Records, RunFailure> {
        let batch_rows = batch_rows.max(1);
        let as_text = Arc::new(Schema::new(
            names
                .iter()
                .map(|n| Field::new(n, DataType::Utf8, true))
                .collect::<Vec<_>>(),
        ));
        let decoder = match layout.record_type {
            RecordType::Json => Decoder::Json(
                arrow::json::ReaderBuilder::new(as_text)
                    .with_batch_size(batch_rows)
                    .with_coerce_primitive(true)
                    .build_decoder()
                    .map_err(|e| RunFailure::internal(format!("the JSON decoder: {e}")))?,
            ),
            _ => {
                let mut b = arrow::csv::ReaderBuilder::new(as_text)
                    .with_header(false)
                    .with_batch_size(batch_rows)
                    .with_delimiter(layout.delimiter)
                    // No quoting: a byte that never occurs in UTF-8 text.
                    .with_quote(layout.quote.unwrap_or(0xFF));
                if let Some(e) = layout.escape {
                    b = b.with_escape(e);
                }
                if let Some(t) = layout.terminator {
                    b = b.with_terminator(t);
                }
                Decoder::Csv(Box::new(b.build_decoder()))
            }
        };
        Ok(Records {
            text,
            decoder,
            typing: Typing::new(schema),
            batch_rows,
            piece: Vec::new(),
            used: 0,
            ended: false,
            records: 0,
            at,
        })
    }

    /// The next batch of at most the batch size; `None` after the last.
    pub async fn next(&mut self) -> Result<Option<RecordBatch>, RunFailure> {
        loop {
            if self.used == self.piece.len() && !self.ended {
                match self.text.next().await? {
                    Some(p) => (self.piece, self.used) = (p, 0),
                    None => self.ended = true,
                }
            }
            let input = &self.piece[self.used..];
            let batch_rows = self.batch_rows;
            let decoded = match &mut self.decoder {
                Decoder::Csv(d) => d.decode(input).map(|n| (n, d.capacity() == 0)),
                Decoder::Json(d) => d.decode(input).map(|n| (n, d.len() >= batch_rows)),
            };
            let (used, full) = decoded.map_err(|e| self.decode_error(e))?;
            self.used += used;
            if !(full || self.ended) {
                continue;
            }
            if let Decoder::Json(d) = &self.decoder {
                if self.ended && d.has_partial_record() {
                    return Err(self.json_error());
                }
            }
            let flushed = match &mut self.decoder {
                Decoder::Csv(d) => d.flush(),
                Decoder::Json(d) => d.flush(),
            }
            .map_err(|e| self.decode_error(e))?;
            match flushed {
                Some(raw) => {
                    let typed = self.typing.apply(&raw).map_err(|b| self.bad_value(b))?;
                    self.records += raw.num_rows() as u64;
                    return Ok(Some(typed));
                }
                None if self.ended => return Ok(None),
                None => {}
            }
        }
    }

    fn record_word(&self) -> &'static str {
        match self.decoder {
            Decoder::Csv(_) => "record",
            Decoder::Json(_) => "line",
        }
    }

    fn bad_value(&self, b: BadValue) -> RunFailure {
        bad_data(format!(
            "{}, {} {}: column `{}` holds a value that is not {}",
            self.at,
            self.record_word(),
            self.records + b.row as u64 + 1,
            b.column,
            b.expected
        ))
    }

    fn decode_error(&self, e: ArrowError) -> RunFailure {
        match self.decoder {
            Decoder::Csv(_) => self.csv_error(e),
            Decoder::Json(_) => self.json_error(),
        }
    }

    /// Arrow's CSV errors quote no values (field counts, invalid UTF-8, with a record
    /// number counted from the first data record): said again in our words.
    fn csv_error(&self, e: ArrowError) -> RunFailure {
        let message = e.to_string();
        // The number after `word` in Arrow's message.
        let after = |word: &str| -> u64 {
            message
                .split_once(word)
                .map(|(_, rest)| {
                    rest.chars()
                        .take_while(char::is_ascii_digit)
                        .collect::<String>()
                })
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        if message.contains("incorrect number of fields") {
            let (record, expected) = (after("line "), after("expected "));
            let mut f = bad_data(format!(
                "{}, record {record}: not {expected} fields as the component's schema has; the delimiter, quote or header_row may not be the file's, or the record is damaged",
                self.at
            ));
            f.hint = "check `delimiter`, `quote`, `escape` and `header_row` with discover_file_schema, or fix the record".into();
            return f;
        }
        if message.contains("invalid UTF-8") {
            let record = after("line ");
            let mut f = bad_data(format!(
                "{}, record {record}: the text is not UTF-8",
                self.at
            ));
            f.property = Some("encoding".into());
            f.hint = "set `encoding` to the file's encoding (discover_file_schema reports it), e.g. windows-1252".into();
            return f;
        }
        bad_data(format!(
            "{} cannot be read as delimited text after record {}",
            self.at, self.records
        ))
    }

    /// Arrow's JSON errors can quote a value: none of theirs is passed on.
    fn json_error(&self) -> RunFailure {
        let line = match &self.decoder {
            Decoder::Json(d) => self.records + d.len() as u64 + 1,
            Decoder::Csv(_) => self.records + 1,
        };
        let mut f = bad_data(format!(
            "{}, about line {line}: not a JSON object whose values fit the columns (a value is a list or an object where the schema expects a single value, or the line is not valid JSON)",
            self.at
        ));
        f.hint =
            "fix the line, or check `record_type` (json reads one JSON object per line)".into();
        f
    }
}
