//! Tool errors: what went wrong, which argument, and what to do next. They become tool
//! results with `isError: true` (never protocol errors) so the assistant can read them.

use catalog::CatalogError;
use connectors::DriverError;
use rmcp::model::CallToolResult;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::json;

/// The small, stable set of error codes every tool shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    NotFound,
    InvalidArgument,
    Conflict,
    Forbidden,
    Unavailable,
    Timeout,
    UpstreamError,
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ToolError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl ToolError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            hint: None,
        }
    }
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            ..Self::new(ErrorCode::InvalidArgument, message)
        }
    }
    pub fn not_found(field: &str, what: &str, id: i64, hint: &str) -> Self {
        Self {
            field: Some(field.into()),
            hint: Some(hint.into()),
            ..Self::new(
                ErrorCode::NotFound,
                format!("{what} {id} not found in this account"),
            )
        }
    }
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// A driver error (see `From<DriverError>`), with `if_slow` as its hint when the work
    /// took too long: a call site knows which of its arguments make the work smaller.
    pub fn driver(e: DriverError, if_slow: &str) -> Self {
        let slow = matches!(e, DriverError::Timeout(_) | DriverError::StoreTimeout(_));
        let err = ToolError::from(e);
        if slow {
            err.with_hint(if_slow)
        } else {
            err
        }
    }

    /// The error as a tool result: `isError: true` and one text block holding
    /// `{"error": {...}}` as JSON. Deliberately no `structuredContent`: the tool's output
    /// schema describes success, and the official TypeScript SDK client validates
    /// `structuredContent` against it even on errors, which would turn our clear message
    /// into "Structured content does not match the tool's output schema".
    pub fn into_result(self) -> CallToolResult {
        CallToolResult::error(vec![rmcp::model::ContentBlock::text(
            json!({ "error": self }).to_string(),
        )])
    }
}

/// A driver failure: what failed and what to do, never a secret. Driver messages name no
/// tool argument (a run log shows them too); here each gets the argument it concerns as
/// `field`, and the fix in a tool's terms as `hint`. A call site with more context (which
/// arguments narrow a slow query) adds its own hint over these.
impl From<DriverError> for ToolError {
    fn from(e: DriverError) -> Self {
        let code = match &e {
            DriverError::Timeout(_) | DriverError::StoreTimeout(_) => ErrorCode::Timeout,
            DriverError::TableNotFound(_)
            | DriverError::FileNotFound { .. }
            | DriverError::NoMatch { .. }
            | DriverError::BucketNotFound { .. } => ErrorCode::NotFound,
            DriverError::Config { .. }
            | DriverError::BucketOverride(_)
            | DriverError::NotAFile { .. }
            | DriverError::NotARegularFile { .. } => ErrorCode::InvalidArgument,
            DriverError::OutsideFolder => ErrorCode::Forbidden,
            DriverError::ConnectionNotFound { .. }
            | DriverError::NotADatabaseConnection { .. }
            | DriverError::NotAFileConnection { .. } => ErrorCode::NotFound,
            DriverError::ControlPlane(_) | DriverError::Busy | DriverError::Interrupted => {
                ErrorCode::Unavailable
            }
            _ => ErrorCode::UpstreamError,
        };
        let err = ToolError::new(code, e.to_string());
        match e {
            DriverError::TableNotFound(_) => err.with_field("table_name").with_hint(
                "check `table_name` (and `schema_name`, or the connection's default schema); discover_schema lists the tables and views",
            ),
            DriverError::FileNotFound { .. } => err.with_field("path").with_hint(
                "check `path` (relative to the connection's folder or bucket), or give a glob such as `folder/*.csv` to pick the newest match",
            ),
            DriverError::NoMatch { .. } => err
                .with_field("path")
                .with_hint("check the folder and the pattern in `path`"),
            DriverError::NotAFile { .. } => err.with_field("path").with_hint(
                "give a file inside the folder in `path`, or a glob such as `folder/*.csv`",
            ),
            DriverError::NotARegularFile { .. } | DriverError::OutsideFolder => {
                err.with_field("path")
            }
            DriverError::BucketNotFound { .. } => err
                .with_field("bucket")
                .with_hint("check the connection's bucket, or the `bucket` argument if you gave one"),
            DriverError::BucketOverride(_) => err
                .with_field("bucket")
                .with_hint("omit bucket, or give a valid bucket or container name"),
            DriverError::Config { .. } => err.with_field("connection_id").with_hint(
                "fix the connection: `pipewright connection remove ID`, then `pipewright connection add` it again",
            ),
            DriverError::ConnectionNotFound { id } => ToolError::not_found(
                "connection_id",
                "connection",
                id,
                "list_connections shows this account's connections",
            ),
            DriverError::NotADatabaseConnection { .. } | DriverError::NotAFileConnection { .. } => {
                err.with_field("connection_id").with_hint(
                    "list_connections with connection_type_filter=database or file shows each family",
                )
            }
            DriverError::Busy => err.with_hint(
                "wait for this account's other discover_file_schema or test_connection calls to finish",
            ),
            _ => err,
        }
    }
}

impl From<CatalogError> for ToolError {
    fn from(e: CatalogError) -> Self {
        match e {
            CatalogError::NotFound { kind, id } => {
                ToolError::new(ErrorCode::NotFound, format!("{kind} {id} not found"))
            }
            CatalogError::Conflict(m) => ToolError::new(ErrorCode::Conflict, m),
            CatalogError::InvalidArgument { field, message } => ToolError::invalid(field, message),
            CatalogError::Store(m) => {
                tracing::error!(error = %m, "store failure during a tool call");
                ToolError::new(
                    ErrorCode::Unavailable,
                    "the control-plane store is unavailable; try again shortly",
                )
            }
            CatalogError::Seal(m) => {
                tracing::error!(error = %m, "secret sealing failure during a tool call");
                ToolError::new(
                    ErrorCode::Unavailable,
                    "connection secrets cannot be opened on this server",
                )
            }
        }
    }
}
