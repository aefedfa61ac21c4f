//! Duo across replicas: a player whose connection landed on this server joins a room that lives on
//! another replica of the app, by code or by quick match, and this server relays the rest of the
//! connection to that room's server (its *home*). See docs/scoreboard-backends.md, "Duo across replicas".
//!
//! # How
//! Every room is registered in the PostgreSQL room registry with its home (`TETRIS_POD_IP:port`)
//! when it opens, and removed when it closes or is paired ([`crate::hub::Hub::shared`]).
//! - `join_room` with a code not open here: the registry says where it lives.
//! - `quick_match` with nobody waiting here: the oldest room waiting elsewhere is taken out of the
//!   registry (`FOR UPDATE SKIP LOCKED`, so two servers never take the same one); nobody waiting
//!   anywhere: a room opens here as before, and is registered as waiting.
//!
//! This server then opens a WebSocket to the home's `/ws`, says hello, sends the join, and from its
//! first answer on relays every frame both ways, unchanged: the room, its match, its rules, its
//! resume tokens all stay on the home, which is the only server that holds the room's state.
//!
//! # Trust
//! The relayed socket carries [`FORWARD_HEADER`], the client's address signed with the ticket key
//! every replica shares (it lives in the database). The home counts its per-client limits against
//! that address instead of this server's, and lets the connection join a quick-match room by code.
//! A client that sends the header itself cannot sign it, so the header is ignored: it is then an
//! ordinary connection, with the ordinary Origin check, limits and rules. The Origin of the player's
//! browser was checked here; the relayed socket is a non-browser client of the home and sends none.
//!
//! # Drain
//! A relayed connection counts as a running match for this server's drain: a draining server keeps
//! relaying until the match ends (`match_end` from the home closes the relay with 1001, so the
//! player's next connection goes to a live replica) or the drain limit ends it. A draining home
//! keeps its own rooms running exactly as for local players.

use crate::AppState;
use crate::games::{FORWARD_HEADER, unix_now};
use crate::outbox::{CLOSE_GOING_AWAY, CLOSE_NORMAL, Conn};
use crate::protocol::{PROTOCOL_VERSION, ServerMsg};
use crate::session::Session;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes};
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A cross-replica operation a session could not finish without a registry lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// `join_room` for a code that is not open here (`raw`: the message as the client sent it).
    Join {
        /// The normalized code.
        code: String,
        /// The client's message.
        raw: String,
    },
    /// `hello` with a resume token of a room that is not open here.
    Resume {
        /// The room code the token starts with.
        code: String,
        /// The token.
        token: String,
    },
    /// `quick_match` with nobody waiting here.
    Quick {
        /// The validated name.
        name: String,
        /// The start level asked for (used only if the room opens here).
        start_level: u8,
    },
}

/// The socket to a room's home.
pub type Upstream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for the home to accept the relayed socket and answer the join.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest message accepted from a home (scoreboard tables are the largest the server sends).
const MAX_UPSTREAM_MESSAGE: usize = 256 * 1024;

