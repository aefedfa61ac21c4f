//! The WebSocket endpoint `/ws`: admission (Origin, connection limit), frame limits, and per
//! connection one receive task (this upgrade task: parse, rate-limit, dispatch to the [`Session`])
//! and one send task (drain the outbox, ping, idle timeout, close frame).

use crate::AppState;
use crate::error::ApiError;
use crate::hub::Admission;
use crate::metrics::Metrics;
use crate::outbox::{CLOSE_NORMAL, CLOSE_POLICY, CLOSE_PROTOCOL, CLOSE_TOO_BIG, Conn};
use crate::protocol::{MAX_MESSAGE_BYTES, ServerMsg, parse};
use crate::session::Session;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use axum::response::{IntoResponse, Response};
use futures::stream::SplitStream;
use futures::{Sink, SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, MissedTickBehavior};

/// Sustained messages per second a client may send.
pub const RATE_PER_SECOND: f64 = 60.0;
/// Messages a client may send in a burst.
pub const RATE_BURST: f64 = 120.0;
/// Refused messages (errors plus rate-limit drops) after which the connection is closed.
pub const MAX_REFUSED: u32 = 1000;
/// Interval between server pings.
pub const PING_INTERVAL: Duration = Duration::from_secs(15);
/// Silence after which a connection is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(45);
/// How long one write to a client may take before it is considered gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes read from the socket at once. Every message is at most 4 KiB (the buffer grows for a large
/// one) and a compact board message is under 500 bytes; a small buffer keeps 10,000 idle sockets
/// cheap (tungstenite's default is 128 KiB, zero-filled on first read).
const READ_BUFFER_BYTES: usize = 512;

/// `GET /ws`: checks the origin and the connection limit, then upgrades.
pub async fn upgrade(State(app): State<AppState>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    if !origin_allowed(&headers, &app.config.allowed_origins) {
        app.metrics.error("origin_not_allowed");
        return ApiError::new(
            axum::http::StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this origin may not open a game socket",
        )
        .into_response();
    }
    let Some(admission) = app.hub.admit() else {
        app.metrics.error("server_full");
        return ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "server_full",
            "the server has too many players right now; try again soon",
        )
        .into_response();
    };
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        .on_upgrade(move |socket| serve_socket(app, socket, admission))
}

/// Same origin as the `Host` header, or listed in `TETRIS_ALLOWED_ORIGINS`. No `Origin` header means
/// a non-browser client, which the Origin check is not about (it stops other sites' pages).
pub fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        return true;
    }
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"));
    matches!((host, origin_host), (Some(h), Some(o)) if h.eq_ignore_ascii_case(o))
}

async fn serve_socket(app: AppState, socket: WebSocket, admission: Admission) {
    let hub = app.hub.clone();
    let conn = Arc::new(Conn::new(hub.next_id()));
    hub.register(conn.clone());
    let (sink, stream) = socket.split();
    let send_task = tokio::spawn(send_loop(sink, conn.clone(), app.metrics.clone()));
    let mut session = Session::new(hub, conn.clone());
    receive_loop(stream, &mut session, &conn, &app).await;
    session.disconnected();
    conn.close((CLOSE_NORMAL, ""));
    let _ = send_task.await;
    drop(admission);
}

async fn receive_loop(
    mut stream: SplitStream<WebSocket>,
    session: &mut Session,
    conn: &Arc<Conn>,
    app: &AppState,
) {
    let mut bucket = TokenBucket::new();
    let mut refused: u32 = 0;
    let mut last_rate_notice: Option<Instant> = None;
    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            () = conn.closing() => return,
        };
        let text = match frame {
            None | Some(Ok(Message::Close(_))) => return,
            Some(Err(e)) => {
                // tungstenite reports an over-long frame as a capacity error ("Space limit exceeded").
                let too_big = e.to_string().contains("Space limit");
                conn.close(if too_big {
                    (CLOSE_TOO_BIG, "message too big")
                } else {
                    (CLOSE_PROTOCOL, "protocol error")
                });
                return;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                conn.touch();
                continue;
            }
            Some(Ok(Message::Binary(_))) => {
                conn.touch();
                refuse(conn, app, "binary_not_supported", "send JSON text frames", None);
                refused += 1;
                if refused >= MAX_REFUSED {
                    conn.close((CLOSE_POLICY, "too many bad messages"));
                    return;
                }
                continue;
            }
            Some(Ok(Message::Text(text))) => text,
        };
        conn.touch();
        app.metrics.message_in();
        if !bucket.take() {
            refused += 1;
            let now = Instant::now();
            if last_rate_notice.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1)) {
                last_rate_notice = Some(now);
                refuse(conn, app, "rate_limited", "too many messages; slow down", None);
            }
        } else {
            let outcome = parse(text.as_str())
                .map_err(|e| (crate::protocol::Refusal::with("bad_message", e.message), e.reference))
                .and_then(|msg| {
                    let kind = msg.kind();
                    session.handle(msg, text.as_str()).map_err(|r| (r, Some(kind)))
                });
            if let Err((refusal, reference)) = outcome {
                refused += 1;
                refuse(conn, app, refusal.code, &refusal.message, reference);
            }
        }
        if refused >= MAX_REFUSED {
            conn.close((CLOSE_POLICY, "too many bad messages"));
            return;
        }
    }
}

