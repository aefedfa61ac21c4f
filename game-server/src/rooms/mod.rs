//! A duo room: two seats, the match between them, and every transition of its lifecycle
//! (`waiting -> playing -> finished -> playing ... -> closed`, see `PROTOCOL.md`).
//!
//! Each operation locks the room, checks that the caller still owns its seat (a resumed seat may have
//! moved to another connection), changes the state and queues the resulting messages, all under the
//! lock so the two players always see events in the same order. Closing a room is the only operation
//! that also touches the hub, after the room lock is released.

use crate::games::{Mode, new_seed};
use crate::hub::{Hub, random_token};
use crate::outbox::Conn;
use crate::protocol::{BoardState, Refusal, ServerMsg};
use axum::extract::ws::Utf8Bytes;
use rand::Rng;
use std::sync::{Arc, Mutex, MutexGuard};
use tetris_config::Ruleset;
use tokio::task::AbortHandle;
use tokio::time::Instant;

mod closing;
mod replays;
mod versus;

pub use replays::SeatReplay;

/// Why a duo match ended: `as_str` is the `reason` of `match_end` (PROTOCOL.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Classic: the scores decided it.
    Score,
    /// A player topped out.
    ToppedOut,
    /// A player left the room.
    OpponentLeft,
    /// A player's connection was lost and not resumed within the grace.
    OpponentDisconnected,
    /// The drain deadline ended it (the server is going away).
    ServerShutdown,
}

impl EndReason {
    /// The reasons that count as an aborted match.
    pub const ABORTING: [EndReason; 2] = [EndReason::OpponentDisconnected, EndReason::ServerShutdown];

    /// The protocol's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Score => "score",
            EndReason::ToppedOut => "topped_out",
            EndReason::OpponentLeft => "opponent_left",
            EndReason::OpponentDisconnected => "opponent_disconnected",
            EndReason::ServerShutdown => "server_shutdown",
        }
    }

    /// Whether the match was cut short rather than played out or left by a player's choice
    /// (`tetris_matches_aborted_total`): a lost peer or the drain deadline.
    pub fn aborted(self) -> bool {
        EndReason::ABORTING.contains(&self)
    }
}

use versus::ClassicOutcome;

/// Where a room is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// One seat filled.
    Waiting,
    /// A match is running.
    Playing,
    /// Between `match_end` and a rematch.
    Finished,
    /// Gone; only stale references remain.
    Closed,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Waiting => "waiting",
            Phase::Playing => "playing",
            Phase::Finished => "finished",
            Phase::Closed => "closed",
        }
    }
}

/// A player's place in a room.
#[derive(Debug)]
pub struct Seat {
    /// Display name (validated).
    pub name: String,
    /// Secret that lets a new connection take the seat over.
    pub token: String,
    /// The connection, or `None` during the reconnect grace.
    conn: Option<Arc<Conn>>,
    /// Last `state` the player sent.
    state: Option<BoardState>,
    /// This seat's ticket for the current match.
    game_id: Option<String>,
    /// Bumped on every disconnect and resume, so a stale grace timer does nothing.
    away_gen: u64,
    wants_rematch: bool,
    /// The creator's per-client room slot, given back when the room closes.
    slot: Option<crate::clients::Slot>,
}

impl Seat {
    /// A seat for `name` on `conn`, with a fresh resume token.
    pub fn new(name: String, conn: Arc<Conn>) -> Self {
        Seat {
            name,
            token: random_token(),
            conn: Some(conn),
            state: None,
            game_id: None,
            away_gen: 0,
            wants_rematch: false,
            slot: None,
        }
    }

    /// This seat holds `slot` (a room its client opened) until the room closes.
    pub fn with_slot(mut self, slot: Option<crate::clients::Slot>) -> Self {
        self.slot = slot;
        self
    }

    fn send(&self, text: &Utf8Bytes) {
        if let Some(c) = &self.conn {
            c.send(text.clone());
        }
    }
}