/// Finishes `pending`: either the connection is to be relayed to the room's home (returns the
/// upstream socket, joined, and the home's first answer for the client), or it finishes here (a
/// refusal sent to the client, or a quick-match room opened here), returning `None`.
pub async fn resolve(
    app: &AppState,
    session: &mut Session,
    conn: &Conn,
    pending: Pending,
) -> Option<(Upstream, String)> {
    let (scores, home) = match app.hub.shared() {
        Some((scores, home)) => (scores.clone(), home.to_owned()),
        None => return local(app, session, conn, pending),
    };
    match &pending {
        Pending::Join { code, raw } | Pending::Resume { code, token: raw } => {
            let Some(target) = scores.room_home(code).await.filter(|h| *h != home) else {
                return local(app, session, conn, pending);
            };
            let opening = match &pending {
                Pending::Resume { token, .. } => Opening::Resume(token),
                _ => Opening::Join(raw),
            };
            match open(app, session, &target, opening).await {
                Ok(Joined::Yes(upstream, first)) => Some((*upstream, first)),
                Ok(Joined::Refused(_)) if matches!(pending, Pending::Resume { .. }) => {
                    local(app, session, conn, pending)
                }
                Ok(Joined::Refused(text)) => {
                    conn.send(Utf8Bytes::from(text));
                    None
                }
                Err(e) => {
                    tracing::warn!(home = %target, error = %e, "the home of a duo room is unreachable");
                    // Its server is gone: so is the room.
                    scores.forget_room(code).await;
                    local(app, session, conn, pending)
                }
            }
        }
        Pending::Quick { name, .. } => {
            // Bounded: each round removed a registry row.
            for _ in 0..3 {
                let Some((code, target)) = scores.take_waiting(&home).await else { break };
                let join = serde_json::json!({"type": "join_room", "name": name, "code": code}).to_string();
                match open(app, session, &target, Opening::Join(&join)).await {
                    Ok(Joined::Yes(upstream, first)) => return Some((*upstream, first)),
                    // Paired on its home meanwhile, or closed: try the next one.
                    Ok(Joined::Refused(_)) => continue,
                    Err(e) => {
                        tracing::warn!(home = %target, error = %e, "a quick-match room's home is unreachable");
                        continue;
                    }
                }
            }
            local(app, session, conn, pending)
        }
    }
}

/// Finishes `pending` on this server alone.
fn local(app: &AppState, session: &mut Session, conn: &Conn, pending: Pending) -> Option<(Upstream, String)> {
    let result = match pending {
        Pending::Join { .. } => {
            Err(crate::protocol::Refusal::new("room_not_found", "no open room has that code"))
        }
        Pending::Resume { .. } => Err(session.refuse_resume()),
        Pending::Quick { name, start_level } => session.quick_match_here(name, start_level),
    };
    if let Err(refusal) = result {
        app.metrics.error(refusal.code);
        let msg = ServerMsg::Error {
            code: refusal.code,
            message: &refusal.message,
            reference: Some(match refusal.code {
                "bad_resume_token" => "hello",
                "room_not_found" => "join_room",
                _ => "quick_match",
            }),
        };
        conn.send(Utf8Bytes::from(msg.to_json()));
    }
    None
}

enum Joined {
    /// Joined: the socket and the home's answer (`room_joined`), for the client.
    Yes(Box<Upstream>, String),
    /// The home's answer to the join was an error (its text, to pass on).
    Refused(String),
}

