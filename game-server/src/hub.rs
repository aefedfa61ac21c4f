//! The hub: every open connection, every duo room and its code, every resume token, the scoreboard
//! watchers, and the drain switch. Rooms hold their own state ([`crate::rooms`]); the hub only finds
//! them, counts them and closes them.
//!
//! Locking: the registry and each room have their own std `Mutex` (no await happens while one is
//! held, and sends are non-blocking queue pushes). The order is always registry, then room, so two
//! tasks can never wait on each other.

use crate::games::Tickets;
use crate::metrics::Metrics;
use crate::outbox::{CLOSE_GOING_AWAY, Conn};
use crate::protocol::{Refusal, ServerMsg};
use crate::rooms::{Room, Seat};
use crate::scoreboard::{Boards, Scoreboard, Submission};
use axum::extract::ws::Utf8Bytes;
use rand::Rng;
use std::collections::{HashMap, VecDeque};
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tetris_config::{GameConfig, Ruleset};
use tokio::sync::watch;

/// Characters of room codes: no 0/O, 1/I/L, so codes survive being read aloud.
pub const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Length of a room code.
pub const CODE_LEN: usize = 6;
/// How long a room waits for its second player (private code or quick match), or after a match for
/// a rematch, before it closes with `room_closed` `waiting_timeout` or `rematch_timeout`. Long
/// enough to share a code by chat and wait for a friend; short enough that a tab left open on the
/// waiting or the result screen gives its `TETRIS_MAX_ROOMS` slot back.
pub const WAITING_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// The settings the hub needs, taken from [`GameConfig`].
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Rules of every match.
    pub ruleset: Ruleset,
    /// Whether duo is offered at all.
    pub duo: bool,
    /// Start levels a room may use.
    pub start_levels: RangeInclusive<u8>,
    /// Most rooms open at once.
    pub max_rooms: usize,
    /// Most WebSocket connections at once.
    pub max_connections: usize,
    /// How long a dropped seat is kept.
    pub grace: Duration,
    /// How long running matches may go on after SIGTERM.
    pub drain: Duration,
    /// How long a room waits for its second player or a rematch ([`WAITING_TIMEOUT`]).
    pub waiting_timeout: Duration,
    /// Rules version new matches are played under (`TETRIS_RULES_VERSION`).
    pub rules_version: u8,
}

impl From<&GameConfig> for HubConfig {
    fn from(c: &GameConfig) -> Self {
        HubConfig {
            ruleset: c.ruleset,
            duo: c.duo,
            start_levels: c.start_level_min..=c.start_level_max,
            max_rooms: c.max_rooms as usize,
            max_connections: c.max_connections as usize,
            grace: Duration::from_secs(u64::from(c.reconnect_grace_seconds)),
            drain: Duration::from_secs(u64::from(c.drain_seconds)),
            waiting_timeout: WAITING_TIMEOUT,
            rules_version: crate::rules::RULES_VERSION,
        }
    }
}

#[derive(Default)]
struct Registry {
    rooms: HashMap<String, Arc<Room>>,
    tokens: HashMap<String, (Arc<Room>, u8)>,
    /// Public rooms waiting for a quick-match opponent, oldest first.
    quick: VecDeque<Arc<Room>>,
}

/// Shared state of the duo side of the server.
pub struct Hub {
    /// Settings.
    pub cfg: HubConfig,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Issues each seat's duo ticket.
    pub tickets: Arc<Tickets>,
    /// Where the server records duo results (`None` in unit tests without a database).
    scores: Option<Arc<Scoreboard>>,
    registry: Mutex<Registry>,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    watchers: Mutex<HashMap<u64, Arc<Conn>>>,
    boards: watch::Receiver<Arc<Boards>>,
    open_conns: AtomicUsize,
    next_conn: AtomicU64,
    draining: AtomicBool,
    /// Matches running now, plus connections relayed to another replica's room; the drain waits
    /// for zero.
    playing: watch::Sender<usize>,
    /// `ip:port` where the other replicas reach this server's rooms (`TETRIS_POD_IP` and the
    /// bound port), set once the listener is bound; unset, rooms are not shared.
    home: std::sync::OnceLock<String>,
}

impl Hub {
    /// An empty hub.
    pub fn new(
        cfg: HubConfig,
        metrics: Arc<Metrics>,
        tickets: Arc<Tickets>,
        boards: watch::Receiver<Arc<Boards>>,
        scores: Option<Arc<Scoreboard>>,
    ) -> Self {
        Hub {
            cfg,
            metrics,
            tickets,
            scores,
            registry: Mutex::default(),
            conns: Mutex::default(),
            watchers: Mutex::default(),
            boards,
            open_conns: AtomicUsize::new(0),
            next_conn: AtomicU64::new(1),
            draining: AtomicBool::new(false),
            playing: watch::Sender::new(0),
            home: std::sync::OnceLock::new(),
        }
    }

