//! The tool table: each tool's name, description, annotations, schemas (derived from its
//! argument and output types) and handler. The server lists and calls tools only through
//! this table, so scoping (read-only tokens, read-only servers) is decided in one place.

use std::{future::Future, pin::Pin, sync::Arc};

use rmcp::{
    handler::server::common::{schema_for_input, schema_for_output},
    model::{JsonObject, Tool, ToolAnnotations},
};
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

use crate::{context::ToolContext, error::ToolError, schema};

pub type ToolFuture = Pin<Box<dyn Future<Output = Result<Value, ToolError>> + Send>>;
type Handler = Arc<dyn Fn(ToolContext, Value) -> ToolFuture + Send + Sync>;

/// What kind of effect a tool has. Read-only tools are the only ones a read-only token
/// sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Reads the control plane only.
    Read,
    /// Reads, and reaches an upstream system (a database, a bucket).
    ReadUpstream,
    /// Changes state; repeating it with the same arguments changes nothing more.
    WriteIdempotent,
    /// Adds something new (a run) and destroys nothing; each call adds another.
    WriteAdditive,
    /// Changes state; may destroy or replace something.
    WriteDestructive,
}

impl Effect {
    pub fn is_read_only(self) -> bool {
        matches!(self, Effect::Read | Effect::ReadUpstream)
    }
}

/// The descriptive half of a tool: pure data.
pub struct ToolMeta {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub effect: Effect,
}

pub struct ToolSpec {
    pub meta: ToolMeta,
    pub definition: Tool,
    handler: Handler,
}

impl ToolSpec {
    pub fn read_only(&self) -> bool {
        self.meta.effect.is_read_only()
    }
    /// Runs the tool on its own task, so a panic anywhere below (a driver, a library
    /// handed hostile bytes by an upstream server) is an error result, not a lost
    /// session. The task is aborted if the caller goes away.
    pub async fn call(&self, ctx: ToolContext, args: Value) -> Result<Value, ToolError> {
        isolated(self.meta.name, (self.handler)(ctx, args)).await
    }
}

/// Runs `work` on its own task: a panic becomes an error naming the tool.
async fn isolated(tool: &'static str, work: ToolFuture) -> Result<Value, ToolError> {
    match AbortOnDrop(tokio::spawn(work)).await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(tool, panicked = e.is_panic(), "tool task failed");
            Err(ToolError::new(
                crate::error::ErrorCode::UpstreamError,
                format!("`{tool}` failed unexpectedly; the server logged it. Try again, and report it if it repeats"),
            ))
        }
    }
}

/// A spawned task that is aborted when whoever awaits it goes away.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Builds a tool from its metadata and a typed handler.
pub fn tool<A, O, F, Fut>(meta: ToolMeta, f: F) -> ToolSpec
where
    A: DeserializeOwned + JsonSchema + 'static,
    O: Serialize + JsonSchema + 'static,
    F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
{
    let input = schema_for_input::<A>()
        .unwrap_or_else(|e| panic!("tool {} has a bad input schema: {e}", meta.name));
    let input = Arc::new(schema::input(&input));
    let output: Arc<JsonObject> = Arc::new(schema::output(&schema_for_output::<O>()));
    // The title is the tool's own (`title`); annotations need not repeat it.
    let annotations = ToolAnnotations::new()
        .read_only(meta.effect.is_read_only())
        .destructive(meta.effect == Effect::WriteDestructive)
        .idempotent(!matches!(
            meta.effect,
            Effect::WriteDestructive | Effect::WriteAdditive
        ))
        .open_world(meta.effect == Effect::ReadUpstream);
    let definition = Tool::new(meta.name, meta.description, input)
        .with_title(meta.title)
        .with_raw_output_schema(output)
        .with_annotations(annotations);
    let f = Arc::new(f);
    let handler: Handler = Arc::new(move |ctx, args| {
        let f = f.clone();
        Box::pin(async move {
            let args: A = parse_args(args)?;
            let out = f(ctx, args).await?;
            serde_json::to_value(out).map_err(|e| {
                ToolError::new(
                    crate::error::ErrorCode::Unavailable,
                    format!("cannot encode the result: {e}"),
                )
            })
        })
    });
    ToolSpec {
        meta,
        definition,
        handler,
    }
}

