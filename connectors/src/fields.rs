//! Reading a connection's clear fields and sealed secrets by name, the same way for every
//! driver family: text trimmed (numbers as text, since the CLI stores `5432` as a number),
//! ports checked, secrets taken out as [`Secret`]s.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::{database::Secret, error::DriverError};

pub(crate) struct Fields<'a> {
    fields: &'a Map<String, Value>,
    secrets: BTreeMap<String, String>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(fields: &'a Map<String, Value>, secrets: BTreeMap<String, String>) -> Self {
        Fields { fields, secrets }
    }

    /// A non-blank text (or number) field, trimmed.
    pub(crate) fn text(&self, k: &str) -> Option<String> {
        match self.fields.get(k) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    pub(crate) fn required(&self, k: &'static str, what: &str) -> Result<String, DriverError> {
        self.text(k)
            .ok_or_else(|| DriverError::config(k, format!("missing; set it to {what}")))
    }

    pub(crate) fn secret(&mut self, k: &str) -> Option<Secret> {
        self.secrets.remove(k).map(Secret::new)
    }

    pub(crate) fn flag(&self, k: &str) -> bool {
        matches!(self.fields.get(k), Some(Value::Bool(true)))
            || self.text(k).is_some_and(|s| s == "true")
    }

    /// A TCP port: `default` when absent, an error naming the field when not 1..=65535.
    pub(crate) fn port(&self, k: &'static str, default: u16) -> Result<u16, DriverError> {
        match self.text(k) {
            None => Ok(default),
            Some(p) => p
                .parse()
                .ok()
                .filter(|&p: &u16| p > 0)
                .ok_or_else(|| DriverError::config(k, "must be a number from 1 to 65535")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_ports_and_secrets() {
        let fields = serde_json::json!({"host": "  db.internal ", "database": 2024, "port": "0",
                                        "ssh_port": 2222, "blank": "  "});
        let mut f = Fields::new(
            fields.as_object().unwrap(),
            BTreeMap::from([("password".to_string(), "pw".to_string())]),
        );
        assert_eq!(f.text("host").as_deref(), Some("db.internal"));
        assert_eq!(
            f.text("database").as_deref(),
            Some("2024"),
            "the CLI stores digits as a number"
        );
        assert_eq!(f.text("blank"), None);
        assert!(matches!(
            f.port("port", 5432),
            Err(DriverError::Config { .. })
        ));
        assert_eq!(f.port("ssh_port", 22).unwrap(), 2222);
        assert_eq!(f.port("missing", 22).unwrap(), 22);
        assert_eq!(f.secret("password").unwrap().expose(), "pw");
        assert!(f.secret("password").is_none(), "a secret is taken once");
    }
}
