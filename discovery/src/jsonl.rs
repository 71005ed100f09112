//! JSON Lines (`record_type: json`): one object per line; fields are the union of the
//! keys, in the order they first appear (within one object, in key order), typed from
//! the JSON values.

use serde_json::Value;

use crate::types::{ColumnStats, ColumnType, Inferred};

pub struct JsonFields {
    pub names: Vec<String>,
    pub types: Vec<Inferred>,
    pub rows: usize,
    pub sample: Vec<Vec<String>>,
    pub bad_lines: usize,
}

/// Whether the text starts like JSON Lines (the first line is a JSON object).
pub fn looks_like_jsonl(text: &str) -> bool {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    first.trim_start().starts_with('{')
        && serde_json::from_str::<serde_json::Map<String, Value>>(first.trim()).is_ok()
}

pub fn fields(text: &str, truncated: bool, max_rows: usize) -> JsonFields {
    let mut names: Vec<String> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut stats: Vec<(ColumnStats, Option<ColumnType>)> = Vec::new();
    let mut rows = 0;
    let mut bad = 0;
    let mut sample = Vec::new();
    let mut lines: Vec<&str> = text.lines().collect();
    if truncated && !text.ends_with('\n') {
        lines.pop();
    }
    for line in lines
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .take(max_rows)
    {
        let Ok(obj) = serde_json::from_str::<serde_json::Map<String, Value>>(line.trim()) else {
            bad += 1;
            continue;
        };
        rows += 1;
        for (k, v) in &obj {
            let j = match index.get(k) {
                Some(&j) => j,
                None => {
                    // Past the cap the caller reports the file as too wide.
                    if names.len() > crate::records::MAX_FIELDS {
                        continue;
                    }
                    names.push(k.clone());
                    stats.push((ColumnStats::default(), None));
                    index.insert(k.clone(), names.len() - 1);
                    names.len() - 1
                }
            };
            let (s, fixed) = &mut stats[j];
            match v {
                Value::Null => s.add(""),
                Value::String(t) => s.add(t),
                Value::Bool(b) => s.add(if *b { "true" } else { "false" }),
                Value::Number(n) => s.add(&n.to_string()),
                Value::Array(_) | Value::Object(_) => *fixed = Some(ColumnType::String),
            }
        }
        if sample.len() < 10 {
            sample.push(
                names
                    .iter()
                    .map(|n| match obj.get(n) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Null) | None => String::new(),
                        Some(v) => v.to_string(),
                    })
                    .collect(),
            );
        }
    }
    let types = stats
        .iter()
        .map(|(s, fixed)| {
            let mut t = s.infer();
            if let Some(k) = fixed {
                t.kind = *k;
                t.format = Some("json".into());
            }
            t
        })
        .collect();
    JsonFields {
        names,
        types,
        rows,
        sample,
        bad_lines: bad,
    }
}
