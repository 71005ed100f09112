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

    /// An opt-in switch: `false` when absent, an error naming the field when it is neither
    /// `true` nor `false` (a typo must not silently mean "off", nor "on").
    pub(crate) fn boolean(&self, k: &'static str) -> Result<bool, DriverError> {
        match self.fields.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            _ => match self.text(k).as_deref() {
                None => Ok(false),
                Some("true") => Ok(true),
                Some("false") => Ok(false),
                Some(_) => Err(DriverError::config(k, "must be true or false")),
            },
        }
    }

    /// The secrets no field took: scrubbed from errors all the same.
    pub(crate) fn remaining_secrets(&mut self) -> Vec<Secret> {
        std::mem::take(&mut self.secrets)
            .into_values()
            .map(Secret::new)
            .collect()
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

    #[test]
    fn switches_are_true_false_or_an_error_naming_the_field() {
        let fields = serde_json::json!({"on": true, "off": "false", "text_on": " true ",
                                        "typo": "yes", "number": 1});
        let f = Fields::new(fields.as_object().unwrap(), BTreeMap::new());
        assert!(f.boolean("on").unwrap());
        assert!(!f.boolean("off").unwrap());
        assert!(f.boolean("text_on").unwrap());
        assert!(!f.boolean("absent").unwrap());
        for k in ["typo", "number"] {
            match f.boolean(k) {
                Err(DriverError::Config { field, message }) => {
                    assert_eq!(
                        (field.as_str(), message.as_str()),
                        (k, "must be true or false")
                    )
                }
                other => panic!("{k}: {other:?}"),
            }
        }
    }

    #[test]
    fn secrets_no_field_took_are_kept_for_scrubbing() {
        let fields = serde_json::Map::new();
        let mut f = Fields::new(
            &fields,
            BTreeMap::from([
                ("password".to_string(), "pw".to_string()),
                ("api_token".to_string(), "tok".to_string()),
            ]),
        );
        f.secret("password");
        let rest: Vec<String> = f
            .remaining_secrets()
            .iter()
            .map(|s| s.expose().to_string())
            .collect();
        assert_eq!(rest, ["tok"]);
    }
}
