//! HTTP errors: a status, a stable `code` and a message for the player, rendered as
//! `{"error":{"code":...,"message":...}}`. Internal details are logged, never sent.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::borrow::Cow;

/// An error answered to an HTTP client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable code (see `PROTOCOL.md`).
    pub code: &'static str,
    /// What to tell the player.
    pub message: Cow<'static, str>,
}

impl ApiError {
    /// An error with any message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError { status, code, message: message.into() }
    }

    /// `400 bad_request`.
    pub fn bad_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            error: Inner<'a>,
        }
        #[derive(Serialize)]
        struct Inner<'a> {
            code: &'a str,
            message: &'a str,
        }
        let body = serde_json::to_string(&Body { error: Inner { code: self.code, message: &self.message } })
            .expect("strings serialize");
        (self.status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}
