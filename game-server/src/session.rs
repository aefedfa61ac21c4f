//! One connection's protocol state machine: the hello handshake, then every client message mapped
//! to a hub or room operation. Owned by the connection's receive task, so it needs no lock.

use crate::clients::ClientLimits;
use crate::hub::{Hub, normalize_code};
use crate::matchmaking::quick_match;
use crate::names::validate_name;
use crate::outbox::Conn;
use crate::protocol::{BoardState, ClientMsg, PROTOCOL_VERSION, Refusal, STATE_PREFIX, ServerMsg};
use crate::rooms::{Room, Seat};
use axum::extract::ws::Utf8Bytes;
use std::sync::Arc;

/// The per-connection state.
pub struct Session {
    hub: Arc<Hub>,
    conn: Arc<Conn>,
    greeted: bool,
    seat: Option<(Arc<Room>, u8)>,
    /// The client's address and the per-client limits (rooms it may open).
    client: Option<(std::net::IpAddr, Arc<ClientLimits>)>,
    /// Relayed by another replica for one of its players (see `forward.rs`): may join a
    /// quick-match room by code, and never relays further.
    forwarded: bool,
    /// An operation waiting for the room registry (see `forward.rs`).
    pending: Option<crate::forward::Pending>,
}

impl Session {
    /// A session for a freshly opened connection.
    pub fn new(hub: Arc<Hub>, conn: Arc<Conn>) -> Self {
        Session { hub, conn, greeted: false, seat: None, client: None, forwarded: false, pending: None }
    }

    /// Counts the rooms this session opens against `ip`'s `TETRIS_MAX_ROOMS_PER_CLIENT`.
    pub fn with_client(mut self, ip: std::net::IpAddr, limits: Arc<ClientLimits>) -> Self {
        self.client = Some((ip, limits));
        self
    }

    /// Marks a connection another replica relays (its [`crate::games::FORWARD_HEADER`] verified).
    pub fn forwarded(mut self, forwarded: bool) -> Self {
        self.forwarded = forwarded;
        self
    }

    /// The client's address (loopback when unknown).
    pub fn client_ip(&self) -> std::net::IpAddr {
        self.client.as_ref().map_or(std::net::IpAddr::from([127, 0, 0, 1]), |(ip, _)| *ip)
    }

    /// The operation waiting for the room registry, if the last message left one.
    pub fn take_pending(&mut self) -> Option<crate::forward::Pending> {
        self.pending.take()
    }

    /// Whether rooms on other replicas may be looked up for this connection.
    fn may_look_elsewhere(&self) -> bool {
        !self.forwarded && self.hub.shared().is_some()
    }

    /// Answers a resume this server cannot honour: `welcome` (not resumed), then the refusal.
    pub fn refuse_resume(&self) -> Refusal {
        self.conn.send(Utf8Bytes::from(
            ServerMsg::Welcome {
                protocol: PROTOCOL_VERSION,
                ruleset: self.hub.cfg.ruleset.as_str(),
                draining: self.hub.is_draining(),
                resumed: false,
            }
            .to_json(),
        ));
        Refusal::new("bad_resume_token", "that seat is no longer available")
    }

    /// Quick match among the players of this server only (nobody waits on another replica).
    pub fn quick_match_here(&mut self, name: String, start_level: u8) -> Result<(), Refusal> {
        if self.room().is_some() {
            return Err(Refusal::new("already_in_room", "leave your room first"));
        }
        let seat = self.opening_seat(name)?;
        self.seat = Some(quick_match(&self.hub, &self.conn, seat, start_level)?);
        Ok(())
    }

    /// The seat for a room this session opens, holding one of its client's room slots.
    fn opening_seat(&self, name: String) -> Result<Seat, Refusal> {
        let slot = match &self.client {
            Some((ip, limits)) => Some(limits.room(*ip).ok_or(Refusal::new(
                "client_room_limit",
                "your address has as many rooms open as it may; leave one first",
            ))?),
            None => None,
        };
        Ok(Seat::new(name, self.conn.clone()).with_slot(slot))
    }

