//! Files as DataFusion sources and as destinations, over every file store (S3, GCS,
//! Azure, HTTP, SFTP, local folders) through [`connectors::files::FileStore`].
//!
//! A source ([`source`]) is a table that streams: each file (a glob's matches one after
//! another, in name order) is read as it arrives, inflated (gzip, zstd), transcoded to
//! UTF-8 when it is in another encoding, and decoded by Arrow's CSV or JSON decoder or
//! Parquet's async reader, a batch at a time; memory is bounded by the batch size (a
//! Parquet row group), never by the file size. Values are typed by the source's declared
//! columns ([`values`]), and one that does not fit its type fails the run naming the
//! column and the record, never the value.
//!
//! A destination ([`write`]) encodes the batches as they come (CSV, JSON Lines, Parquet,
//! optionally gzip or zstd) into the store's atomic streamed write through a bounded
//! channel: until the last batch is written nothing changes at the path, and a failed or
//! dropped run leaves the old file as it was.

mod columnar;
mod layout;
mod records;
mod sink;
mod source;
mod text;
mod values;

use std::fmt;

use crate::run::{Category, RunFailure};

pub use sink::write;
pub use source::{source, source_named};

/// Which file a message is about, without naming it (paths are the user's values): "the
/// file", or "file 2 of 5 matched by `path`".
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileAt {
    pub index: usize,
    pub count: usize,
}

impl fmt::Display for FileAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count <= 1 {
            f.write_str("the file")
        } else {
            write!(
                f,
                "file {} of the {} matched by `path` (in name order)",
                self.index + 1,
                self.count
            )
        }
    }
}

/// A property of the component that cannot be used as it is.
pub(crate) fn bad_property(property: &str, message: String, hint: &str) -> RunFailure {
    let mut f = RunFailure::new(Category::Schema, message, hint);
    f.property = Some(property.to_string());
    f
}

/// A value or record the file holds that cannot be read as the component says.
pub(crate) fn bad_data(message: String) -> RunFailure {
    let mut f = RunFailure::new(
        Category::Data,
        message,
        "fix the file, or change the column's type in the component's schema.fields (string reads any value)",
    );
    f.property = Some("schema".into());
    f
}

/// A store's error while the component read or wrote, attributed to `property`.
pub(crate) fn store_failure(e: &connectors::DriverError, property: &str) -> RunFailure {
    let mut f = RunFailure::from_driver(e);
    f.property = Some(property.to_string());
    f
}
