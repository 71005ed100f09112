//! RFC 9728 protected-resource metadata: the server is its own authorization server, and
//! Personal Access Tokens (`pipewright token create`) work as bearer tokens too.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use super::Edge;

/// Where the metadata of account endpoint `account` lives.
pub(super) fn metadata_url(public_url: &str, account: &str) -> String {
    format!("{public_url}/.well-known/oauth-protected-resource/{account}/api/mcp")
}

pub(super) async fn resource_metadata(
    State(edge): State<Edge>,
    Path(account): Path<String>,
) -> Response {
    if !catalog::accounts::is_account_reference(&account) {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "Not Found"}))).into_response();
    }
    Json(json!({
        "resource": format!("{}/{account}/api/mcp", edge.public_url),
        "authorization_servers": [edge.public_url.to_string()],
        "scopes_supported": [super::oauth::SCOPE_FULL, super::oauth::SCOPE_READ],
        "bearer_methods_supported": ["header"],
        "resource_name": "Pipewright MCP",
        "resource_documentation": "Sign in with OAuth, or mint a Personal Access Token with `pipewright token create --account ACCOUNT --name NAME` and send it as `Authorization: Bearer <token>`.",
    }))
    .into_response()
}

pub(super) async fn resource_metadata_root(State(edge): State<Edge>) -> Response {
    Json(json!({
        "resource": edge.public_url.to_string(),
        "authorization_servers": [edge.public_url.to_string()],
        "bearer_methods_supported": ["header"],
        "resource_name": "Pipewright MCP",
    }))
    .into_response()
}