/// Deserialises arguments, naming the offending field in the error.
pub fn parse_args<A: DeserializeOwned>(args: Value) -> Result<A, ToolError> {
    let args = if args.is_null() {
        Value::Object(Default::default())
    } else {
        args
    };
    serde_path_to_error::deserialize(args).map_err(|e| {
        let path = e.path().to_string();
        let inner = without_echo(&e.into_inner().to_string());
        // serde reports a missing or unknown field at the parent's path; name it instead.
        let field = field_in(&inner).map(String::from).unwrap_or_else(|| {
            if path == "." {
                String::new()
            } else {
                path
            }
        });
        let mut err = ToolError::invalid(
            field.clone(),
            format!(
                "{}{inner}",
                if field.is_empty() {
                    String::new()
                } else {
                    format!("{field}: ")
                }
            ),
        );
        if inner.starts_with("unknown field") {
            err = err.with_hint(
                "remove the argument or check its spelling against the tool's input schema",
            );
        } else if inner.starts_with("missing field") {
            err = err.with_hint("this argument is required; see the tool's input schema");
        } else {
            err = err.with_hint("check the argument's type against the tool's input schema");
        }
        err
    })
}

/// serde quotes the offending value ("invalid type: string \"…\", expected i64"); say
/// what kind of value it was instead, so a pasted secret is never echoed back.
fn without_echo(msg: &str) -> String {
    if let Some(rest) = msg.strip_prefix("invalid type: ") {
        let kind = rest.split([' ', ',']).next().unwrap_or("value");
        if let Some((_, expected)) = rest.rsplit_once(", expected ") {
            return format!(
                "expected {expected}, got {} {kind}",
                if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                }
            );
        }
    }
    msg.chars().take(300).collect()
}

fn field_in(msg: &str) -> Option<&str> {
    let rest = msg
        .strip_prefix("unknown field `")
        .or_else(|| msg.strip_prefix("missing field `"))?;
    rest.split('`').next()
}

/// Two tools with one name: the second would be unreachable, and which one a client
/// called would depend on the table's order.
#[derive(Debug, thiserror::Error)]
#[error("two tools are named `{0}`; every tool needs a name of its own")]
pub struct DuplicateTool(pub &'static str);

/// Every tool, in the order `tools/list` shows them.
pub struct Registry {
    tools: Vec<ToolSpec>,
}

impl Registry {
    /// The table of `tools`, refused when two share a name.
    pub fn new(tools: Vec<ToolSpec>) -> Result<Self, DuplicateTool> {
        let mut seen = std::collections::HashSet::new();
        if let Some(t) = tools.iter().find(|t| !seen.insert(t.meta.name)) {
            return Err(DuplicateTool(t.meta.name));
        }
        Ok(Self { tools })
    }
    pub fn get(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.iter().find(|t| t.meta.name == name)
    }
    pub fn iter(&self) -> impl Iterator<Item = &ToolSpec> {
        self.tools.iter()
    }
    /// The tools a caller may see: all of them, or only the read-only ones.
    pub fn visible(&self, read_only: bool) -> impl Iterator<Item = &ToolSpec> {
        self.tools
            .iter()
            .filter(move |t| !read_only || t.read_only())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Args {
        id: i64,
        #[serde(default)]
        limit: Option<i64>,
    }

    #[test]
    fn bad_arguments_name_the_field() {
        let e = parse_args::<Args>(serde_json::json!({"id": "hunter2"})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("id"));
        assert_eq!(e.message, "id: expected i64, got a string");
        let e = parse_args::<Args>(serde_json::json!({})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("id"));
        assert!(e.message.contains("missing field"), "{}", e.message);
        let e = parse_args::<Args>(serde_json::json!({"id": 1, "limt": 3})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("limt"));
    }

    async fn echo(_ctx: ToolContext, a: Args) -> Result<i64, ToolError> {
        Ok(a.id)
    }

    fn named(name: &'static str) -> ToolSpec {
        tool(
            ToolMeta {
                name,
                title: "Echo",
                description: "Returns its id.",
                effect: Effect::Read,
            },
            echo,
        )
    }

    #[test]
    fn a_registry_refuses_two_tools_with_one_name() {
        let e = Registry::new(vec![named("a"), named("b"), named("a")])
            .err()
            .expect("a duplicate name is refused");
        assert_eq!(e.0, "a");
        assert!(e.to_string().contains("two tools are named `a`"), "{e}");
        let r = Registry::new(vec![named("a"), named("b")]).unwrap();
        assert_eq!(
            r.iter().map(|t| t.meta.name).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn the_served_tool_tables_have_unique_names() {
        for fixtures in [false, true] {
            crate::tools::registry(fixtures).unwrap();
        }
    }

    #[tokio::test]
    async fn a_panicking_tool_is_an_error_result_not_a_lost_session() {
        let e = isolated("boom", Box::pin(async { panic!("hostile bytes") }))
            .await
            .unwrap_err();
        assert!(
            e.message.contains("`boom` failed unexpectedly"),
            "{}",
            e.message
        );
        let ok = isolated("fine", Box::pin(async { Ok(serde_json::json!(1)) })).await;
        assert_eq!(ok.unwrap(), serde_json::json!(1));
    }
}