struct Inner {
    phase: Phase,
    start_level: u8,
    seats: [Option<Seat>; 2],
    match_no: u32,
    seed: u32,
    paused: bool,
    /// Who paused, and when (meaningful while `paused`).
    paused_by: u8,
    paused_at: Instant,
    /// Pauses each seat has left in this match (private rooms; see versus.rs).
    pauses_left: [u8; 2],
    /// Classic: each seat's final score once it topped out; the match goes on for the other.
    out: [Option<u32>; 2],
    /// The server's replay of each seat's game (see replays.rs): garbage, top-outs and scores.
    plays: [SeatReplay; 2],
    /// The idle timeout's task (waiting for a second player, or for a rematch), stopped once a
    /// match starts or the room closes.
    idle_timer: Option<AbortHandle>,
}

/// One duo room.
pub struct Room {
    /// The code players type to join (also the registry key).
    pub code: String,
    /// Quick-match room (not joinable by code).
    pub public: bool,
    /// A std Mutex, not a tokio one: no await happens while it is held.
    inner: Mutex<Inner>,
}

fn text(msg: ServerMsg<'_>) -> Utf8Bytes {
    Utf8Bytes::from(msg.to_json())
}

fn other(seat: u8) -> u8 {
    1 - seat
}

const NOT_PLAYING: Refusal = Refusal::new("not_playing", "no match is running in this room");
const NOT_IN_ROOM: Refusal = Refusal::new("not_in_room", "you are not in a room");

impl Room {
    /// A waiting room with `first` in seat 0.
    pub fn new(code: String, public: bool, start_level: u8, first: Seat) -> Self {
        Room {
            code,
            public,
            inner: Mutex::new(Inner {
                phase: Phase::Waiting,
                start_level,
                seats: [Some(first), None],
                match_no: 0,
                seed: 0,
                paused: false,
                paused_by: 0,
                paused_at: Instant::now(),
                pauses_left: [versus::PAUSES_PER_MATCH; 2],
                out: [None; 2],
                plays: [Self::no_replay(), Self::no_replay()],
                idle_timer: None,
            }),
        }
    }

