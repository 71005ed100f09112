//! What operators poll: `/healthz` and `/metrics`.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use super::Edge;

pub(super) async fn healthz(State(edge): State<Edge>) -> Response {
    match edge.store.ping().await {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(e) => {
            // The detail goes to the log only: a health probe is often public.
            tracing::error!(error = %e, "health check: control-plane store unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "error": "the control-plane store is unreachable"})),
            )
                .into_response()
        }
    }
}

pub(super) async fn metrics_text(State(edge): State<Edge>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        edge.metrics.render(),
    )
        .into_response()
}
