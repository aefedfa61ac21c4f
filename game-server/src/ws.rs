//! The WebSocket endpoint `/ws`: admission (Origin, connection limit), frame limits, and per
//! connection one task that reads (parse, rate-limit, dispatch to the [`Session`]) and writes
//! (drain the outbox, ping, idle timeout, close frame).

use crate::AppState;
use crate::error::ApiError;
use crate::hub::Admission;
use crate::outbox::{CLOSE_NORMAL, CLOSE_POLICY, CLOSE_PROTOCOL, CLOSE_TOO_BIG, CloseReason, Conn};
use crate::protocol::{MAX_MESSAGE_BYTES, ServerMsg, parse};
use crate::session::Session;
use axum::Extension;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use axum::response::{IntoResponse, Response};
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

/// The client address of a request: the peer, or behind a trusted proxy its `X-Forwarded-For`
/// (see `clients.rs`). Without connection info (a `oneshot` test) it is the loopback address.
pub fn client_of(
    app: &AppState,
    peer: Option<&ConnectInfo<std::net::SocketAddr>>,
    headers: &HeaderMap,
) -> std::net::IpAddr {
    let peer = peer.map_or(std::net::IpAddr::from([127, 0, 0, 1]), |p| p.0.ip());
    crate::clients::client_ip(peer, headers, &app.clients.trusted)
}

/// `GET /ws`: checks the origin, the connection limits (all clients, this client), then upgrades.
pub async fn upgrade(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    use axum::http::StatusCode;
    let refuse = |status, code, message| {
        app.metrics.error(code);
        ApiError::new(status, code, message).into_response()
    };
    if !origin_allowed(&headers, &app.config.allowed_origins) {
        return refuse(StatusCode::FORBIDDEN, "origin_not_allowed", "this origin may not open a game socket");
    }
    // A connection another replica relays for one of its players counts against that player's
    // address (see `forward.rs`); an unsigned or stale header is ignored.
    let forwarded = headers
        .get(crate::games::FORWARD_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| app.tickets.verify_forward(v, crate::games::unix_now()));
    let client = forwarded.unwrap_or_else(|| client_of(&app, peer.as_ref().map(|e| &e.0), &headers));
    let forwarded = forwarded.is_some();
    let Some(client_slot) = app.clients.connection(client) else {
        let message = "too many game sockets are open from your address";
        return refuse(StatusCode::TOO_MANY_REQUESTS, "client_connection_limit", message);
    };
    let Some(admission) = app.hub.admit() else {
        let message = "the server has too many players right now; try again soon";
        return refuse(StatusCode::SERVICE_UNAVAILABLE, "server_full", message);
    };
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
        // The connection gets a task of its own rather than living on in axum's upgrade task, whose
        // future also keeps the handshake's state; and the socket goes on the heap, because the
        // future of an async fn keeps a copy of an argument moved into an awaited call beside that
        // call's own. Both are measured in BENCHMARKS.md ("Memory per open WebSocket").
        .on_upgrade(move |socket| async move {
            tokio::spawn(serve_socket(app, Box::new(socket), admission, (client, client_slot), forwarded));
        })
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

async fn serve_socket(
    app: AppState,
    socket: Box<WebSocket>,
    admission: Admission,
    (client, slot): (std::net::IpAddr, crate::clients::Slot),
    forwarded: bool,
) {
    let hub = app.hub.clone();
    let conn = Arc::new(Conn::new(hub.next_id()));
    hub.register(conn.clone());
    let mut session =
        Session::new(hub, conn.clone()).with_client(client, app.clients.clone()).forwarded(forwarded);
    run_socket(socket, &mut session, &conn, &app).await;
    drop(admission);
    drop(slot);
}

/// Most messages written before one flush, and before the loop looks at the read side again.
const WRITE_BATCH: usize = 64;

/// One task serves both directions of a connection: it writes what the outbox holds, then waits for
/// whichever comes first, a frame from the client, a new message in the outbox, or the ping tick.
///
/// Why one task and not a receive task plus a send task over a split socket: no second task, no
/// lock shared by the split halves, and no cross-task wake-up per relayed message. Together with
/// the own task and the boxed socket (see [`upgrade`]) this cut the memory of an open socket (the
/// README's Performance section has the before and after).
///
/// Every write, including `feed` (which waits for the previous frame to flush when the socket's
/// buffers are full) and pings, runs under [`WRITE_TIMEOUT`]: a client that stops reading must not
/// hold this task, its connection slot and its socket forever. The trade-off: while a write waits,
/// the read side is not polled, so a client on a slow downlink also gets its own messages handled
/// later, and one that writes but never reads is closed after [`WRITE_TIMEOUT`].
///
/// Generic over the socket so tests can use one that never becomes ready.
async fn run_socket<S>(mut socket: S, session: &mut Session, conn: &Conn, app: &AppState)
where
    S: futures::Stream<Item = Result<Message, axum::Error>> + Sink<Message> + Unpin,
{
    let mut ping = tokio::time::interval_at(Instant::now() + PING_INTERVAL, PING_INTERVAL);
    ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut reader = Reader::new();
    let reason = loop {
        let (sent, more, close) = match write_queued(&mut socket, conn).await {
            Ok(written) => written,
            Err(()) => {
                conn.close((CLOSE_NORMAL, "write failed"));
                session.disconnected();
                return;
            }
        };
        app.metrics.messages_out(sent);
        if !more && let Some(reason) = close {
            break reason;
        }
        tokio::select! {
            // Once a close was asked for, what the client sends no longer matters.
            frame = socket.next(), if close.is_none() => match reader.on_frame(frame, session, conn, app) {
                Flow::Continue => {
                    if let Some(pending) = session.take_pending()
                        && let Some((upstream, first)) = crate::forward::resolve(app, session, conn, pending).await
                    {
                        crate::forward::relay(socket, upstream, first, session, conn, app).await;
                        return;
                    }
                }
                // The client broke the rules: what is queued still goes out, then the close frame
                // with the reason `on_frame` gave (the first reason given wins).
                Flow::Close => conn.close((CLOSE_NORMAL, "")),
                Flow::PeerClosed => {
                    // Nothing more can be sent but tungstenite's answer to the client's Close
                    // frame (queued when it was read), which closing the sink flushes.
                    conn.close((CLOSE_NORMAL, ""));
                    session.disconnected();
                    let _ = tokio::time::timeout(Duration::from_secs(2), SinkExt::close(&mut socket)).await;
                    return;
                }
            },
            () = conn.sendable(), if !more => {}
            () = std::future::ready(()), if more => {}
            _ = ping.tick() => {
                if conn.idle_ms() > IDLE_TIMEOUT.as_millis() as u64 {
                    conn.close((CLOSE_NORMAL, "idle timeout"));
                    continue;
                }
                let pinged = tokio::time::timeout(WRITE_TIMEOUT, socket.send(Message::Ping(Default::default()))).await;
                if !matches!(pinged, Ok(Ok(()))) {
                    conn.close((CLOSE_NORMAL, "write failed"));
                    session.disconnected();
                    return;
                }
            }
        }
    };
    session.disconnected();
    let (code, reason) = reason;
    let close = Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }));
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.send(close)).await;
}

