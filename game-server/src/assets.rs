//! The embedded web client (`web/`, see `build.rs`): lookup by path, content type, ETag revalidation.
//!
//! Files are served with `Cache-Control: no-cache` and a strong ETag: the client has no build step and
//! so no content-hashed file names, and revalidating every load is what keeps a browser from mixing
//! JavaScript modules of two releases after an upgrade; an unchanged file costs a 304.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// URL path, e.g. `/js/main.js`.
    pub path: &'static str,
    /// File content.
    pub bytes: &'static [u8],
    /// `Content-Type` header value.
    pub content_type: &'static str,
    /// Strong ETag, quoted.
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// Paths the client routes itself; each serves `index.html`.
pub const PAGES: &[&str] = &["/", "/solo", "/duo", "/scores", "/settings"];

/// The embedded file at `path`, if any.
pub fn find(path: &str) -> Option<&'static Asset> {
    FILES.binary_search_by(|a| a.path.cmp(path)).ok().map(|i| &FILES[i])
}

/// `GET /`, `/solo`, `/duo`, `/scores`, `/settings`: the client's `index.html`.
pub async fn page(headers: HeaderMap) -> Response {
    match find("/index.html") {
        Some(asset) => serve(asset, &headers),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Any other path: an embedded file, or 404.
pub async fn file(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let Some(asset) = find(uri.path()) else {
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n")
            .into_response();
    };
    if method != Method::GET && method != Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(header::ALLOW, "GET, HEAD")]).into_response();
    }
    serve(asset, &headers)
}

fn serve(asset: &'static Asset, headers: &HeaderMap) -> Response {
    let etag = HeaderValue::from_static(asset.etag);
    let cache = HeaderValue::from_static("no-cache");
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    if fresh {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag), (header::CACHE_CONTROL, cache)])
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        asset.bytes,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_has_an_index() {
        assert!(FILES.windows(2).all(|w| w[0].path < w[1].path), "build.rs sorts by path");
        let index = find("/index.html").expect("index.html or its placeholder is always embedded");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        assert!(index.etag.starts_with('"') && index.etag.ends_with('"'));
    }

    #[test]
    fn tests_and_tooling_are_not_embedded() {
        assert!(FILES.iter().all(|a| !a.path.starts_with("/test/") && !a.path.ends_with(".test.js")));
    }
}
