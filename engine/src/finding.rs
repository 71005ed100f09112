//! What validation says about a package: one [`Finding`] per problem, naming the component
//! and property to change and how.

use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The package cannot run as it is.
    Error,
    /// It can run, but something is probably not what was meant, or could not be checked.
    Warning,
}

/// One problem in a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema, thiserror::Error)]
#[error("{}{}: {message}", component.as_deref().unwrap_or("package"), property.as_deref().map(|p| format!(".{p}")).unwrap_or_default())]
pub struct Finding {
    /// The component's name (its id, or its position, when it has no name); absent for
    /// the package as a whole.
    pub component: Option<String>,
    /// The property to change; absent when the component as a whole is at fault.
    pub property: Option<String>,
    pub message: String,
    /// What to change.
    pub fix: String,
    pub severity: Severity,
}

impl Finding {
    pub fn error(
        component: &str,
        property: Option<&str>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            component: Some(component.to_string()),
            property: property.map(String::from),
            message: message.into(),
            fix: fix.into(),
            severity: Severity::Error,
        }
    }

    pub fn warning(
        component: &str,
        property: Option<&str>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(component, property, message, fix)
        }
    }

    /// A problem with the package as a whole (`property` is then a top-level key such as
    /// `edges[3]`).
    pub fn package_error(
        property: Option<&str>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            component: None,
            ..Finding::error("", property, message, fix)
        }
    }

    pub fn package_warning(message: impl Into<String>, fix: impl Into<String>) -> Finding {
        Finding {
            component: None,
            severity: Severity::Warning,
            ..Finding::error("", None, message, fix)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}
