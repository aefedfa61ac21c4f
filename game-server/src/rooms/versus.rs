//! The referee's rules for a match that do not depend on sockets: who may pause and unpause, and
//! who wins a classic match. Pure functions over small values, so each rule has a unit test.
//!
//! - Quick match has no pause (two strangers; a pause would only be a way to stall). A private room
//!   gives each player [`PAUSES_PER_MATCH`] pauses per match. Only the player who paused may resume
//!   for the first [`PAUSE_TAKEOVER`]; after that either may, so a pause cannot hold the other
//!   player hostage.
//! - Modern: the first to top out loses (garbage is the weapon). Classic has no garbage, so topping
//!   out first is not a loss by itself: the survivor plays on, wins as soon as their score passes
//!   the other's final score, and if they top out too the higher score wins (a tie goes to the one
//!   who lasted longer). So stalling near the top cannot beat a player with more points.

use crate::protocol::Refusal;
use std::time::Duration;

/// Pauses each player may take in one match of a private room.
pub const PAUSES_PER_MATCH: u8 = 3;
/// How long only the pausing player may resume.
pub const PAUSE_TAKEOVER: Duration = Duration::from_secs(30);

/// Refusal code for every pause rule (see `PROTOCOL.md`).
const CODE: &str = "pause_not_allowed";

/// Whether `seat` may pause now: `public` room, `pauses_left` for that seat, a seat already out.
pub fn may_pause(public: bool, pauses_left: u8, someone_out: bool) -> Result<(), Refusal> {
    if public {
        return Err(Refusal::new(CODE, "quick matches have no pause"));
    }
    if someone_out {
        return Err(Refusal::new(CODE, "a player is out: the match cannot be paused"));
    }
    if pauses_left == 0 {
        return Err(Refusal::with(CODE, format!("no pauses left: {PAUSES_PER_MATCH} per player per match")));
    }
    Ok(())
}

/// Whether `seat` may end a pause that `paused_by` started `elapsed` ago.
pub fn may_unpause(seat: u8, paused_by: u8, elapsed: Duration) -> Result<(), Refusal> {
    if seat != paused_by && elapsed < PAUSE_TAKEOVER {
        return Err(Refusal::with(
            CODE,
            format!("only the player who paused can resume during the first {} s", PAUSE_TAKEOVER.as_secs()),
        ));
    }
    Ok(())
}

/// How a classic match stands after a top-out or a score change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassicOutcome {
    /// Go on playing.
    Continue,
    /// The match is over; this seat won.
    Winner(u8),
}

/// The classic result given each seat's final score if it topped out (`out`), the survivor's
/// live score (`live`, only meaningful for a seat still in) and `last_out`, the seat that topped
/// out most recently.
pub fn classic_outcome(out: [Option<u32>; 2], live: [u32; 2], last_out: u8) -> ClassicOutcome {
    match out {
        [Some(a), Some(b)] => ClassicOutcome::Winner(match a.cmp(&b) {
            std::cmp::Ordering::Greater => 0,
            std::cmp::Ordering::Less => 1,
            std::cmp::Ordering::Equal => last_out,
        }),
        [Some(a), None] if live[1] > a => ClassicOutcome::Winner(1),
        [None, Some(b)] if live[0] > b => ClassicOutcome::Winner(0),
        _ => ClassicOutcome::Continue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_match_never_pauses_and_private_rooms_count_pauses() {
        assert!(may_pause(true, 3, false).is_err_and(|r| r.code == "pause_not_allowed"));
        assert!(may_pause(false, 1, false).is_ok());
        assert!(may_pause(false, 0, false).is_err_and(|r| r.message.contains("no pauses left")));
        assert!(may_pause(false, 3, true).is_err(), "no pause once a classic player is out");
    }

    #[test]
    fn only_the_pauser_resumes_until_the_takeover_time() {
        assert!(may_unpause(0, 0, Duration::ZERO).is_ok());
        assert!(may_unpause(1, 0, Duration::from_secs(29)).is_err());
        assert!(may_unpause(1, 0, PAUSE_TAKEOVER).is_ok());
    }

    #[test]
    fn classic_survivor_wins_by_passing_the_final_score_not_by_stalling() {
        // Seat 0 topped out with 5000; seat 1 at 4000 plays on, and wins once past 5000.
        assert_eq!(classic_outcome([Some(5000), None], [0, 4000], 0), ClassicOutcome::Continue);
        assert_eq!(classic_outcome([Some(5000), None], [0, 5000], 0), ClassicOutcome::Continue);
        assert_eq!(classic_outcome([Some(5000), None], [0, 5001], 0), ClassicOutcome::Winner(1));
        assert_eq!(classic_outcome([None, Some(10)], [11, 0], 1), ClassicOutcome::Winner(0));
    }

    #[test]
    fn classic_both_out_higher_score_wins_and_a_tie_goes_to_the_last_one_standing() {
        assert_eq!(classic_outcome([Some(5000), Some(4000)], [0, 0], 1), ClassicOutcome::Winner(0));
        assert_eq!(classic_outcome([Some(100), Some(4000)], [0, 0], 1), ClassicOutcome::Winner(1));
        assert_eq!(classic_outcome([Some(700), Some(700)], [0, 0], 0), ClassicOutcome::Winner(0));
        assert_eq!(classic_outcome([None, None], [9, 9], 0), ClassicOutcome::Continue);
    }
}