fn refuse(conn: &Conn, app: &AppState, code: &'static str, message: &str, reference: Option<&'static str>) {
    app.metrics.error(code);
    conn.send(Utf8Bytes::from(ServerMsg::Error { code, message, reference }.to_json()));
}

/// Most messages written before one flush.
const WRITE_BATCH: usize = 64;

/// Drains `conn`'s outbox into `sink` (generic so tests can use a sink that never becomes ready).
///
/// Every write, including `feed` (which waits for the previous frame to flush when the socket's
/// buffers are full) and pings, runs under [`WRITE_TIMEOUT`]: a client that stops reading must not
/// hold this task, its connection slot and its socket forever, since the idle check runs in this
/// loop too.
async fn send_loop<S>(mut sink: S, conn: Arc<Conn>, metrics: Arc<Metrics>)
where
    S: Sink<Message> + Unpin,
{
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut batch = Vec::new();
    let reason = loop {
        let close = conn.take(&mut batch, WRITE_BATCH);
        if !batch.is_empty() {
            // Write everything taken, then flush once: one syscall for a burst.
            let sent = batch.len() as u64;
            let write = async {
                for text in batch.drain(..) {
                    sink.feed(Message::Text(text)).await?;
                }
                sink.flush().await
            };
            let flushed = matches!(tokio::time::timeout(WRITE_TIMEOUT, write).await, Ok(Ok(())));
            batch.clear();
            metrics.messages_out(sent);
            if !flushed {
                conn.close((CLOSE_NORMAL, "write failed"));
                return;
            }
            continue;
        }
        if let Some(reason) = close {
            break reason;
        }
        tokio::select! {
            () = conn.sendable() => {}
            _ = ping.tick() => {
                if conn.idle_ms() > IDLE_TIMEOUT.as_millis() as u64 {
                    conn.close((CLOSE_NORMAL, "idle timeout"));
                    continue;
                }
                let pinged = tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Ping(Default::default()))).await;
                if !matches!(pinged, Ok(Ok(()))) {
                    conn.close((CLOSE_NORMAL, "write failed"));
                    return;
                }
            }
        }
    };
    let (code, reason) = reason;
    let close = Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }));
    let _ = tokio::time::timeout(Duration::from_secs(2), sink.send(close)).await;
}

/// Allows [`RATE_PER_SECOND`] messages per second with bursts of [`RATE_BURST`].
struct TokenBucket {
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new() -> Self {
        TokenBucket { tokens: RATE_BURST, last: Instant::now() }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * RATE_PER_SECOND;
        self.tokens = (self.tokens + refill).min(RATE_BURST);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_str(host).expect("test host"));
        if let Some(o) = origin {
            h.insert(ORIGIN, HeaderValue::from_str(o).expect("test origin"));
        }
        h
    }

    #[test]
    fn same_host_and_listed_origins_are_allowed() {
        assert!(origin_allowed(&headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080"), &[]));
        assert!(origin_allowed(&headers(Some("https://game.example"), "game.example"), &[]));
        assert!(origin_allowed(&headers(None, "x"), &[]));
        let allowed = vec!["https://tetris.example.com".to_string()];
        assert!(origin_allowed(&headers(Some("https://tetris.example.com"), "pod:8080"), &allowed));
    }

    #[test]
    fn other_origins_are_refused() {
        assert!(!origin_allowed(&headers(Some("https://evil.example"), "game.example"), &[]));
        assert!(!origin_allowed(&headers(Some("http://game.example.evil"), "game.example"), &[]));
        assert!(!origin_allowed(&headers(Some("null"), "game.example"), &[]));
    }

    /// A socket whose peer never reads: once its buffers are full, no write ever completes.
    struct NeverReady;

    impl Sink<Message> for NeverReady {
        type Error = axum::Error;
        fn poll_ready(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Pending
        }
        fn start_send(self: std::pin::Pin<&mut Self>, _: Message) -> Result<(), Self::Error> {
            Ok(())
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Pending
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), Self::Error>> {
            std::task::Poll::Pending
        }
    }

    /// Regression: `feed` and the ping were awaited without a timeout, so a client that stopped
    /// reading pinned its send task (and with it the idle timeout, the socket and the connection
    /// slot) forever; only the final flush was bounded.
    #[tokio::test(start_paused = true)]
    async fn a_client_that_never_reads_cannot_pin_the_send_task() {
        // Messages queued: the write of the batch gives up.
        let conn = Arc::new(Conn::new(1));
        conn.send(Utf8Bytes::from_static("{}"));
        let task = tokio::spawn(send_loop(NeverReady, conn.clone(), Arc::new(Metrics::new())));
        tokio::time::timeout(WRITE_TIMEOUT * 3, task).await.expect("send task ends").expect("join");
        assert_eq!(conn.close_reason(), Some((CLOSE_NORMAL, "write failed")));
        // Nothing queued: the ping gives up.
        let conn = Arc::new(Conn::new(2));
        let task = tokio::spawn(send_loop(NeverReady, conn.clone(), Arc::new(Metrics::new())));
        tokio::time::timeout(PING_INTERVAL + WRITE_TIMEOUT * 3, task)
            .await
            .expect("send task ends")
            .expect("join");
        assert_eq!(conn.close_reason(), Some((CLOSE_NORMAL, "write failed")));
    }

    #[test]
    fn bucket_allows_a_burst_then_refuses() {
        let mut b = TokenBucket::new();
        let allowed = (0..200).filter(|_| b.take()).count();
        assert!((120..=121).contains(&allowed), "{allowed}");
    }
}
