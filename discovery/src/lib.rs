//! Pure dialect and type sniffing of delimited files: bytes in, a [`Discovery`] out. No
//! I/O, no async, no network, so it can be fuzzed and benchmarked alone.
//!
//! The steps, one module each: [`decode`] (compression, binary formats, encoding),
//! [`dialect`] (record delimiter, delimiter, quote, escape, scored on a parse of the
//! sample), [`layout`] (preamble, header row, column names) and [`types`] (column types
//! with formats and confidences). Every guess can be overridden by a [`Hints`] field.

pub mod aligned;
pub mod decode;
pub mod dialect;
mod error;
pub mod jsonl;
pub mod layout;
pub mod records;
mod sniff;
pub mod types;

pub use error::SniffError;
pub use sniff::{sniff, Confidence, Discovery, Field, Hints, RecordType};