    /// Carries out `msg` (parsed from `raw`), or says why not.
    pub fn handle(&mut self, msg: ClientMsg, raw: &str) -> Result<(), Refusal> {
        if let ClientMsg::Hello { protocol, resume_token } = msg {
            return self.hello(protocol, resume_token);
        }
        if !self.greeted {
            return Err(Refusal::new("hello_required", "the first message must be hello"));
        }
        let conn_id = self.conn.id;
        match msg {
            ClientMsg::Hello { .. } => Ok(()),
            ClientMsg::Ping {} => {
                self.send(ServerMsg::Pong {});
                Ok(())
            }
            ClientMsg::WatchScores {} => {
                self.hub.watch_scores(&self.conn);
                Ok(())
            }
            ClientMsg::UnwatchScores {} => {
                self.hub.unwatch_scores(conn_id);
                Ok(())
            }
            ClientMsg::CreateRoom { name, start_level } => {
                let name = self.may_open_room(&name, Some(start_level))?;
                let room = self.hub.create_room(self.opening_seat(name)?, start_level, false)?;
                self.seat = Some((room, 0));
                Ok(())
            }
            ClientMsg::JoinRoom { name, code } => {
                let own = normalize_code(&code).zip(self.room()).is_some_and(|(c, (r, _))| r.code == c);
                if own {
                    return Err(Refusal::new("own_room", "you are already in this room"));
                }
                let name = self.may_open_room(&name, None)?;
                let here = normalize_code(&code).and_then(|c| {
                    if self.forwarded { self.hub.find_any(&c) } else { self.hub.find_private(&c) }
                });
                let room = match (here, normalize_code(&code)) {
                    (Some(room), _) => room,
                    (None, Some(code)) if self.may_look_elsewhere() => {
                        self.pending = Some(crate::forward::Pending::Join { code, raw: raw.to_owned() });
                        return Ok(());
                    }
                    (None, _) => return Err(Refusal::new("room_not_found", "no open room has that code")),
                };
                let seat = room.join(&self.hub, &self.conn, name)?;
                self.seat = Some((room, seat));
                Ok(())
            }
            ClientMsg::QuickMatch { name, start_level } => {
                let name = self.may_open_room(&name, Some(start_level))?;
                if self.may_look_elsewhere() && !self.hub.has_waiting_quick() {
                    self.pending = Some(crate::forward::Pending::Quick { name, start_level });
                    return Ok(());
                }
                self.quick_match_here(name, start_level)
            }
            ClientMsg::LeaveRoom {} => {
                let (room, seat) = self.room().ok_or(Refusal::new("not_in_room", "you are not in a room"))?;
                self.seat = None;
                room.leave(&self.hub, seat, conn_id)
            }
            ClientMsg::State(state) => {
                let relayed = relay_text(&state, raw);
                self.in_room(|room, seat| room.relay_state(seat, conn_id, state, relayed))
            }
            ClientMsg::Inputs { frame, inputs, garbage, handling } => {
                let hub = self.hub.clone();
                self.in_room(|room, seat| {
                    room.inputs(&hub, seat, conn_id, frame, &inputs, &garbage, handling)
                })
            }
            ClientMsg::Garbage { .. } => {
                let hub = self.hub.clone();
                self.in_room(|room, seat| room.garbage(&hub, seat, conn_id))
            }
            ClientMsg::Pause {} => self.in_room(|room, seat| room.set_paused(seat, conn_id, true)),
            ClientMsg::Unpause {} => self.in_room(|room, seat| room.set_paused(seat, conn_id, false)),
            ClientMsg::GameOver { .. } => {
                let hub = self.hub.clone();
                self.in_room(|room, seat| room.game_over(&hub, seat, conn_id))
            }
            ClientMsg::Rematch {} => {
                let hub = self.hub.clone();
                self.in_room(|room, seat| room.rematch(&hub, seat, conn_id))
            }
        }
    }

    /// The connection closed: release the seat (with grace) and stop tracking.
    pub fn disconnected(&mut self) {
        if let Some((room, seat)) = self.seat.take() {
            room.disconnect(&self.hub, seat, self.conn.id);
        }
        self.hub.unregister(self.conn.id);
    }