    /// Shares this server's rooms with the other replicas at `home` (`ip:port`), when the
    /// scoreboard keeps a room registry. Forgets rows a previous process at `home` left behind.
    pub async fn share_rooms_at(&self, home: String) {
        let Some(scores) = self.scores.as_ref().filter(|s| s.shares_rooms()) else { return };
        scores.forget_home(&home).await;
        let _ = self.home.set(home);
    }

    /// The registry and this server's address in it, when rooms are shared across replicas.
    pub fn shared(&self) -> Option<(&Arc<Scoreboard>, &str)> {
        Some((self.scores.as_ref()?, self.home.get()?.as_str()))
    }

    /// Runs a registry update in the background (room operations hold locks and never await).
    fn in_registry(
        &self,
        update: impl FnOnce(Arc<Scoreboard>, String) -> futures::future::BoxFuture<'static, ()>,
    ) {
        if let Some((scores, home)) = self.shared()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(update(scores.clone(), home.to_owned()));
        }
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // A panic while holding the lock cannot leave the maps half-updated in a way later code
        // relies on (each update is a single insert or remove), so a poisoned lock is still usable.
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves a connection slot; `None` when `max_connections` are open.
    pub fn admit(self: &Arc<Self>) -> Option<Admission> {
        let admitted = self
            .open_conns
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.cfg.max_connections).then_some(n + 1)
            })
            .is_ok();
        admitted.then(|| {
            self.metrics.players_online.inc();
            Admission { hub: self.clone() }
        })
    }

    /// A new connection id.
    pub fn next_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Starts tracking `conn` (for drain messages and the final close).
    pub fn register(&self, conn: Arc<Conn>) {
        lock(&self.conns).insert(conn.id, conn);
    }

    /// Stops tracking connection `id`.
    pub fn unregister(&self, id: u64) {
        lock(&self.conns).remove(&id);
        lock(&self.watchers).remove(&id);
    }

    /// Whether SIGTERM was received.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Subscribes `conn` to scoreboard pushes and sends it the current tables.
    pub fn watch_scores(&self, conn: &Arc<Conn>) {
        // Under the watchers lock, like `push_scores`, so a snapshot never overtakes a newer push.
        let mut watchers = lock(&self.watchers);
        watchers.insert(conn.id, conn.clone());
        conn.send(self.boards.borrow().ws_json.clone());
    }

    /// Unsubscribes connection `id` from scoreboard pushes.
    pub fn unwatch_scores(&self, id: u64) {
        lock(&self.watchers).remove(&id);
    }

    /// Sends the current tables to every watcher.
    pub fn push_scores(&self) {
        let watchers = lock(&self.watchers);
        let text = self.boards.borrow().ws_json.clone();
        for conn in watchers.values() {
            conn.send(text.clone());
        }
        self.metrics.messages_out(watchers.len() as u64);
    }

    /// Opens a room with `first` in seat 0 and tells them (`room_joined`, or `queued` for a public
    /// room, which also enters the quick-match queue). Starts the room's waiting timeout, so it must
    /// run inside the Tokio runtime.
    pub fn create_room(
        self: &Arc<Self>,
        mut first: Seat,
        start_level: u8,
        public: bool,
    ) -> Result<Arc<Room>, Refusal> {
        let mut reg = self.registry();
        // Checked under the registry lock: `start_drain` sets the flag before it lists the rooms
        // under this lock, so a room is either refused here or seen (and closed) by the drain.
        if self.is_draining() {
            return Err(Refusal::new("draining", "the server is restarting; no new rooms"));
        }
        if reg.rooms.len() >= self.cfg.max_rooms {
            self.metrics.error("room_limit");
            return Err(Refusal::new("room_limit", "all rooms are taken; try again later"));
        }
        let code = loop {
            let code = random_code();
            if !reg.rooms.contains_key(&code) {
                break code;
            }
        };
        first.token = seat_token(&code, &first.token);
        let token = first.token.clone();
        let room = Arc::new(Room::new(code.clone(), public, start_level, first));
        // Told before the room is visible, so this always arrives before a quick-match pairing.
        room.greet_creator();
        reg.rooms.insert(code, room.clone());
        reg.tokens.insert(token, (room.clone(), 0));
        if public {
            reg.quick.push_back(room.clone());
        }
        self.metrics.rooms.inc();
        drop(reg);
        let code = room.code.clone();
        self.in_registry(move |scores, home| {
            Box::pin(async move { scores.register_room(&code, &home, public).await })
        });
        room.expire_if_idle(self);
        Ok(room)
    }

    /// The private room with `code`, if open.
    pub fn find_private(&self, code: &str) -> Option<Arc<Room>> {
        self.registry().rooms.get(code).filter(|r| !r.public).cloned()
    }

    /// The room with `code`, private or (for a connection another replica forwards from its
    /// quick match) public.
    pub fn find_any(&self, code: &str) -> Option<Arc<Room>> {
        self.registry().rooms.get(code).cloned()
    }

    /// Whether a public room waits for an opponent here.
    pub fn has_waiting_quick(&self) -> bool {
        self.registry().quick.iter().any(|r| r.is_waiting())
    }

    /// Takes the oldest public room still waiting for an opponent out of the queue (and out of
    /// the shared registry, so no other replica sends a second opponent).
    pub fn pop_quick(&self) -> Option<Arc<Room>> {
        let mut reg = self.registry();
        while let Some(room) = reg.quick.pop_front() {
            if room.is_waiting() {
                drop(reg);
                let code = room.code.clone();
                self.in_registry(move |scores, _| Box::pin(async move { scores.forget_room(&code).await }));
                return Some(room);
            }
        }
        None
    }

    /// Puts a public room back at the front of the queue (its pairing attempt failed on our side).
    pub fn requeue(&self, room: Arc<Room>) {
        if room.is_waiting() {
            self.registry().quick.push_front(room);
        }
    }

    /// Remembers `token` for `seat` of `room`, unless the room has closed already.
    ///
    /// `Room::join` calls this after releasing the room lock (the lock order is registry, then room),
    /// so the room may have closed and been forgotten in between; inserting then would keep the
    /// token, and the room through it, in the registry forever. The check happens under the registry
    /// lock, and a room is marked closed before `forget_room` takes that lock, so either this sees the
    /// room closed or `forget_room` runs after it and removes the token.
    pub fn add_token(&self, token: String, room: &Arc<Room>, seat: u8) {
        let mut reg = self.registry();
        if !room.is_closed() {
            reg.tokens.insert(token, (room.clone(), seat));
        }
    }

    /// Rooms open now (waiting, playing or finished).
    pub fn rooms(&self) -> usize {
        self.registry().rooms.len()
    }

    /// Resume tokens held now (bounded by two per open room).
    pub fn tokens(&self) -> usize {
        self.registry().tokens.len()
    }

    /// The room and seat a resume token belongs to.
    pub fn lookup_token(&self, token: &str) -> Option<(Arc<Room>, u8)> {
        self.registry().tokens.get(token).cloned()
    }

    /// Drops a closed room and its tokens (called once, by whoever closed it).
    pub fn forget_room(&self, code: &str, tokens: Vec<String>) {
        let mut reg = self.registry();
        if reg.rooms.remove(code).is_some() {
            self.metrics.rooms.dec();
            let code = code.to_owned();
            self.in_registry(move |scores, _| Box::pin(async move { scores.forget_room(&code).await }));
        }
        for t in tokens {
            reg.tokens.remove(&t);
        }
        reg.quick.retain(|r| r.code != code);
    }

    /// Stores a duo result from the server's replay of the seat's game (ticket `game_id`, player
    /// `name`, input log `log`). Runs in the background: the room lock is held here, and the
    /// scoreboard acknowledges only after its commit.
    pub fn record_duo(&self, game_id: Option<&str>, name: &str, game: &crate::rules::Game, log: String) {
        let (Some(scores), Some(ticket)) =
            (&self.scores, game_id.and_then(|id| self.tickets.verify(id).ok()))
        else {
            return;
        };
        let report = crate::plausibility::Report {
            score: u32::try_from(game.score).unwrap_or(u32::MAX),
            lines: game.lines,
            level: game.level,
            pieces: game.pieces,
            duration_ms: crate::verify::frames_to_ms(game.frame),
        };
        let submission = Submission { ticket, name: name.to_owned(), report, input_log: Some(log) };
        let (scores, metrics) = (scores.clone(), self.metrics.clone());
        tokio::spawn(async move {
            match scores.submit(submission).await {
                Ok(_) => {
                    metrics.scores_accepted.get_or_create(&[("mode", "duo")]).inc();
                }
                Err(e) => tracing::warn!(error = %e, "a duo result could not be stored"),
            }
        });
    }

    /// Counts a match that started.
    pub fn match_started(&self) {
        self.playing.send_modify(|n| *n += 1);
        self.metrics.matches_playing.inc();
        self.metrics.games_started.get_or_create(&[("mode", "duo")]).inc();
    }

    /// Counts a match that ended, and why.
    pub fn match_finished(&self, reason: crate::rooms::EndReason) {
        self.playing.send_modify(|n| *n = n.saturating_sub(1));
        self.metrics.matches_playing.dec();
        self.metrics.games_finished.get_or_create(&[("mode", "duo")]).inc();
        if reason.aborted() {
            self.metrics.matches_aborted.get_or_create(&[("reason", reason.as_str())]).inc();
        }
    }

    /// Counts a connection relayed to another replica's room (the drain waits for it as for a match).
    pub fn relay_started(&self) {
        self.playing.send_modify(|n| *n += 1);
    }

    /// Counts a relayed connection that ended.
    pub fn relay_finished(&self) {
        self.playing.send_modify(|n| *n = n.saturating_sub(1));
    }

    /// Matches running now.
    pub fn matches_playing(&self) -> usize {
        *self.playing.borrow()
    }

    /// Waits until no match is running.
    pub async fn no_matches(&self) {
        let mut rx = self.playing.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Open WebSocket connections.
    pub fn connections(&self) -> usize {
        self.open_conns.load(Ordering::Acquire)
    }

    fn all_rooms(&self) -> Vec<Arc<Room>> {
        self.registry().rooms.values().cloned().collect()
    }

    /// SIGTERM: refuse new rooms, tell everyone, and close rooms that have no match running.
    pub fn start_drain(&self) {
        if self.draining.swap(true, Ordering::AcqRel) {
            return;
        }
        self.metrics.draining.set(1);
        let seconds = u32::try_from(self.cfg.drain.as_secs()).unwrap_or(u32::MAX);
        let text = Utf8Bytes::from(ServerMsg::Draining { seconds }.to_json());
        for conn in lock(&self.conns).values() {
            conn.send(text.clone());
        }
        for room in self.all_rooms() {
            room.close_if_idle(self, "server_shutdown");
        }
    }

    /// Drain limit or end of drain: end every match, close every socket with 1001.
    pub fn end_drain(&self) {
        for room in self.all_rooms() {
            room.shut_down(self);
        }
        for conn in lock(&self.conns).values() {
            conn.close((CLOSE_GOING_AWAY, "server shutting down"));
        }
    }
}

