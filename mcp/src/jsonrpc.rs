//! A pre-check of one raw incoming JSON-RPC message, run by both transports before rmcp sees
//! it, for the malformed shapes rmcp answers wrongly or not at all:
//!
//! - bytes that are not JSON: rmcp's stdio transport drops them without a reply;
//! - a batch (a JSON array): batches were removed in MCP 2025-06-18 and rmcp's HTTP transport
//!   answers one with HTTP 415 and plain text;
//! - a request to a method we serve whose `params` do not fit rmcp's typed parameters: rmcp
//!   then reads it as an unknown method and answers -32601 (method not found) where the
//!   caller needs -32602 (invalid params) and the name of the field to fix.
//!
//! Everything rmcp already answers well is left to it: notifications (which get no reply),
//! `ping`, responses from the client, and unknown methods (-32601).
//!
//! A [`Rejection`] names the field and the problem, never the value that was sent.

use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The most one message may take: an HTTP request body, or one line over stdio.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;

/// Why a message is refused, as the JSON-RPC error that answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The request's id, or `Null` when there is none or it could not be read.
    pub id: Value,
    pub code: i64,
    pub message: String,
}

impl Rejection {
    fn new(id: Value, code: i64, message: impl Into<String>) -> Self {
        Self {
            id,
            code,
            message: message.into(),
        }
    }

    /// A message longer than [`MAX_MESSAGE_BYTES`]; it was not read, so it has no id.
    pub fn too_long() -> Self {
        Self::new(
            Value::Null,
            INVALID_REQUEST,
            "message too long: at most 4 MiB per line; split the work into smaller requests",
        )
    }

    /// The full JSON-RPC 2.0 error response.
    pub fn to_json(&self) -> Value {
        json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": { "code": self.code, "message": self.message },
        })
    }

    /// The message itself is broken (parse error, invalid request): HTTP answers 400. Invalid
    /// params on a well-formed request are an ordinary JSON-RPC answer: HTTP answers 200.
    pub fn is_protocol_fault(&self) -> bool {
        matches!(self.code, PARSE_ERROR | INVALID_REQUEST)
    }
}

/// Checks one raw incoming message. `Ok` means: hand it to rmcp unchanged.
pub fn precheck(body: &[u8]) -> Result<(), Rejection> {
    // RFC 8259 §8.1 lets a parser ignore a byte order mark, and rmcp does.
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let msg: Value = serde_json::from_slice(body).map_err(|_| {
        Rejection::new(
            Value::Null,
            PARSE_ERROR,
            "parse error: the message is not valid JSON; send one JSON-RPC 2.0 object",
        )
    })?;
    let obj = match &msg {
        Value::Object(obj) => obj,
        Value::Array(_) => return Err(Rejection::new(
            Value::Null,
            INVALID_REQUEST,
            "batches are not supported (removed in MCP 2025-06-18); send one message per request",
        )),
        _ => {
            return Err(Rejection::new(
                Value::Null,
                INVALID_REQUEST,
                "invalid request: a JSON-RPC message must be a JSON object",
            ))
        }
    };
    let id = match obj.get("id") {
        None => Value::Null,
        // MCP request ids are strings or integers; never null.
        Some(id @ Value::String(_)) => id.clone(),
        Some(id @ Value::Number(n)) if n.is_i64() => id.clone(),
        Some(_) => {
            return Err(Rejection::new(
                Value::Null,
                INVALID_REQUEST,
                "invalid request: `id` must be a string or an integer (MCP forbids null ids)",
            ))
        }
    };
    let invalid = |message: &str| Rejection::new(id.clone(), INVALID_REQUEST, message);
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(
            "invalid request: `jsonrpc` must be the string \"2.0\"",
        ));
    }
    let method = match obj.get("method") {
        Some(Value::String(m)) => m.as_str(),
        Some(_) => return Err(invalid("invalid request: `method` must be a string")),
        // A response to a request of ours (sampling, elicitation, roots): rmcp's to route.
        None if obj.contains_key("result") || obj.contains_key("error") => return Ok(()),
        None => {
            return Err(invalid(
                "invalid request: send a string `method` (a request or notification), or a `result` or `error` (a response)",
            ))
        }
    };
    if !obj.contains_key("id") {
        // A notification gets no reply, not even an error; rmcp ignores what it cannot use.
        return Ok(());
    }
    let params = obj.get("params").filter(|p| !p.is_null());
    if params.is_some_and(|p| !p.is_object() && !p.is_array()) {
        return Err(Rejection::new(
            id,
            INVALID_PARAMS,
            "invalid params: `params` must be an object when present",
        ));
    }
    let Some(served) = SERVED.iter().find(|m| m.name == method) else {
        return Ok(());
    };
    served
        .check(params)
        .map_err(|message| Rejection::new(id.clone(), INVALID_PARAMS, message))?;
    if read_by_rmcp_as_unknown(&msg, served.name) {
        return Err(Rejection::new(
            id,
            INVALID_PARAMS,
            format!(
                "invalid params for {}: a field is missing or has the wrong type; see the MCP schema for {}",
                served.name, served.name
            ),
        ));
    }
    Ok(())
}