    fn hello(&mut self, protocol: u32, resume_token: Option<String>) -> Result<(), Refusal> {
        if self.greeted {
            return Err(Refusal::new("already_hello", "hello was already received"));
        }
        if protocol != PROTOCOL_VERSION {
            return Err(Refusal::with(
                "unsupported_protocol",
                format!("this server speaks protocol {PROTOCOL_VERSION}; reload the page"),
            ));
        }
        self.greeted = true;
        let welcome = |resumed| {
            Utf8Bytes::from(
                ServerMsg::Welcome {
                    protocol: PROTOCOL_VERSION,
                    ruleset: self.hub.cfg.ruleset.as_str(),
                    draining: self.hub.is_draining(),
                    resumed,
                }
                .to_json(),
            )
        };
        let Some(token) = resume_token else {
            self.conn.send(welcome(false));
            return Ok(());
        };
        // A seat of a room on another replica: its token starts with the room's code.
        if self.hub.lookup_token(&token).is_none()
            && self.may_look_elsewhere()
            && let Some(code) = crate::hub::code_of_token(&token)
        {
            self.pending = Some(crate::forward::Pending::Resume { code: code.to_owned(), token });
            return Ok(());
        }
        let resumed = self
            .hub
            .lookup_token(&token)
            .ok_or(Refusal::new("bad_resume_token", "that seat is no longer available"))
            .and_then(|(room, seat)| {
                room.resume(&self.hub, seat, &token, &self.conn, welcome(true))?;
                Ok((room, seat))
            });
        match resumed {
            Ok(seat) => {
                self.seat = Some(seat);
                Ok(())
            }
            Err(refusal) => {
                self.conn.send(welcome(false));
                Err(refusal)
            }
        }
    }

    /// Checks what every room-opening message needs; returns the validated name.
    fn may_open_room(&mut self, name: &str, start_level: Option<u8>) -> Result<String, Refusal> {
        if !self.hub.cfg.duo {
            return Err(Refusal::new("duo_disabled", "duo mode is turned off on this server"));
        }
        if self.hub.is_draining() {
            return Err(Refusal::new("draining", "the server is restarting; no new rooms"));
        }
        if self.room().is_some() {
            return Err(Refusal::new("already_in_room", "leave your room first"));
        }
        let name = validate_name(name).map_err(|e| Refusal::with("invalid_name", e.to_string()))?;
        if let Some(level) = start_level {
            let range = &self.hub.cfg.start_levels;
            if !range.contains(&level) {
                return Err(Refusal::with(
                    "bad_message",
                    format!("startLevel must be from {} to {}", range.start(), range.end()),
                ));
            }
        }
        Ok(name)
    }

    /// The room this connection still sits in (forgets a closed or taken-over one).
    fn room(&mut self) -> Option<(Arc<Room>, u8)> {
        let live = self.seat.as_ref().is_some_and(|(room, seat)| room.holds(*seat, self.conn.id));
        if !live {
            self.seat = None;
        }
        self.seat.clone()
    }

    fn in_room<T>(&mut self, f: impl FnOnce(&Arc<Room>, u8) -> Result<T, Refusal>) -> Result<T, Refusal> {
        match &self.seat {
            Some((room, seat)) => f(room, *seat),
            None => Err(Refusal::new("not_in_room", "you are not in a room")),
        }
    }

    fn send(&self, msg: ServerMsg<'_>) {
        self.conn.send(Utf8Bytes::from(msg.to_json()));
    }
}

/// The `opponent_state` text for a validated `state`. A compact message (type first, as clients
/// write it) is relayed as received with only its type renamed, which is safe because parsing was
/// strict (known fields only, each bounded) and saves re-serializing the hottest message.
fn relay_text(state: &BoardState, raw: &str) -> Utf8Bytes {
    match raw.strip_prefix(STATE_PREFIX) {
        Some(rest) => Utf8Bytes::from(format!(r#"{{"type":"opponent_state"{rest}"#)),
        None => Utf8Bytes::from(ServerMsg::OpponentState(state).to_json()),
    }
}