/// A reserved connection slot, released on drop.
pub struct Admission {
    hub: Arc<Hub>,
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.hub.open_conns.fetch_sub(1, Ordering::AcqRel);
        self.hub.metrics.players_online.dec();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A fresh room code.
pub fn random_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN).map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char).collect()
}

/// A fresh resume token (128 random bits, hex).
pub fn random_token() -> String {
    crate::games::hex(&rand::random::<[u8; 16]>())
}

/// The resume token of a seat in room `code`: the code, then the seat's random part. The code lets
/// any replica find the room's home when the player reconnects elsewhere (`forward.rs`); the random
/// part is the secret.
pub fn seat_token(code: &str, random: &str) -> String {
    format!("{code}{random}")
}

/// The room code a resume token starts with, if it has one.
pub fn code_of_token(token: &str) -> Option<&str> {
    let code = token.get(..CODE_LEN)?;
    (token.len() > CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

/// Upper-cases and checks a code typed by a player.
pub fn normalize_code(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_uppercase();
    (code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::scoreboard::Boards;

    /// A hub with the default settings and an empty scoreboard (shared with the rooms' tests).
    pub(crate) fn hub() -> Arc<Hub> {
        let (_tx, boards) = watch::channel(Arc::new(Boards::new(Ruleset::Classic, Default::default())));
        Arc::new(Hub::new(
            HubConfig::from(&GameConfig::default()),
            Arc::new(Metrics::new()),
            Arc::new(Tickets::new([1; crate::games::KEY_BYTES])),
            boards,
            None,
        ))
    }

    /// Regression: `Room::join` registers the joiner's token after releasing the room lock; when the
    /// room closed in that gap (the creator left), the token was inserted after `forget_room` had run
    /// and stayed in the registry for good, keeping the closed room alive with it.
    #[tokio::test]
    async fn a_token_for_a_room_that_closed_meanwhile_is_not_kept() {
        let hub = hub();
        let creator = Arc::new(Conn::new(1));
        let room = hub.create_room(Seat::new("ada".into(), creator), 0, false).expect("room");
        assert_eq!(hub.tokens(), 1);
        room.leave(&hub, 0, 1).expect("creator leaves");
        assert_eq!(hub.tokens(), 0);
        hub.add_token("late".into(), &room, 1);
        assert_eq!(hub.tokens(), 0, "a closed room's token must not be registered");
        assert!(hub.lookup_token("late").is_none());
    }

    /// Regression: the draining check happened only in the session, before `create_room` took the
    /// registry lock, so a room created while `start_drain` ran was missed by it and kept waiting
    /// for an opponent who could no longer join until the drain limit.
    #[tokio::test]
    async fn no_room_is_created_once_the_drain_started() {
        let hub = hub();
        hub.start_drain();
        let refused = hub.create_room(Seat::new("ada".into(), Arc::new(Conn::new(1))), 0, true);
        assert_eq!(refused.err().map(|r| r.code), Some("draining"));
        assert_eq!(hub.tokens(), 0);
    }
}