/// rmcp reads each request into a typed variant and falls back to its "custom request" (which
/// it answers -32601) when the params do not fit. The table below names the usual culprits;
/// this catches the rest (a `logging/setLevel` level it does not know, a `clientInfo` without
/// `version`, ...) so no request to a method we serve is ever answered "method not found".
fn read_by_rmcp_as_unknown(msg: &Value, method: &str) -> bool {
    use rmcp::model::{ClientJsonRpcMessage, ClientRequest};
    match ClientJsonRpcMessage::deserialize(msg) {
        Ok(ClientJsonRpcMessage::Request(r)) => {
            matches!(r.request, ClientRequest::CustomRequest(c) if c.method == method)
        }
        // Any other outcome is rmcp's to answer, as it does today.
        _ => false,
    }
}

/// A request we answer whose parameters rmcp reads with fixed types.
struct Method {
    name: &'static str,
    params_required: bool,
    /// Beyond `_meta`, which every method reads as an object.
    fields: &'static [Field],
}

/// One parameter: its name in `params` (`parent.child` one level deep), the JSON type it must
/// have, whether it may be left out (or null), and what to tell the caller to do instead.
struct Field {
    path: &'static str,
    kind: Kind,
    required: bool,
    hint: &'static str,
}

#[derive(Clone, Copy)]
enum Kind {
    String,
    Object,
    /// A string, one of the given values.
    OneOf(&'static [&'static str]),
}

