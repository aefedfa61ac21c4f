//! Prometheus metrics (`GET /metrics`): players online, rooms, games, scores, messages, errors.
//!
//! Everything is an atomic counter or gauge from `prometheus-client`, so recording is lock-free on
//! the hot relay path; label sets are small fixed arrays of `&'static str` (no allocation per event).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = [(&'static str, &'static str); 1];

/// Every metric the server exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Open WebSocket connections.
    pub players_online: Gauge,
    /// Open duo rooms (waiting, playing or finished).
    pub rooms: Gauge,
    /// Duo matches running now.
    pub matches_playing: Gauge,
    /// Games issued: solo tickets and duo matches.
    pub games_started: Family<Labels, Counter>,
    /// Games finished: solo scores accepted and duo matches ended.
    pub games_finished: Family<Labels, Counter>,
    /// Scores accepted, by mode.
    pub scores_accepted: Family<Labels, Counter>,
    /// Scores rejected, by reason (the error code).
    pub scores_rejected: Family<Labels, Counter>,
    /// WebSocket messages, by direction (`in`, `out`).
    pub ws_messages: Family<Labels, Counter>,
    /// Errors answered to clients, by code.
    pub errors: Family<Labels, Counter>,
    /// Duo matches cut short by the server's side (drain deadline, a peer lost), by reason; not
    /// those ended by the game (topped out, score) or by a player leaving. A canary's analysis
    /// reads it, so a version that cuts matches is rolled back.
    pub matches_aborted: Family<Labels, Counter>,
    /// 1 while draining after SIGTERM.
    pub draining: Gauge,
    // The two hot counters, resolved once so the relay path skips the family's lookup lock.
    ws_in: Counter,
    ws_out: Counter,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tetris");
        let m = Metrics {
            players_online: Gauge::default(),
            rooms: Gauge::default(),
            matches_playing: Gauge::default(),
            games_started: Family::default(),
            games_finished: Family::default(),
            scores_accepted: Family::default(),
            scores_rejected: Family::default(),
            ws_messages: Family::default(),
            errors: Family::default(),
            matches_aborted: Family::default(),
            draining: Gauge::default(),
            registry: Registry::default(),
            ws_in: Counter::default(),
            ws_out: Counter::default(),
        };
        // Series exist at 0 from the start, so rates and alerts work before the first event.
        for mode in ["solo", "duo"] {
            let _ = m.games_started.get_or_create(&[("mode", mode)]);
            let _ = m.games_finished.get_or_create(&[("mode", mode)]);
            let _ = m.scores_accepted.get_or_create(&[("mode", mode)]);
        }
        for reason in crate::rooms::EndReason::ABORTING {
            let _ = m.matches_aborted.get_or_create(&[("reason", reason.as_str())]);
        }
        let ws_in = m.ws_messages.get_or_create(&[("direction", "in")]).clone();
        let ws_out = m.ws_messages.get_or_create(&[("direction", "out")]).clone();
        registry.register("players_online", "Open WebSocket connections", m.players_online.clone());
        registry.register("rooms", "Open duo rooms", m.rooms.clone());
        registry.register("matches_playing", "Duo matches running now", m.matches_playing.clone());
        registry.register(
            "games_started",
            "Games issued (solo tickets, duo matches)",
            m.games_started.clone(),
        );
        registry.register(
            "games_finished",
            "Games finished (solo scores, duo matches)",
            m.games_finished.clone(),
        );
        registry.register("scores_accepted", "Scores accepted", m.scores_accepted.clone());
        registry.register("scores_rejected", "Scores rejected, by reason", m.scores_rejected.clone());
        registry.register("ws_messages", "WebSocket messages, by direction", m.ws_messages.clone());
        registry.register("errors", "Errors answered to clients, by code", m.errors.clone());
        registry.register(
            "matches_aborted",
            "Duo matches cut short by the server (drain deadline, peer lost), by reason",
            m.matches_aborted.clone(),
        );
        registry.register("draining", "1 while draining after SIGTERM", m.draining.clone());
        Metrics { registry, ws_in, ws_out, ..m }
    }

    /// Counts one error answered with `code`.
    pub fn error(&self, code: &'static str) {
        self.errors.get_or_create(&[("code", code)]).inc();
    }

    /// Counts one WebSocket message received.
    pub fn message_in(&self) {
        self.ws_in.inc();
    }

    /// Counts `n` WebSocket messages sent.
    pub fn messages_out(&self, n: u64) {
        self.ws_out.inc_by(n);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
