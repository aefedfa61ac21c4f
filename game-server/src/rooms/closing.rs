//! How rooms end or survive a dropped player: leave, disconnect with grace, resume, idle timeout
//! (waiting for a second player or for a rematch), drain, close.
//! (A child module of `rooms`, so it works on the room's private state directly.)

use super::{EndReason, Inner, NOT_IN_ROOM, Phase, Room, other, owns, text};
use crate::hub::Hub;
use crate::outbox::{CLOSE_RESUMED_ELSEWHERE, Conn};
use crate::protocol::{Refusal, ResumedSnapshot, ServerMsg};
use axum::extract::ws::Utf8Bytes;
use std::sync::Arc;

impl Room {
    /// `seat` leaves: the room ends for both.
    pub fn leave(&self, hub: &Hub, seat: u8, conn_id: u64) -> Result<(), Refusal> {
        let mut g = self.lock();
        if !owns(&g, seat, conn_id) || g.phase == Phase::Closed {
            return Err(NOT_IN_ROOM);
        }
        let mut reasons = ["opponent_left"; 2];
        reasons[usize::from(seat)] = "left";
        let tokens = self.close(hub, &mut g, Some(other(seat)), Some(EndReason::OpponentLeft), reasons);
        drop(g);
        self.forget(hub, tokens);
        Ok(())
    }