const LOG_LEVELS: &[&str] = &[
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

const META: Field = Field {
    path: "_meta",
    kind: Kind::Object,
    required: false,
    hint: "send an object of request metadata, or leave `_meta` out",
};

const SERVED: &[Method] = &[
    Method {
        name: "tools/call",
        params_required: true,
        fields: &[
            Field {
                path: "name",
                kind: Kind::String,
                required: true,
                hint: "send the name of a tool from tools/list",
            },
            Field {
                path: "arguments",
                kind: Kind::Object,
                required: false,
                hint: "send the tool's arguments as an object by name, or leave `arguments` out",
            },
        ],
    },
    Method {
        name: "tools/list",
        params_required: false,
        fields: &[Field {
            path: "cursor",
            kind: Kind::String,
            required: false,
            hint: "send the nextCursor of the previous page, or leave `cursor` out",
        }],
    },
    Method {
        name: "initialize",
        params_required: true,
        fields: &[
            Field {
                path: "protocolVersion",
                kind: Kind::String,
                required: true,
                hint: "send a protocol version such as \"2025-11-25\"",
            },
            Field {
                path: "capabilities",
                kind: Kind::Object,
                required: true,
                hint: "send an object of client capabilities ({} for none)",
            },
            Field {
                path: "clientInfo",
                kind: Kind::Object,
                required: true,
                hint: "send an object with the client's `name` and `version`",
            },
            Field {
                path: "clientInfo.name",
                kind: Kind::String,
                required: true,
                hint: "send the client's name as a string",
            },
        ],
    },
    Method {
        name: "logging/setLevel",
        params_required: true,
        fields: &[Field {
            path: "level",
            kind: Kind::OneOf(LOG_LEVELS),
            required: true,
            hint: "send one of debug, info, notice, warning, error, critical, alert, emergency",
        }],
    },
];

impl Method {
    fn check(&self, params: Option<&Value>) -> Result<(), String> {
        let params = match params {
            Some(Value::Object(p)) => p,
            Some(_) => {
                return Err(format!(
                    "invalid params: `params` of {} must be an object",
                    self.name
                ))
            }
            None if self.params_required => {
                return Err(format!(
                    "invalid params: {} needs `params`, an object",
                    self.name
                ))
            }
            None => return Ok(()),
        };
        std::iter::once(&META)
            .chain(self.fields)
            .try_for_each(|f| f.check(params))
    }
}

impl Field {
    fn check(&self, params: &Map<String, Value>) -> Result<(), String> {
        // A parent's own rule comes first in the table, so a missing or wrong-typed parent is
        // reported as itself rather than as its child.
        let (parent, leaf) = match self.path.split_once('.') {
            Some((parent, leaf)) => (params.get(parent).and_then(Value::as_object), leaf),
            None => (Some(params), self.path),
        };
        let found = parent.and_then(|p| p.get(leaf)).filter(|v| !v.is_null());
        let ok = match (found, self.kind) {
            (None, _) => !self.required,
            (Some(v), Kind::String) => v.is_string(),
            (Some(v), Kind::Object) => v.is_object(),
            (Some(v), Kind::OneOf(allowed)) => v.as_str().is_some_and(|s| allowed.contains(&s)),
        };
        if ok {
            return Ok(());
        }
        let what = match (found, self.kind) {
            (None, _) => "is required",
            (_, Kind::String) => "must be a string",
            (_, Kind::Object) => "must be an object",
            (_, Kind::OneOf(_)) => "is not a known value",
        };
        Err(format!(
            "invalid params: `{}` {what}; {}",
            self.path, self.hint
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(body: &str) -> Rejection {
        precheck(body.as_bytes()).expect_err(body)
    }

    /// Each case: message → (code, id) of the error, or passed on to rmcp.
    #[test]
    fn each_rule_answers_its_code_and_keeps_the_id() {
        let cases: &[(&str, Option<(i64, Value)>)] = &[
            // Not JSON.
            (r#"{"jsonrpc":"2.0","id":1,"#, Some((-32700, Value::Null))),
            ("not json", Some((-32700, Value::Null))),
            ("", Some((-32700, Value::Null))),
            // Batches, the empty one too.
            (
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                Some((-32600, Value::Null)),
            ),
            ("[]", Some((-32600, Value::Null))),
            // Not an object.
            ("42", Some((-32600, Value::Null))),
            (r#""tools/list""#, Some((-32600, Value::Null))),
            ("null", Some((-32600, Value::Null))),
            // The envelope.
            (r#"{"id":1,"method":"ping"}"#, Some((-32600, json!(1)))),
            (
                r#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#,
                Some((-32600, json!("a"))),
            ),
            (
                r#"{"jsonrpc":2.0,"id":1,"method":"ping"}"#,
                Some((-32600, json!(1))),
            ),
            (r#"{"jsonrpc":"2.0","id":1}"#, Some((-32600, json!(1)))),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
                Some((-32600, json!(1))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
                Some((-32600, Value::Null)),
            ),
            (
                r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#,
                Some((-32600, Value::Null)),
            ),
            (
                r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
                Some((-32600, Value::Null)),
            ),
            // `params` that are not structured, on any request.
            (
                r#"{"jsonrpc":"2.0","id":2,"method":"ping","params":"x"}"#,
                Some((-32602, json!(2))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"method":"x/y","params":5}"#,
                Some((-32602, json!(2))),
            ),
            // tools/call.
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":"{}"}}"#,
                Some((-32602, json!(3))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":[1]}}"#,
                Some((-32602, json!(3))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":5}}"#,
                Some((-32602, json!(3))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"arguments":{}}}"#,
                Some((-32602, json!(3))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","_meta":"m"}}"#,
                Some((-32602, json!(3))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":["t"]}"#,
                Some((-32602, json!(3))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call"}"#,
                Some((-32602, json!(3))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":null}"#,
                Some((-32602, json!(3))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t"}}"#,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":null}}"#,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"t","arguments":{"a":1},"_meta":{"progressToken":1}}}"#,
                None,
            ),
            // tools/list.
            (
                r#"{"jsonrpc":"2.0","id":"l","method":"tools/list","params":{"cursor":3}}"#,
                Some((-32602, json!("l"))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":"l","method":"tools/list","params":[]}"#,
                Some((-32602, json!("l"))),
            ),
            (r#"{"jsonrpc":"2.0","id":"l","method":"tools/list"}"#, None),
            (
                r#"{"jsonrpc":"2.0","id":"l","method":"tools/list","params":{}}"#,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":"l","method":"tools/list","params":{"cursor":"c"}}"#,
                None,
            ),
            // initialize.
            (
                r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":20251125,"capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
                Some((-32602, json!(0))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":[],"clientInfo":{"name":"c","version":"1"}}}"#,
                Some((-32602, json!(0))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":"c"}}"#,
                Some((-32602, json!(0))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":1,"version":"1"}}}"#,
                Some((-32602, json!(0))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{}}}"#,
                Some((-32602, json!(0))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}"#,
                None,
            ),
            // logging/setLevel.
            (
                r#"{"jsonrpc":"2.0","id":9,"method":"logging/setLevel","params":{"level":1}}"#,
                Some((-32602, json!(9))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":9,"method":"logging/setLevel","params":{"level":"loud"}}"#,
                Some((-32602, json!(9))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":9,"method":"logging/setLevel","params":{}}"#,
                Some((-32602, json!(9))),
            ),
            (
                r#"{"jsonrpc":"2.0","id":9,"method":"logging/setLevel","params":{"level":"warning"}}"#,
                None,
            ),
            // Left to rmcp: notifications, ping, unknown methods, responses, a BOM.
            (
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":"x"}"#,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","method":"tools/call","params":{"arguments":"x"}}"#,
                None,
            ),
            (r#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#, None),
            (
                r#"{"jsonrpc":"2.0","id":4,"method":"no/such/method","params":{"a":1}}"#,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":4,"method":"prompts/list","params":[1]}"#,
                None,
            ),
            (r#"{"jsonrpc":"2.0","id":4,"result":{}}"#, None),
            (
                r#"{"jsonrpc":"2.0","id":4,"error":{"code":-1,"message":"no"}}"#,
                None,
            ),
            (
                "\u{feff}{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}",
                None,
            ),
        ];
        for (body, want) in cases {
            let got = precheck(body.as_bytes()).err().map(|r| (r.code, r.id));
            assert_eq!(&got, want, "{body}");
        }
    }

    #[test]
    fn a_batch_is_told_to_send_one_message_per_request() {
        for body in ["[]", r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#] {
            let r = rejected(body);
            assert!(
                r.message.contains("batches are not supported"),
                "{}",
                r.message
            );
            assert!(
                r.message.contains("one message per request"),
                "{}",
                r.message
            );
            assert!(r.is_protocol_fault());
        }
    }

    #[test]
    fn wrong_typed_params_name_the_field_and_never_echo_the_value() {
        let cases = [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":"SECRET-VALUE"}}"#,
                "`arguments`",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["SECRET-VALUE"]}}"#,
                "`name`",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","_meta":"SECRET-VALUE"}}"#,
                "`_meta`",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"cursor":["SECRET-VALUE"]}}"#,
                "`cursor`",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1","capabilities":"SECRET-VALUE","clientInfo":{"name":"c","version":"1"}}}"#,
                "`capabilities`",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1","capabilities":{},"clientInfo":{"name":["SECRET-VALUE"],"version":"1"}}}"#,
                "`clientInfo.name`",
            ),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"SECRET-VALUE"}}"#,
                "`level`",
            ),
        ];
        for (body, field) in cases {
            let r = rejected(body);
            assert_eq!(r.code, -32602, "{body}");
            assert!(
                r.message.contains(field),
                "{field} not named in {}",
                r.message
            );
            assert!(!r.message.contains("SECRET-VALUE"), "{}", r.message);
            assert!(
                !r.is_protocol_fault(),
                "invalid params on a well-formed request"
            );
        }
    }

    #[test]
    fn params_rmcp_cannot_read_are_invalid_params_not_an_unknown_method() {
        // Not in the table: `version` is missing from clientInfo, and rmcp needs it.
        let r = rejected(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1","capabilities":{},"clientInfo":{"name":"c"}}}"#,
        );
        assert_eq!((r.code, r.id.clone()), (-32602, json!(1)));
        assert!(r.message.contains("initialize"), "{}", r.message);
    }

    /// Why the pre-check exists: if rmcp starts reading a wrong-typed `arguments` as invalid
    /// params itself, this fails and the table can shrink.
    #[test]
    fn rmcp_reads_string_arguments_as_an_unknown_method() {
        let msg = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":"x"}});
        assert!(read_by_rmcp_as_unknown(&msg, "tools/call"));
        let good = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{}}});
        assert!(!read_by_rmcp_as_unknown(&good, "tools/call"));
    }

    #[test]
    fn the_error_response_is_a_whole_json_rpc_object() {
        let r = rejected(
            r#"{"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"t","arguments":1}}"#,
        );
        let v = r.to_json();
        assert_eq!(v["jsonrpc"], json!("2.0"));
        assert_eq!(v["id"], json!("abc"));
        assert_eq!(v["error"]["code"], json!(-32602));
        assert_eq!(v["error"]["message"], json!(r.message));
        assert_eq!(v.as_object().unwrap().len(), 3);
        let parse = rejected("{").to_json();
        assert_eq!(parse["id"], Value::Null);
        assert_eq!(parse["error"]["code"], json!(-32700));
    }

    #[test]
    fn protocol_faults_are_parse_errors_and_invalid_requests() {
        assert!(rejected("{").is_protocol_fault());
        assert!(rejected("[]").is_protocol_fault());
        assert!(rejected(r#"{"jsonrpc":"2.0","id":1}"#).is_protocol_fault());
        assert!(Rejection::too_long().is_protocol_fault());
        assert!(
            !rejected(r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":1}"#).is_protocol_fault()
        );
    }

    #[test]
    fn too_long_says_the_limit_and_has_no_id() {
        let r = Rejection::too_long();
        assert_eq!((r.code, r.id.clone()), (-32600, Value::Null));
        assert!(
            r.message
                .starts_with("message too long: at most 4 MiB per line"),
            "{}",
            r.message
        );
    }

    #[test]
    fn null_fractional_and_oversized_ids_are_invalid_requests() {
        for body in [
            r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"tools/list"}"#,
        ] {
            let r = super::precheck(body.as_bytes()).unwrap_err();
            assert_eq!(r.code, super::INVALID_REQUEST, "{body}");
        }
        assert!(super::precheck(br#"{"jsonrpc":"2.0","id":-3,"method":"ping"}"#).is_ok());
    }
}
