//! Endpoints for the platform: liveness, readiness, version and metrics.

use crate::AppState;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

const JSON: (header::HeaderName, &str) = (header::CONTENT_TYPE, "application/json");

/// `GET /healthz`: the process is alive and serving.
pub async fn healthz() -> Response {
    (StatusCode::OK, [JSON], r#"{"status":"ok"}"#).into_response()
}

/// `GET /readyz`: 503 while draining or when the database is unusable.
pub async fn readyz(State(app): State<AppState>) -> Response {
    // Test builds only (crate::fault): constant-false in every published image.
    for _ in 0..crate::fault::errors_per_probe() {
        app.metrics.error("injected_fault");
    }
    if crate::fault::unready() {
        return (StatusCode::SERVICE_UNAVAILABLE, [JSON], r#"{"status":"injected_fault"}"#).into_response();
    }
    if app.hub.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, [JSON], r#"{"status":"draining"}"#).into_response();
    }
    if !app.scores.is_usable().await {
        return (StatusCode::SERVICE_UNAVAILABLE, [JSON], r#"{"status":"database_unavailable"}"#)
            .into_response();
    }
    (StatusCode::OK, [JSON], r#"{"status":"ready"}"#).into_response()
}

/// `GET /version`.
pub async fn version(State(app): State<AppState>) -> Response {
    (StatusCode::OK, [JSON], app.version_json.clone()).into_response()
}

/// `GET /metrics`: Prometheus/OpenMetrics text.
pub async fn metrics(State(app): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
        app.metrics.render(),
    )
        .into_response()
}
