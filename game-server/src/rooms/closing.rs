//! How rooms end or survive a dropped player: leave, disconnect with grace, resume, drain, close.
//! (A child module of `rooms`, so it works on the room's private state directly.)

use super::{Inner, NOT_IN_ROOM, Phase, Room, other, owns, text};
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
        let tokens = self.close(hub, &mut g, Some(other(seat)), "opponent_left", reasons);
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
                "opponent_disconnected",
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
        let tokens =
            self.close(hub, &mut g, Some(other(seat)), "opponent_disconnected", ["opponent_disconnected"; 2]);
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
            game_id: me.and_then(|m| m.game_id.as_deref()),
            you: me.and_then(|m| m.state.as_ref()),
            opponent_state: opp.and_then(|o| o.state.as_ref()),
        };
        conn.send(text(ServerMsg::Resumed(Box::new(snapshot))));
        if was_away && let Some(opp) = opp {
            opp.send(&text(ServerMsg::OpponentReconnected {}));
        }
        Ok(())
    }

    /// Drain start: closes the room unless a match is running in it.
    pub fn close_if_idle(&self, hub: &Hub, reason: &'static str) {
        let mut g = self.lock();
        if matches!(g.phase, Phase::Waiting | Phase::Finished) {
            let tokens = self.close(hub, &mut g, None, reason, [reason; 2]);
            drop(g);
            self.forget(hub, tokens);
        }
    }

    /// Drain end: ends any running match without a winner and closes the room.
    pub fn shut_down(&self, hub: &Hub) {
        let mut g = self.lock();
        if g.phase != Phase::Closed {
            let tokens = self.close(hub, &mut g, None, "server_shutdown", ["server_shutdown"; 2]);
            drop(g);
            self.forget(hub, tokens);
        }
    }

    pub(super) fn close_if_draining(&self, hub: &Hub, g: &mut Inner) -> Vec<String> {
        if hub.is_draining() {
            self.close(hub, g, None, "server_shutdown", ["server_shutdown"; 2])
        } else {
            Vec::new()
        }
    }

    /// Ends the match if one runs (`winner`, `end_reason`), tells each seat `room_closed` with its
    /// reason, and marks the room closed. Returns the tokens to forget once the lock is released.
    pub(super) fn close(
        &self,
        hub: &Hub,
        g: &mut Inner,
        winner: Option<u8>,
        end_reason: &'static str,
        reasons: [&'static str; 2],
    ) -> Vec<String> {
        if g.phase == Phase::Playing {
            self.finish(hub, g, winner, end_reason);
        }
        g.phase = Phase::Closed;
        let mut tokens = Vec::with_capacity(2);
        for (s, reason) in g.seats.iter().zip(reasons) {
            if let Some(s) = s {
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
