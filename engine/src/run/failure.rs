//! Why a run failed, in words an engineer acts on: a category, the component and property
//! at fault, the message, and what to change.

use connectors::DriverError;
use serde::Serialize;

/// The kinds of failure `explain_job_failure` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Credentials refused.
    Auth,
    /// The server or store could not be reached (network, TLS, timeouts).
    Connection,
    /// A table, file or column is not where the package says.
    Schema,
    /// An expression does not compile or does not type.
    Expression,
    /// A value could not be read, converted or written.
    Data,
    /// A limit was hit (memory, disk, time, a busy store).
    Resource,
    /// Someone cancelled the run.
    Cancelled,
    /// Pipewright itself failed; the message says what.
    Internal,
}

/// A failed run's primary error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct RunFailure {
    pub category: Category,
    /// The component at fault, by name, where one is.
    pub component: Option<String>,
    /// Its property to change, where one is.
    pub property: Option<String>,
    pub message: String,
    /// The next step.
    pub hint: String,
}

impl RunFailure {
    pub fn new(category: Category, message: impl Into<String>, hint: impl Into<String>) -> Self {
        RunFailure {
            category,
            component: None,
            property: None,
            message: message.into(),
            hint: hint.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        RunFailure::new(
            Category::Internal,
            message,
            "retry the run; if it fails again, report it with the run's log",
        )
    }

    pub fn cancelled() -> Self {
        RunFailure::new(
            Category::Cancelled,
            "the run was cancelled; destinations keep the data they had before it",
            "start it again with run_package or retry_job when you want it to run",
        )
    }

    pub fn at(mut self, component: &str, property: Option<&str>) -> Self {
        self.component = Some(component.to_string());
        self.property = property.map(str::to_string);
        self
    }

    /// A driver's error on a component's connection: categorised, with the driver's own
    /// advice as the hint.
    pub fn from_driver(e: &DriverError) -> Self {
        use DriverError as E;
        let category = match e {
            E::AuthFailed { .. } | E::CredentialsRejected(_) => Category::Auth,
            E::Unreachable { .. }
            | E::Tls(_)
            | E::Timeout(_)
            | E::StoreTimeout(_)
            | E::Tunnel(_)
            | E::Sftp(_)
            | E::CleartextPasswordRefused
            | E::DatabaseMissing { .. }
            | E::Config { .. } => Category::Connection,
            E::TableNotFound(_)
            | E::FileNotFound { .. }
            | E::NoMatch { .. }
            | E::NotAFile { .. }
            | E::NotARegularFile { .. }
            | E::OutsideFolder
            | E::BucketNotFound { .. }
            | E::BucketOverride(_)
            | E::PermissionDenied(_) => Category::Schema,
            E::Query(_) | E::Store(_) => Category::Data,
            E::Busy => Category::Resource,
            E::ConnectionNotFound { .. }
            | E::NotADatabaseConnection { .. }
            | E::NotAFileConnection { .. }
            | E::Unsupported(_) => Category::Schema,
            E::ControlPlane(_) | E::Interrupted => Category::Internal,
        };
        let message = e.to_string();
        let hint = match category {
            Category::Auth => "fix the credentials stored with the connection, then retry the run",
            Category::Connection => "check the connection's host, port and network path (test_connection), then retry the run",
            Category::Schema => "check the component's table, path or connection (discover_schema, discover_file_schema), then validate and retry",
            Category::Data => "look at the values the component reads or writes (preview_data) and at the destination's column types",
            Category::Resource => "retry shortly, or run fewer packages at once",
            _ => "retry the run; if it fails again, report it with the run's log",
        };
        RunFailure::new(category, message, hint)
    }
}

/// An execution error as a failure: one a component raised keeps its attribution;
/// DataFusion's and Arrow's own are categorised by kind.
pub(crate) fn from_datafusion(e: &datafusion::error::DataFusionError) -> RunFailure {
    use datafusion::error::DataFusionError as D;
    let mut cur: &(dyn std::error::Error + 'static) = e;
    loop {
        if let Some(f) = cur.downcast_ref::<super::database::Failed>() {
            return f.0.clone();
        }
        if let Some(f) = cur.downcast_ref::<RunFailure>() {
            return f.clone();
        }
        match cur.source() {
            Some(s) => cur = s,
            None => break,
        }
    }
    let message = first_line(&e.find_root().to_string());
    match e.find_root() {
        D::ArrowError(..) => RunFailure::new(
            Category::Data,
            message,
            "a value could not be converted: look at the source's values (preview_data) and cast or clean them with a select component",
        ),
        D::ResourcesExhausted(_) => RunFailure::new(
            Category::Resource,
            message,
            "the run needed more memory than it may use: aggregate or join fewer rows, or raise the engine's memory limit",
        ),
        D::Execution(m) if m.contains("cast") || m.contains("parse") => RunFailure::new(
            Category::Data,
            message,
            "a value could not be converted: look at the source's values and cast or clean them with a select component",
        ),
        _ => RunFailure::internal(message),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// A validation error found when the run started, as its failure.
pub(crate) fn from_finding(f: &crate::Finding) -> RunFailure {
    const WHERE_THINGS_ARE: &[&str] = &[
        "table",
        "query",
        "path",
        "schema",
        "connection_id",
        "package_id",
        "bucket",
        "merge_keys",
    ];
    let unknown_column = f.message.contains("unknown column") || f.message.contains("not found");
    let category = match f.property.as_deref() {
        Some(p) if WHERE_THINGS_ARE.contains(&p) => Category::Schema,
        Some(_) if unknown_column => Category::Schema,
        Some(_) => Category::Expression,
        None => Category::Schema,
    };
    let hint = match (&f.component, &f.property) {
        (Some(c), Some(p)) => format!("change `{p}` of component `{c}`: {}", f.fix),
        (Some(c), None) => format!("change component `{c}`: {}", f.fix),
        _ => f.fix.clone(),
    };
    RunFailure {
        category,
        component: f.component.clone(),
        property: f.property.clone(),
        message: f.message.clone(),
        hint,
    }
}