    fn no_replay() -> SeatReplay {
        SeatReplay::new(crate::rules::RulesetName::Classic, crate::rules::RULES_VERSION, 0, 0)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends seat 0 its first message: `queued` (public) or `room_joined` (private).
    pub fn greet_creator(&self) {
        let g = self.lock();
        let Some(seat) = &g.seats[0] else { return };
        if self.public {
            seat.send(&text(ServerMsg::Queued {}));
        } else {
            seat.send(&text(ServerMsg::RoomJoined {
                code: &self.code,
                seat: 0,
                resume_token: &seat.token,
                players: vec![&seat.name],
            }));
        }
    }

    /// Whether the room still waits for its second player.
    pub fn is_waiting(&self) -> bool {
        let g = self.lock();
        g.phase == Phase::Waiting && g.seats[1].is_none()
    }

    /// Whether the room has closed (only stale references remain).
    pub fn is_closed(&self) -> bool {
        self.lock().phase == Phase::Closed
    }

    /// Whether connection `conn_id` still holds `seat` of an open room.
    pub fn holds(&self, seat: u8, conn_id: u64) -> bool {
        let g = self.lock();
        g.phase != Phase::Closed && owns(&g, seat, conn_id)
    }

    /// Seats `conn` as the second player and starts the first match. Returns the seat (1).
    pub fn join(self: &Arc<Self>, hub: &Hub, conn: &Arc<Conn>, name: String) -> Result<u8, Refusal> {
        let mut g = self.lock();
        if g.phase == Phase::Closed {
            return Err(Refusal::new("room_not_found", "that room has closed"));
        }
        if g.seats.iter().flatten().any(|s| s.conn.as_ref().is_some_and(|c| c.id == conn.id)) {
            return Err(Refusal::new("own_room", "you are already in this room"));
        }
        if g.phase != Phase::Waiting || g.seats[1].is_some() {
            return Err(Refusal::new("room_full", "that room already has two players"));
        }
        let mut seat = Seat::new(name, conn.clone());
        seat.token = crate::hub::seat_token(&self.code, &seat.token);
        let token = seat.token.clone();
        g.seats[1] = Some(seat);
        if let [Some(a), Some(b)] = &g.seats {
            let players = vec![a.name.as_str(), b.name.as_str()];
            let joined = |seat: u8, token: &str| {
                text(ServerMsg::RoomJoined {
                    code: &self.code,
                    seat,
                    resume_token: token,
                    players: players.clone(),
                })
            };
            b.send(&joined(1, &b.token));
            if self.public {
                a.send(&joined(0, &a.token));
            } else {
                a.send(&text(ServerMsg::OpponentJoined { name: &b.name }));
            }
        }
        self.start_match(hub, &mut g);
        if let [Some(creator), Some(joiner)] = &g.seats
            && creator.conn.is_none()
        {
            // The creator dropped and may still come back within the grace: say so at once.
            let grace_seconds = u32::try_from(hub.cfg.grace.as_secs()).unwrap_or(u32::MAX);
            joiner.send(&text(ServerMsg::OpponentDisconnected { grace_seconds }));
        }
        drop(g);
        hub.add_token(token, self, 1);
        Ok(1)
    }

    fn start_match(&self, hub: &Hub, g: &mut Inner) {
        if let Some(timer) = g.idle_timer.take() {
            timer.abort();
        }
        g.match_no += 1;
        g.seed = new_seed();
        g.phase = Phase::Playing;
        g.paused = false;
        g.pauses_left = [versus::PAUSES_PER_MATCH; 2];
        g.out = [None; 2];
        let ruleset = hub.cfg.ruleset;
        let replay = || SeatReplay::new(ruleset.into(), hub.cfg.rules_version, g.seed, g.start_level);
        g.plays = [replay(), replay()];
        for seat in g.seats.iter_mut().flatten() {
            seat.wants_rematch = false;
            seat.state = None;
            seat.game_id = Some(
                hub.tickets.issue(Mode::Duo, ruleset, g.start_level, g.seed, hub.cfg.rules_version).game_id,
            );
        }
        for (i, seat) in g.seats.iter().enumerate() {
            let (Some(me), Some(opp)) = (seat, &g.seats[1 - i]) else { continue };
            me.send(&text(ServerMsg::MatchStart {
                code: &self.code,
                seat: i as u8,
                seed: g.seed,
                start_level: g.start_level,
                ruleset: ruleset.as_str(),
                rules: hub.cfg.rules_version,
                game_id: me.game_id.as_deref().unwrap_or_default(),
                opponent: &opp.name,
                match_no: g.match_no,
            }));
        }
        hub.match_started();
    }

    /// Stores `seat`'s board and relays it (as `relayed`, its `opponent_state` text) to the opponent.
    /// The board is only shown: what counts comes from [`Room::inputs`].
    pub fn relay_state(
        self: &Arc<Self>,
        seat: u8,
        conn_id: u64,
        state: BoardState,
        relayed: Utf8Bytes,
    ) -> Result<(), Refusal> {
        let mut g = self.lock();
        playing(&g, seat, conn_id)?;
        if let Some(opp) = g.seats[usize::from(other(seat))].as_ref().and_then(|s| s.conn.as_ref()) {
            opp.send_lossy(relayed);
        }
        if let Some(me) = g.seats[usize::from(seat)].as_mut() {
            me.state = Some(state);
        }
        Ok(())
    }

    /// Replays `seat`'s new input entries (see replays.rs). Forwards the garbage its game sent to
    /// the opponent with a server-chosen hole; a top-out in the replay ends the seat's game as a
    /// `game_over` would; in classic, a survivor's replayed score passing the other's final one wins.
    #[allow(clippy::too_many_arguments)]
    pub fn inputs(
        self: &Arc<Self>,
        hub: &Arc<Hub>,
        seat: u8,
        conn_id: u64,
        frame: u32,
        inputs: &[(u32, u8)],
        garbage: &[(u32, u8, u8)],
        handling: Option<crate::rules::Handling>,
    ) -> Result<(), Refusal> {
        let mut g = self.lock();
        playing(&g, seat, conn_id)?;
        let i = usize::from(seat);
        if g.out[i].is_some() {
            return Ok(());
        }
        let attack = g.plays[i].advance(frame, inputs, garbage, handling)?;
        if attack > 0 && hub.cfg.ruleset == Ruleset::Modern {
            let opp = usize::from(other(seat));
            let mut left = attack;
            while left > 0 {
                let lines = left.min(u32::from(crate::protocol::MAX_GARBAGE_LINES)) as u8;
                left -= u32::from(lines);
                let hole = rand::rng().random_range(0..10u8);
                g.plays[opp].owe(lines, hole);
                if let Some(s) = &g.seats[opp] {
                    s.send(&text(ServerMsg::Garbage { lines, hole }));
                }
            }
        }
        if g.plays[i].over() {
            self.topped_out(hub, g, seat);
        } else if g.out.iter().any(Option::is_some) {
            let mut live = [0; 2];
            live[i] = u32::try_from(g.plays[i].score()).unwrap_or(u32::MAX);
            self.settle_classic(hub, g, live, other(seat));
        }
        Ok(())
    }

    /// Ends a classic match if `versus::classic_outcome` says it is decided.
    fn settle_classic(
        self: &Arc<Self>,
        hub: &Arc<Hub>,
        mut g: MutexGuard<'_, Inner>,
        live: [u32; 2],
        last_out: u8,
    ) {
        let ClassicOutcome::Winner(winner) = versus::classic_outcome(g.out, live, last_out) else { return };
        self.finish(hub, &mut g, Some(winner), EndReason::Score);
        let closing = self.close_if_draining(hub, &mut g);
        drop(g);
        self.forget(hub, closing);
        self.expire_if_idle(hub);
    }

    /// A client's `garbage`: refused, since the server computes garbage from the replayed inputs.
    pub fn garbage(&self, hub: &Hub, seat: u8, conn_id: u64) -> Result<(), Refusal> {
        if hub.cfg.ruleset != Ruleset::Modern {
            return Err(Refusal::new("not_in_ruleset", "garbage lines exist only in the modern ruleset"));
        }
        playing(&self.lock(), seat, conn_id)?;
        Err(Refusal::new("garbage_by_server", "garbage is computed by the server from your inputs"))
    }

    /// Pauses (`pause = true`) or unpauses the match for both players, under the rules of
    /// `versus.rs` (none in quick match, a few per player, only the pauser resumes at first).
    pub fn set_paused(&self, seat: u8, conn_id: u64, pause: bool) -> Result<(), Refusal> {
        let mut g = self.lock();
        playing(&g, seat, conn_id)?;
        let i = usize::from(seat);
        if pause && !g.paused {
            versus::may_pause(self.public, g.pauses_left[i], g.out.iter().any(Option::is_some))?;
            g.pauses_left[i] -= 1;
            g.paused_by = seat;
            g.paused_at = Instant::now();
        } else if !pause && g.paused {
            versus::may_unpause(seat, g.paused_by, g.paused_at.elapsed())?;
        }
        g.paused = pause;
        for (i, s) in g.seats.iter().enumerate() {
            let by = if i == usize::from(seat) { "you" } else { "opponent" };
            if let Some(s) = s {
                s.send(&text(if pause { ServerMsg::Paused { by } } else { ServerMsg::Unpaused { by } }));
            }
        }
        Ok(())
    }

    /// `seat` says it topped out (or gives up). Its score is the replay's, not the client's.
    pub fn game_over(self: &Arc<Self>, hub: &Arc<Hub>, seat: u8, conn_id: u64) -> Result<(), Refusal> {
        let g = self.lock();
        playing(&g, seat, conn_id)?;
        self.topped_out(hub, g, seat);
        Ok(())
    }

    /// `seat` is out. Modern: the opponent wins. Classic: the opponent is told
    /// (`opponent_topped_out`) and plays on, unless both are now out (see versus.rs).
    fn topped_out(self: &Arc<Self>, hub: &Arc<Hub>, mut g: MutexGuard<'_, Inner>, seat: u8) {
        let score = u32::try_from(g.plays[usize::from(seat)].score()).unwrap_or(u32::MAX);
        if hub.cfg.ruleset == Ruleset::Classic {
            if g.out[usize::from(seat)].is_some() {
                return;
            }
            g.out[usize::from(seat)] = Some(score);
            g.paused = false;
            let mut live = [0; 2];
            live[usize::from(other(seat))] =
                u32::try_from(g.plays[usize::from(other(seat))].score()).unwrap_or(u32::MAX);
            let opp = g.seats[usize::from(other(seat))].as_ref();
            // Told only when the match goes on: a survivor already past the score just wins.
            if versus::classic_outcome(g.out, live, seat) == ClassicOutcome::Continue
                && let Some(opp) = opp
            {
                opp.send(&text(ServerMsg::OpponentToppedOut { score }));
            }
            self.settle_classic(hub, g, live, seat);
            return;
        }
        self.finish(hub, &mut g, Some(other(seat)), EndReason::ToppedOut);
        let closing = self.close_if_draining(hub, &mut g);
        drop(g);
        self.forget(hub, closing);
        self.expire_if_idle(hub);
    }

    fn finish(&self, hub: &Hub, g: &mut Inner, winner: Option<u8>, end: EndReason) {
        let reason = end.as_str();
        g.phase = Phase::Finished;
        g.paused = false;
        let scores = [g.plays[0].score(), g.plays[1].score()];
        let garbage_sent = [g.plays[0].sent(), g.plays[1].sent()];
        for (seat, play) in g.seats.iter().zip(&g.plays) {
            if let (Some(seat), Some(game)) = (seat, play.game()) {
                hub.record_duo(seat.game_id.as_deref(), &seat.name, game, play.log_json());
            }
        }
        for (i, s) in g.seats.iter().enumerate() {
            let you = match winner {
                Some(w) if usize::from(w) == i => "won",
                Some(_) => "lost",
                None => "none",
            };
            if let Some(s) = s {
                s.send(&text(ServerMsg::MatchEnd {
                    winner,
                    you,
                    reason,
                    match_no: g.match_no,
                    scores,
                    garbage_sent,
                }));
            }
        }
        hub.match_finished(end);
    }

    /// `seat` asks for another match; the second request starts it.
    pub fn rematch(&self, hub: &Hub, seat: u8, conn_id: u64) -> Result<(), Refusal> {
        if hub.is_draining() {
            return Err(Refusal::new("draining", "the server is restarting; no new matches"));
        }
        let mut g = self.lock();
        if !owns(&g, seat, conn_id) || g.phase == Phase::Closed {
            return Err(NOT_IN_ROOM);
        }
        if g.phase != Phase::Finished {
            return Err(Refusal::new("not_finished", "a rematch is possible only after the match ends"));
        }
        if let Some(me) = g.seats[usize::from(seat)].as_mut() {
            me.wants_rematch = true;
        }
        if g.seats.iter().all(|s| s.as_ref().is_some_and(|s| s.wants_rematch)) {
            self.start_match(hub, &mut g);
        } else if let Some(opp) = &g.seats[usize::from(other(seat))] {
            opp.send(&text(ServerMsg::RematchRequested {}));
        }
        Ok(())
    }
}

fn owns(g: &Inner, seat: u8, conn_id: u64) -> bool {
    g.seats[usize::from(seat)].as_ref().and_then(|s| s.conn.as_ref()).is_some_and(|c| c.id == conn_id)
}

fn playing(g: &Inner, seat: u8, conn_id: u64) -> Result<(), Refusal> {
    if !owns(g, seat, conn_id) || g.phase == Phase::Closed {
        return Err(NOT_IN_ROOM);
    }
    if g.phase != Phase::Playing {
        return Err(NOT_PLAYING);
    }
    Ok(())
}