/// What the relayed socket opens with.
#[derive(Clone, Copy)]
enum Opening<'a> {
    /// hello, then this join message.
    Join(&'a str),
    /// hello with this resume token.
    Resume(&'a str),
}

/// Opens the relayed socket to `home`, says hello, sends the join (or resumes), reads the answer.
async fn open(app: &AppState, session: &Session, home: &str, opening: Opening<'_>) -> Result<Joined, String> {
    let mut request = format!("ws://{home}/ws").into_client_request().map_err(|e| e.to_string())?;
    let signed = app.tickets.sign_forward(session.client_ip(), unix_now());
    request.headers_mut().insert(
        FORWARD_HEADER,
        tungstenite::http::HeaderValue::from_str(&signed).map_err(|e| e.to_string())?,
    );
    let config = tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_UPSTREAM_MESSAGE))
        .max_frame_size(Some(MAX_UPSTREAM_MESSAGE));
    let handshake = async {
        let (mut up, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
            .await
            .map_err(|e| e.to_string())?;
        let mut hello = serde_json::json!({"type": "hello", "protocol": PROTOCOL_VERSION});
        if let Opening::Resume(token) = opening {
            hello["resumeToken"] = token.into();
        }
        up.send(tungstenite::Message::text(hello.to_string())).await.map_err(|e| e.to_string())?;
        let welcome = next_text(&mut up).await?;
        if !welcome.contains(r#""type":"welcome""#) {
            return Err(format!("the home answered hello with {welcome}"));
        }
        let join = match opening {
            Opening::Resume(_) if welcome.contains(r#""resumed":true"#) => {
                return Ok(Joined::Yes(Box::new(up), welcome));
            }
            Opening::Resume(_) => {
                let _ = up.close(None).await;
                return Ok(Joined::Refused(welcome));
            }
            Opening::Join(join) => join,
        };
        up.send(tungstenite::Message::text(join.to_owned())).await.map_err(|e| e.to_string())?;
        let answer = next_text(&mut up).await?;
        if answer.starts_with(r#"{"type":"error""#) {
            let _ = up.close(None).await;
            return Ok(Joined::Refused(answer));
        }
        // The answer (`room_joined`) is the client's too: the relay sends it first.
        Ok(Joined::Yes(Box::new(up), answer))
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await.map_err(|_| "timed out".to_owned())?
}

async fn next_text(up: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> Result<String, String> {
    loop {
        match up.next().await {
            Some(Ok(tungstenite::Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_))) => continue,
            Some(Ok(other)) => return Err(format!("unexpected frame {other:?}")),
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed".into()),
        }
    }
}

/// Relays the connection between the client's `socket` and the room's home until either side
/// closes, the hub closes the connection (drain end), or, while draining, the match ends.
pub async fn relay<S>(
    mut socket: S,
    mut upstream: Upstream,
    first: String,
    session: &mut Session,
    conn: &Conn,
    app: &AppState,
) where
    S: Stream<Item = Result<Message, axum::Error>> + Sink<Message> + Unpin,
{
    app.hub.relay_started();
    conn.send(Utf8Bytes::from(first));
    let mut ping = tokio::time::interval(crate::ws::PING_INTERVAL);
    ping.reset();
    let reason: (u16, &'static str) = loop {
        let (written, more, close) = match crate::ws::write_queued(&mut socket, conn).await {
            Ok(w) => w,
            Err(()) => break (CLOSE_NORMAL, "write failed"),
        };
        app.metrics.messages_out(written);
        if !more && let Some(reason) = close {
            break reason;
        }
        tokio::select! {
            frame = socket.next(), if close.is_none() => match frame {
                Some(Ok(Message::Text(t))) => {
                    conn.touch();
                    if upstream.send(tungstenite::Message::text(t.as_str().to_owned())).await.is_err() {
                        break (CLOSE_GOING_AWAY, "the room's server is gone");
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => conn.touch(),
                Some(Ok(Message::Binary(_))) => conn.touch(),
                None | Some(Ok(Message::Close(_))) | Some(Err(_)) => {
                    let _ = upstream.close(None).await;
                    conn.close((CLOSE_NORMAL, ""));
                    session.disconnected();
                    app.hub.relay_finished();
                    return;
                }
            },
            msg = upstream.next() => match msg {
                Some(Ok(tungstenite::Message::Text(t))) => {
                    let ended = t.as_str().starts_with(r#"{"type":"match_end""#);
                    conn.send(Utf8Bytes::from(t.as_str().to_owned()));
                    if ended && app.hub.is_draining() {
                        conn.close((CLOSE_GOING_AWAY, "server shutting down"));
                    }
                }
                Some(Ok(tungstenite::Message::Close(frame))) => {
                    let code = frame.map_or(CLOSE_NORMAL, |f| u16::from(f.code));
                    conn.close((code, "closed by the room's server"));
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => conn.close((CLOSE_GOING_AWAY, "the room's server is gone")),
            },
            () = conn.sendable(), if !more => {}
            () = std::future::ready(()), if more => {}
            _ = ping.tick() => {
                if conn.idle_ms() > crate::ws::IDLE_TIMEOUT.as_millis() as u64 {
                    conn.close((CLOSE_NORMAL, "idle timeout"));
                    continue;
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break (CLOSE_NORMAL, "write failed");
                }
            }
        }
    };
    let _ = upstream.close(None).await;
    session.disconnected();
    app.hub.relay_finished();
    let (code, reason) = reason;
    let close = Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }));
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.send(close)).await;
}