/// Writes up to [`WRITE_BATCH`] queued messages and flushes once (one syscall for a burst).
/// Returns how many were written, whether more are queued, and the close reason if one was given;
/// `Err` when the writes did not complete within [`WRITE_TIMEOUT`] or failed.
pub(crate) async fn write_queued<S>(sink: &mut S, conn: &Conn) -> Result<(u64, bool, Option<CloseReason>), ()>
where
    S: Sink<Message> + Unpin,
{
    let mut sent = 0u64;
    let write = async {
        loop {
            let (next, more, close) = conn.pop();
            match next {
                Some(text) => {
                    sink.feed(Message::Text(text)).await?;
                    sent += 1;
                    if more && sent < WRITE_BATCH as u64 {
                        continue;
                    }
                    sink.flush().await?;
                    return Ok((more, close));
                }
                None => return Ok::<_, S::Error>((false, close)),
            }
        }
    };
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(Ok((more, close))) => Ok((sent, more, close)),
        Ok(Err(_)) | Err(_) => Err(()),
    }
}

/// What the connection does after a frame was read.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    /// Keep going.
    Continue,
    /// Close it with the reason already given to the [`Conn`].
    Close,
    /// The client closed it (Close frame) or the stream ended.
    PeerClosed,
}

/// The read side's state: rate limit and the count of refused messages.
struct Reader {
    bucket: TokenBucket,
    refused: u32,
    last_rate_notice: Option<Instant>,
}

impl Reader {
    fn new() -> Self {
        Reader { bucket: TokenBucket::new(), refused: 0, last_rate_notice: None }
    }

