//! What every backend checks and decides before a write touches the database: the merge
//! keys, which table column each written column goes to, the staging table's name, and
//! each incoming batch's columns found by name.

use arrow::{array::ArrayRef, datatypes::Schema, record_batch::RecordBatch};

use super::{
    arrow_values,
    transfer::{WriteMode, WriteRequest},
};
use crate::error::{DriverError, Result};

/// The positions (in the written schema) of the merge keys; empty unless merging.
/// Refuses an empty key list and keys that are not columns of the data written.
pub fn merge_keys(w: &WriteRequest) -> Result<Vec<usize>> {
    arrow_values::check_writable(&w.schema)?;
    let WriteMode::Merge { keys } = &w.mode else {
        return Ok(Vec::new());
    };
    if keys.is_empty() {
        return Err(DriverError::Query(
            "a merge needs at least one key column; name the columns that identify a row".into(),
        ));
    }
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let i = w.schema.index_of(k).map_err(|_| {
            DriverError::Query(format!(
                "merge key `{k}` is not a column of the rows being written; use one of: {}",
                names(&w.schema)
            ))
        })?;
        if out.contains(&i) {
            return Err(DriverError::Query(format!(
                "merge key `{k}` is named twice; name each key column once"
            )));
        }
        out.push(i);
    }
    Ok(out)
}

fn names(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| format!("`{}`", f.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// For each written column, the index of its table column: the one of the same name, or
/// else the only one whose name differs in case alone.
pub fn match_columns(schema: &Schema, table: &[&str]) -> Result<Vec<usize>> {
    let mut out: Vec<usize> = Vec::with_capacity(schema.fields().len());
    for f in schema.fields() {
        let name = f.name();
        let i = match table.iter().position(|t| t == name) {
            Some(i) => i,
            None => {
                let mut folded = table
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.eq_ignore_ascii_case(name));
                match (folded.next(), folded.next()) {
                    (Some((i, _)), None) => i,
                    _ => {
                        return Err(DriverError::Query(format!(
                            "the table has no column `{name}`; add the column to the table, or rename or drop it in the data written"
                        )))
                    }
                }
            }
        };
        if out.contains(&i) {
            return Err(DriverError::Query(format!(
                "two written columns go to the table's column `{}`; rename one of them",
                table[i]
            )));
        }
        out.push(i);
    }
    if out.is_empty() {
        return Err(DriverError::Query(
            "the rows being written have no columns".into(),
        ));
    }
    Ok(out)
}

/// The staging table of a run: `pw_stage_<tag>`, the tag cut to letters, digits and `_`
/// (so it is a plain identifier on every database, well under every length limit).
pub fn staging_name(run_tag: &str) -> String {
    let tag: String = run_tag
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(40)
        .collect();
    format!("pw_stage_{}", tag.to_ascii_lowercase())
}

/// The batch's columns in the order of `schema` (found by name, so a batch whose columns
/// come in another order still writes each to its place).
pub fn columns<'a>(batch: &'a RecordBatch, schema: &Schema) -> Result<Vec<&'a ArrayRef>> {
    let bs = batch.schema();
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let at = if bs.fields().get(i).is_some_and(|b| b.name() == f.name()) {
                Some(i)
            } else {
                bs.index_of(f.name()).ok()
            };
            at.map(|i| batch.column(i)).ok_or_else(|| {
                DriverError::Query(format!(
                    "a batch of rows has no column `{}`, which the write was set up with",
                    f.name()
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::TableRef;
    use arrow::datatypes::{DataType, Field};
    use std::sync::Arc;

    fn request(mode: WriteMode) -> WriteRequest {
        WriteRequest {
            table: TableRef {
                schema: None,
                name: "t".into(),
            },
            mode,
            create_table: false,
            schema: Arc::new(Schema::new(vec![
                Field::new("id", DataType::Int64, false),
                Field::new("Name", DataType::Utf8, true),
            ])),
            run_tag: "r42".into(),
        }
    }

    #[test]
    fn merge_keys_must_be_written_columns() {
        let ok = request(WriteMode::Merge {
            keys: vec!["Name".into(), "id".into()],
        });
        assert_eq!(merge_keys(&ok).unwrap(), vec![1, 0]);
        let e = merge_keys(&request(WriteMode::Merge {
            keys: vec!["nope".into()],
        }))
        .unwrap_err()
        .to_string();
        assert!(e.contains("`nope`") && e.contains("`id`, `Name`"), "{e}");
        assert!(merge_keys(&request(WriteMode::Merge { keys: vec![] })).is_err());
        assert!(merge_keys(&request(WriteMode::Merge {
            keys: vec!["id".into(), "id".into()]
        }))
        .is_err());
        assert!(merge_keys(&request(WriteMode::Append)).unwrap().is_empty());
    }

    #[test]
    fn columns_match_by_name_then_by_case() {
        let s = request(WriteMode::Append).schema;
        assert_eq!(
            match_columns(&s, &["name", "extra", "id"]).unwrap(),
            vec![2, 0]
        );
        assert_eq!(
            match_columns(&s, &["Name", "name", "id"]).unwrap(),
            vec![2, 0]
        );
        let e = match_columns(&s, &["id"]).unwrap_err().to_string();
        assert!(e.contains("`Name`"), "{e}");
        assert!(match_columns(&s, &["id", "NAME", "name"]).is_err());
    }

    #[test]
    fn staging_names_are_plain_identifiers() {
        assert_eq!(staging_name("R42"), "pw_stage_r42");
        assert_eq!(staging_name("a-b\"; drop"), "pw_stage_abdrop");
    }
}