    /// The connection holding `seat` dropped: keep the seat for the grace period, or end the room.
    pub fn disconnect(self: &Arc<Self>, hub: &Arc<Hub>, seat: u8, conn_id: u64) {
        let mut g = self.lock();
        if g.phase == Phase::Closed || !owns(&g, seat, conn_id) {
            return; // already closed, or the seat moved to a newer connection
        }
        let grace = hub.cfg.grace;
        if grace.is_zero() || (self.public && g.phase == Phase::Waiting) {
            let tokens = self.close(
                hub,
                &mut g,
                Some(other(seat)),
                Some(EndReason::OpponentDisconnected),
                ["opponent_disconnected"; 2],
            );
            drop(g);
            self.forget(hub, tokens);
            return;
        }
        let Some(me) = g.seats[usize::from(seat)].as_mut() else { return };
        me.conn = None;
        me.away_gen += 1;
        let generation = me.away_gen;
        let grace_seconds = u32::try_from(grace.as_secs()).unwrap_or(u32::MAX);
        if let Some(opp) = &g.seats[usize::from(other(seat))] {
            opp.send(&text(ServerMsg::OpponentDisconnected { grace_seconds }));
        }
        drop(g);
        let (room, hub) = (self.clone(), hub.clone());
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            room.grace_expired(&hub, seat, generation);
        });
    }

    fn grace_expired(&self, hub: &Hub, seat: u8, generation: u64) {
        let mut g = self.lock();
        let still_away =
            g.seats[usize::from(seat)].as_ref().is_some_and(|s| s.conn.is_none() && s.away_gen == generation);
        if g.phase == Phase::Closed || !still_away {
            return;
        }
        let tokens = self.close(
            hub,
            &mut g,
            Some(other(seat)),
            Some(EndReason::OpponentDisconnected),
            ["opponent_disconnected"; 2],
        );
        drop(g);
        self.forget(hub, tokens);
    }

    /// Moves `seat` to `conn` (a reconnect with the seat's token). `welcome` is queued first so the
    /// client sees it before any message of the room.
    pub fn resume(
        &self,
        hub: &Hub,
        seat: u8,
        token: &str,
        conn: &Arc<Conn>,
        welcome: Utf8Bytes,
    ) -> Result<(), Refusal> {
        let mut g = self.lock();
        let valid =
            g.phase != Phase::Closed && g.seats[usize::from(seat)].as_ref().is_some_and(|s| s.token == token);
        if !valid {
            return Err(Refusal::new("bad_resume_token", "that seat is no longer available"));
        }
        let Some(me) = g.seats[usize::from(seat)].as_mut() else { return Err(NOT_IN_ROOM) };
        let old = me.conn.replace(conn.clone());
        me.away_gen += 1;
        let was_away = old.is_none();
        if let Some(old) = old.filter(|o| o.id != conn.id) {
            old.close((CLOSE_RESUMED_ELSEWHERE, "resumed elsewhere"));
        }
        conn.send(welcome);
        let me = g.seats[usize::from(seat)].as_ref();
        let opp = g.seats[usize::from(other(seat))].as_ref();
        let started = g.match_no > 0;
        let snapshot = ResumedSnapshot {
            code: &self.code,
            seat,
            phase: g.phase.as_str(),
            paused: g.paused,
            opponent: opp.map(|o| o.name.as_str()),
            match_no: started.then_some(g.match_no),
            seed: started.then_some(g.seed),
            start_level: g.start_level,
            ruleset: hub.cfg.ruleset.as_str(),
            rules: hub.cfg.rules_version,
            game_id: me.and_then(|m| m.game_id.as_deref()),
            replayed: g.plays[usize::from(seat)].received(),
            you: me.and_then(|m| m.state.as_ref()),
            opponent_state: opp.and_then(|o| o.state.as_ref()),
        };
        conn.send(text(ServerMsg::Resumed(Box::new(snapshot))));
        if was_away && let Some(opp) = opp {
            opp.send(&text(ServerMsg::OpponentReconnected {}));
        }
        Ok(())
    }

    /// Starts the idle timeout of the phase the room is in: unless a second player joins (phase
    /// `Waiting`) or a rematch starts (phase `Finished`) within `hub.cfg.waiting_timeout`, the room
    /// closes with `room_closed` and reason `waiting_timeout` or `rematch_timeout`. So a tab left
    /// open on the waiting or the result screen gives its `TETRIS_MAX_ROOMS` slot back.
    pub(crate) fn expire_if_idle(self: &Arc<Self>, hub: &Arc<Hub>) {
        let mut g = self.lock();
        // The room is already in the registry, so it may have been joined, rematched or closed.
        let (phase, match_no) = (g.phase, g.match_no);
        if !matches!(phase, Phase::Waiting | Phase::Finished) {
            return;
        }
        let timeout = hub.cfg.waiting_timeout;
        let (room, hub) = (self.clone(), hub.clone());
        let timer = tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            room.idle_expired(&hub, phase, match_no);
        });
        if let Some(earlier) = g.idle_timer.replace(timer.abort_handle()) {
            earlier.abort();
        }
    }

    fn idle_expired(&self, hub: &Hub, phase: Phase, match_no: u32) {
        let mut g = self.lock();
        // Joined, rematched or closed meanwhile (the timer was stopped, but may have fired just
        // before).
        if g.phase != phase || g.match_no != match_no {
            return;
        }
        g.idle_timer = None;
        let reason = if phase == Phase::Waiting { "waiting_timeout" } else { "rematch_timeout" };
        // No match runs in the Waiting and Finished phases, so none ends here.
        let tokens = self.close(hub, &mut g, None, None, [reason; 2]);
        drop(g);
        self.forget(hub, tokens);
    }

    /// Drain start: closes the room unless a match is running in it.
    pub fn close_if_idle(&self, hub: &Hub, reason: &'static str) {
        let mut g = self.lock();
        if matches!(g.phase, Phase::Waiting | Phase::Finished) {
            let tokens = self.close(hub, &mut g, None, None, [reason; 2]);
            drop(g);
            self.forget(hub, tokens);
        }
    }

    /// Drain end: ends any running match without a winner and closes the room.
    pub fn shut_down(&self, hub: &Hub) {
        let mut g = self.lock();
        if g.phase != Phase::Closed {
            let tokens =
                self.close(hub, &mut g, None, Some(EndReason::ServerShutdown), ["server_shutdown"; 2]);
            drop(g);
            self.forget(hub, tokens);
        }
    }

    pub(super) fn close_if_draining(&self, hub: &Hub, g: &mut Inner) -> Vec<String> {
        if hub.is_draining() {
            self.close(hub, g, None, Some(EndReason::ServerShutdown), ["server_shutdown"; 2])
        } else {
            Vec::new()
        }
    }

    /// Ends the match if one runs (`winner`, `end`), tells each seat `room_closed` with its
    /// reason, and marks the room closed. Returns the tokens to forget once the lock is released.
    /// `end` is `None` only where no match can run (the idle closes of the Waiting and Finished
    /// phases); a running match would then count as ended by the server.
    pub(super) fn close(
        &self,
        hub: &Hub,
        g: &mut Inner,
        winner: Option<u8>,
        end: Option<EndReason>,
        reasons: [&'static str; 2],
    ) -> Vec<String> {
        if g.phase == Phase::Playing {
            self.finish(hub, g, winner, end.unwrap_or(EndReason::ServerShutdown));
        }
        g.phase = Phase::Closed;
        if let Some(timer) = g.idle_timer.take() {
            timer.abort();
        }
        let mut tokens = Vec::with_capacity(2);
        for (s, reason) in g.seats.iter_mut().zip(reasons) {
            if let Some(s) = s {
                s.slot = None;
                s.send(&text(ServerMsg::RoomClosed { reason }));
                tokens.push(s.token.clone());
            }
        }
        tokens
    }

    /// Removes the room from the hub after [`Room::close`] (which always returns its seats' tokens).
    pub(super) fn forget(&self, hub: &Hub, tokens: Vec<String>) {
        if !tokens.is_empty() {
            hub.forget_room(&self.code, tokens);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::hub::tests::hub;
    use crate::hub::{Hub, WAITING_TIMEOUT};
    use crate::matchmaking::quick_match;
    use crate::outbox::Conn;
    use crate::rooms::Seat;
    use std::sync::Arc;
    use std::time::Duration;

    /// Every message queued for `conn` so far, as JSON.
    fn received(conn: &Conn) -> Vec<serde_json::Value> {
        std::iter::from_fn(|| conn.pop().0)
            .map(|t| serde_json::from_str(t.as_str()).expect("server messages are JSON"))
            .collect()
    }

    fn types(messages: &[serde_json::Value]) -> Vec<&str> {
        messages.iter().filter_map(|m| m["type"].as_str()).collect()
    }

    async fn past_the_waiting_timeout() {
        tokio::time::sleep(WAITING_TIMEOUT + Duration::from_secs(1)).await;
    }

    /// `conn`'s last message is `room_closed` with `reason`, and the hub holds no room nor token.
    fn assert_closed_with(hub: &Hub, conn: &Conn, reason: &str) {
        let messages = received(conn);
        let last = messages.last().expect("a message");
        assert_eq!((last["type"].as_str(), last["reason"].as_str()), (Some("room_closed"), Some(reason)));
        assert_eq!((hub.rooms(), hub.tokens()), (0, 0), "the room and its tokens are gone");
    }

    #[tokio::test(start_paused = true)]
    async fn a_private_room_nobody_joins_closes_after_the_waiting_timeout() {
        let hub = hub();
        let ada = Arc::new(Conn::new(1));
        let room = hub.create_room(Seat::new("ada".into(), ada.clone()), 0, false).expect("room");
        assert_eq!(types(&received(&ada)), ["room_joined"]);
        tokio::time::sleep(WAITING_TIMEOUT - Duration::from_secs(1)).await;
        assert!(room.is_waiting(), "still waiting just before the timeout");
        assert_eq!(hub.rooms(), 1);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(room.is_closed());
        assert_closed_with(&hub, &ada, "waiting_timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn a_quick_match_wait_ends_after_the_waiting_timeout_and_leaves_the_queue() {
        let hub = hub();
        let ada = Arc::new(Conn::new(1));
        let (_room, seat) = quick_match(&hub, &ada, Seat::new("ada".into(), ada.clone()), 0).expect("queued");
        assert_eq!(seat, 0);
        past_the_waiting_timeout().await;
        assert_closed_with(&hub, &ada, "waiting_timeout");
        assert!(hub.pop_quick().is_none(), "the closed room left the quick-match queue");
    }

    /// A room where ada (conn 1) and bob (conn 2) played one classic match: both topped out,
    /// ada last (scores tie at 0 without inputs, and a tie goes to the one who lasted longer).
    fn finished_room(hub: &Arc<Hub>) -> (Arc<crate::rooms::Room>, Arc<Conn>, Arc<Conn>) {
        let ada = Arc::new(Conn::new(1));
        let bob = Arc::new(Conn::new(2));
        let room = hub.create_room(Seat::new("ada".into(), ada.clone()), 0, false).expect("room");
        room.join(hub, &bob, "bob".into()).expect("bob joins");
        both_top_out(hub, &room, &ada, &bob);
        (room, ada, bob)
    }

    fn both_top_out(hub: &Arc<Hub>, room: &Arc<crate::rooms::Room>, ada: &Conn, bob: &Conn) {
        room.game_over(hub, 1, bob.id).expect("bob tops out");
        room.game_over(hub, 0, ada.id).expect("ada tops out last (a tie goes to her)");
    }

    #[tokio::test(start_paused = true)]
    async fn a_finished_room_without_a_rematch_closes_after_the_timeout() {
        let hub = hub();
        let (room, ada, bob) = finished_room(&hub);
        tokio::time::sleep(WAITING_TIMEOUT - Duration::from_secs(1)).await;
        assert!(!room.is_closed(), "still open just before the timeout");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert!(room.is_closed());
        for conn in [&ada, &bob] {
            assert_closed_with(&hub, conn, "rematch_timeout");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_rematch_stops_the_timeout_and_the_next_result_screen_gets_a_full_one() {
        let hub = hub();
        let (room, ada, bob) = finished_room(&hub);
        tokio::time::sleep(WAITING_TIMEOUT / 2).await;
        room.rematch(&hub, 0, ada.id).expect("ada asks");
        room.rematch(&hub, 1, bob.id).expect("bob asks: match 2 starts");
        tokio::time::sleep(WAITING_TIMEOUT / 4).await;
        both_top_out(&hub, &room, &ada, &bob);
        // Past the first result screen's timeout, but not the second's.
        tokio::time::sleep(WAITING_TIMEOUT / 2).await;
        assert!(!room.is_closed(), "the first timer must not close the room after the rematch");
        past_the_waiting_timeout().await;
        assert!(room.is_closed());
    }

    #[tokio::test(start_paused = true)]
    async fn a_room_that_was_joined_is_not_closed_by_the_waiting_timeout() {
        let hub = hub();
        let ada = Arc::new(Conn::new(1));
        let bob = Arc::new(Conn::new(2));
        let room = hub.create_room(Seat::new("ada".into(), ada.clone()), 0, false).expect("room");
        room.join(&hub, &bob, "bob".into()).expect("bob joins");
        past_the_waiting_timeout().await;
        assert!(!room.is_closed());
        assert_eq!(hub.rooms(), 1);
        assert!(!types(&received(&ada)).contains(&"room_closed"));
    }
}