    /// Handles one frame (or the end of the stream).
    fn on_frame(
        &mut self,
        frame: Option<Result<Message, axum::Error>>,
        session: &mut Session,
        conn: &Conn,
        app: &AppState,
    ) -> Flow {
        let text = match frame {
            None | Some(Ok(Message::Close(_))) => return Flow::PeerClosed,
            Some(Err(e)) => {
                // tungstenite reports an over-long frame as a capacity error ("Space limit exceeded").
                let too_big = e.to_string().contains("Space limit");
                conn.close(if too_big {
                    (CLOSE_TOO_BIG, "message too big")
                } else {
                    (CLOSE_PROTOCOL, "protocol error")
                });
                return Flow::Close;
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                conn.touch();
                return Flow::Continue;
            }
            Some(Ok(Message::Binary(_))) => {
                conn.touch();
                refuse(conn, app, "binary_not_supported", "send JSON text frames", None);
                return self.count_refusal(conn);
            }
            Some(Ok(Message::Text(text))) => text,
        };
        conn.touch();
        app.metrics.message_in();
        if !self.bucket.take() {
            let now = Instant::now();
            if self.last_rate_notice.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1)) {
                self.last_rate_notice = Some(now);
                refuse(conn, app, "rate_limited", "too many messages; slow down", None);
            }
            return self.count_refusal(conn);
        }
        let outcome = parse(text.as_str())
            .map_err(|e| (crate::protocol::Refusal::with("bad_message", e.message), e.reference))
            .and_then(|msg| {
                let kind = msg.kind();
                session.handle(msg, text.as_str()).map_err(|r| (r, Some(kind)))
            });
        match outcome {
            Ok(()) => Flow::Continue,
            Err((refusal, reference)) => {
                refuse(conn, app, refusal.code, &refusal.message, reference);
                self.count_refusal(conn)
            }
        }
    }

    /// Counts a refused message; closes once there were [`MAX_REFUSED`].
    fn count_refusal(&mut self, conn: &Conn) -> Flow {
        self.refused += 1;
        if self.refused >= MAX_REFUSED {
            conn.close((CLOSE_POLICY, "too many bad messages"));
            return Flow::Close;
        }
        Flow::Continue
    }
}

fn refuse(conn: &Conn, app: &AppState, code: &'static str, message: &str, reference: Option<&'static str>) {
    app.metrics.error(code);
    conn.send(Utf8Bytes::from(ServerMsg::Error { code, message, reference }.to_json()));
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
    use tetris_config::GameConfig;

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

    /// A socket whose peer never reads nor writes: once its buffers are full, no write ever
    /// completes, and no frame ever arrives.
    struct NeverReady;

    impl futures::Stream for NeverReady {
        type Item = Result<Message, axum::Error>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Pending
        }
    }

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

    /// Runs [`run_socket`] over a socket that never becomes ready, with `queued` messages waiting.
    async fn run_stuck(queued: usize) -> Option<CloseReason> {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = GameConfig { database: dir.path().join("scores.db"), ..GameConfig::default() };
        let app = AppState::new(config).expect("state");
        let conn = Arc::new(Conn::new(app.hub.next_id()));
        for _ in 0..queued {
            conn.send(Utf8Bytes::from_static("{}"));
        }
        let mut session = Session::new(app.hub.clone(), conn.clone());
        let run = run_socket(NeverReady, &mut session, &conn, &app);
        tokio::time::timeout(PING_INTERVAL + WRITE_TIMEOUT * 3, run).await.expect("the task ends");
        app.scores.stop().await;
        conn.close_reason()
    }

    /// Regression: `feed` and the ping were awaited without a timeout, so a client that stopped
    /// reading pinned its task (and with it the idle timeout, the socket and the connection slot)
    /// forever; only the final flush was bounded.
    #[tokio::test(start_paused = true)]
    async fn a_client_that_never_reads_cannot_pin_its_task() {
        // Messages queued: the write gives up.
        assert_eq!(run_stuck(3).await, Some((CLOSE_NORMAL, "write failed")));
        // Nothing queued: the ping gives up.
        assert_eq!(run_stuck(0).await, Some((CLOSE_NORMAL, "write failed")));
    }

    #[test]
    fn bucket_allows_a_burst_then_refuses() {
        let mut b = TokenBucket::new();
        let allowed = (0..200).filter(|_| b.take()).count();
        assert!((120..=121).contains(&allowed), "{allowed}");
    }
}
