//! `discover_file_schema`: resolve a path (or the newest file matching a glob) on a file
//! connection, read a bounded prefix with one range request, and sniff its dialect,
//! encoding, header and column types. Every argument the user gives overrides a guess
//! (see [`super::hints`]).

use connectors::{files, DriverError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hints::{hints, sniff_error};
use crate::{
    budget,
    context::ToolContext,
    error::{ErrorCode, ToolError},
    registry::{tool, Effect, ToolMeta, ToolSpec},
};

/// Bytes read from the start of a file unless `sample_bytes` says otherwise.
pub const DEFAULT_SAMPLE_BYTES: u64 = 1 << 20;
pub const MAX_SAMPLE_BYTES: u64 = 16 << 20;

pub fn spec() -> ToolSpec {
    tool(
        ToolMeta {
            name: "discover_file_schema",
            title: "Discover a file's columns",
            description: "Detects the columns of a delimited file (any delimiter; gzip decoded) or JSON Lines on a file connection (S3, GCS, Azure, SFTP, local, HTTP), reading only a prefix. Every optional argument overrides its guess. Returns field_count, column_names, fields for a source component's schema.fields, the dialect with a confidence per guess, typed columns and sample rows.",
            effect: Effect::ReadUpstream,
        },
        discover_file_schema,
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiscoverFileSchemaArgs {
    /// A file connection's id.
    pub connection_id: i64,
    /// Relative to the connection's bucket or folder; a glob picks the newest match.
    pub path: String,
    /// One character (`,` `;` `|` `§` …), or `tab`, `space`, `none` (one column per line).
    #[serde(default)]
    pub delimiter: Option<String>,
    /// 1-based line of the header, preamble lines counted; 0 = none.
    #[serde(default)]
    pub header_row: Option<i64>,
    /// `delimited` (default) or `json` (JSON Lines).
    #[serde(default)]
    pub record_type: Option<String>,
    /// `LF`, `CRLF`, `CR` or one character.
    #[serde(default)]
    pub record_delimiter: Option<String>,
    /// e.g. UTF-16LE, windows-1252, Shift_JIS.
    #[serde(default)]
    pub char_encoding: Option<String>,
    /// Instead of the connection's bucket or container.
    #[serde(default)]
    pub bucket: Option<String>,
    /// Most data rows to analyse (default: all sampled, up to 50,000).
    #[serde(default)]
    pub lines: Option<i64>,
    /// The quote character, or `none`.
    #[serde(default)]
    pub quote: Option<String>,
    /// `\` if a backslash escapes quotes, `none` if quotes are doubled.
    #[serde(default)]
    pub escape: Option<String>,
    /// Bytes to read, default 1 MiB, max 16 MiB.
    #[serde(default)]
    pub sample_bytes: Option<i64>,
}

/// One entry of a source component's `schema.fields`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SchemaField {
    pub name: String,
    pub alias: String,
    /// integer, decimal, boolean, date, timestamp or string.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ColumnGuess {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Date/timestamp layout (strftime), or the decimal and thousands separators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// 0..1: how sure the type guess is (grows with the values that agree).
    pub confidence: f64,
    pub nullable: bool,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct Dialect {
    /// `delimited` or `json`.
    pub record_type: String,
    pub encoding: String,
    pub bom: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    pub record_delimiter: String,
    /// Absent: one column per line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Space-aligned text: each column's first character; a field is the trimmed text up to the next.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_offsets: Option<Vec<u32>>,
    /// Absent: no quoting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<String>,
    /// Absent: quotes are doubled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escape: Option<String>,
    /// 1-based line of the header; 0 = none.
    pub header_row: u32,
    pub preamble_lines: u32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct FileSchema {
    pub connection_id: i64,
    /// The file read (for a glob, the newest match).
    pub path: String,
    /// For a glob: how many files matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched_files: Option<usize>,
    pub size_bytes: u64,
    /// Last modification (RFC 3339), when the store tells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified_at: Option<String>,
    /// Bytes read from the start of the file.
    pub bytes_read: u64,
    /// Whether the guesses rest on a prefix of the file rather than all of it.
    pub truncated: bool,
    pub field_count: usize,
    pub column_names: Vec<String>,
    /// Ready for a source component's `schema.fields`.
    pub fields: Vec<SchemaField>,
    pub columns: Vec<ColumnGuess>,
    pub dialect: Dialect,
    /// 0..1 per guess (1 = given by you, or certain).
    pub confidence: Value,
    /// Up to 10 data rows as read.
    pub sample_rows: Vec<Vec<String>>,
    pub rows_sampled: usize,
    /// Data rows with more or fewer fields than the header.
    pub ragged_rows: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn rfc3339(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

async fn discover_file_schema(
    ctx: ToolContext,
    a: DiscoverFileSchemaArgs,
) -> Result<FileSchema, ToolError> {
    if a.path.trim().is_empty() {
        return Err(ToolError::invalid(
            "path",
            "give the file's path, e.g. exports/orders.csv or exports/*.csv",
        ));
    }
    let hints = hints(&a)?;
    let sample_bytes = match a.sample_bytes {
        None => DEFAULT_SAMPLE_BYTES,
        Some(n) if n >= 1024 && n as u64 <= MAX_SAMPLE_BYTES => n as u64,
        Some(_) => {
            return Err(ToolError::invalid(
                "sample_bytes",
                format!("sample_bytes must be between 1024 and {MAX_SAMPLE_BYTES}"),
            ))
        }
    };
    let bucket = match a.bucket.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(b) => Some(b),
    };
    let not_a_file = || {
        ToolError::new(
            ErrorCode::NotFound,
            "connection not found, or not a file connection",
        )
        .with_field("connection_id")
        .with_hint("list_connections with connection_type_filter=file shows file connections")
    };
    let account = ctx.account_id();
    let store = ctx
        .connections
        .file_store(account, a.connection_id, bucket)
        .await
        .map_err(|e| match e {
            DriverError::ConnectionNotFound { .. } | DriverError::NotAFileConnection { .. } => {
                not_a_file()
            }
            other => other.into(),
        })?;
    // Each step passes the gate: a permit of this account, and a deadline.
    let gate = ctx.connections.files();
    let resolved = {
        let (store, path) = (store.clone(), a.path.clone());
        gate.run(account, async move {
            files::resolve(store.as_ref(), &path).await
        })
        .await?
    };
    let (file, matched) = (resolved.file, resolved.matched);
    if file.size == 0 {
        return Err(ToolError::invalid(
            "path",
            "the file is empty (0 bytes); pick a file with data",
        ));
    }
    let (bytes, truncated) = {
        let (store, file) = (store.clone(), file.clone());
        gate.run(account, async move {
            files::read_prefix(store.as_ref(), &file, sample_bytes).await
        })
        .await
        .map_err(|e| ToolError::driver(e, "try again shortly; a smaller sample_bytes reads less"))?
    };
    // Sniffing a 16 MiB sample is CPU work: keep it off the async workers.
    let sample_len = bytes.len();
    let d = gate
        .run_blocking(account, move || discovery::sniff(&bytes, truncated, &hints))
        .await?
        .map_err(sniff_error)?;
    let mut notes = Vec::new();
    if let Some(n) = matched {
        notes.push(format!(
            "`{}` matched {n} file(s); this is the newest: {}",
            a.path.trim(),
            file.path
        ));
    }
    if resolved.listing_capped {
        notes.push(format!(
            "the listing stopped at {} entries, so a newer match may exist; narrow the pattern's folder",
            files::MAX_GLOB_LISTING
        ));
    }
    if d.column_offsets.is_some() {
        notes.push(
            "columns are aligned with spaces: cut each line at column_offsets and trim; runs of spaces are padding, not values. Pipelines read delimited files only: convert this one first".into(),
        );
    } else if d.delimiter.is_none() && d.record_type == "delimited" {
        notes.push("one column: each line is one value".into());
    }
    if d.ragged_rows > 0 {
        notes.push(format!(
            "{} of {} data rows have more or fewer than {} fields",
            d.ragged_rows, d.rows_sampled, d.field_count
        ));
    }
    if d.truncated {
        notes.push(format!(
            "guesses rest on the first {} bytes of {}; raise sample_bytes (max {MAX_SAMPLE_BYTES}) if a column's type looks wrong",
            sample_len,
            file.size
        ));
    }
    let mut sample_rows = d.sample_rows.clone();
    let mut out = FileSchema {
        connection_id: a.connection_id,
        path: file.path.clone(),
        matched_files: matched,
        size_bytes: file.size,
        modified_at: file.modified.and_then(rfc3339),
        bytes_read: sample_len as u64,
        truncated: d.truncated,
        field_count: d.field_count,
        column_names: d.column_names.clone(),
        fields: d
            .fields
            .iter()
            .map(|f| SchemaField {
                name: f.name.clone(),
                alias: f.name.clone(),
                kind: f.inferred.kind.as_str().into(),
            })
            .collect(),
        columns: d
            .fields
            .iter()
            .map(|f| ColumnGuess {
                name: f.name.clone(),
                kind: f.inferred.kind.as_str().into(),
                format: f.inferred.format.clone(),
                confidence: f.inferred.confidence,
                nullable: f.inferred.nullable,
            })
            .collect(),
        dialect: Dialect {
            record_type: d.record_type.into(),
            encoding: d.encoding.clone(),
            bom: d.bom,
            compression: d.compression.map(String::from),
            record_delimiter: d.record_delimiter.clone(),
            delimiter: d.delimiter.clone(),
            column_offsets: d.column_offsets.clone(),
            quote: d.quote.clone(),
            escape: d.escape.clone(),
            header_row: d.header_row,
            preamble_lines: d.preamble_lines,
        },
        confidence: serde_json::to_value(&d.confidence).unwrap_or(Value::Null),
        sample_rows: vec![],
        rows_sampled: d.rows_sampled,
        ragged_rows: d.ragged_rows,
        notes,
    };
    // Sample rows of very wide or long-valued files are kept within the result budget.
    let room = budget::DEFAULT_MAX_BYTES.saturating_sub(budget::size(&out) + 200);
    if budget::fit(&mut sample_rows, room) {
        out.notes.push(format!(
            "only {} sample row(s) are shown, to keep this result within {} bytes",
            sample_rows.len(),
            budget::DEFAULT_MAX_BYTES
        ));
    }
    out.sample_rows = sample_rows;
    Ok(out)
}
