//! Plausibility of a submitted score: cheap bounds that a real game always meets and a made-up one
//! usually does not. Full verification (replaying the input log with a Rust port of the rules) comes
//! later; these rules only need the ticket, the reported totals and the time since the ticket was
//! issued. Each rule is documented in `PROTOCOL.md` ("Plausibility rules") with the same numbering.

use crate::games::{BLITZ_MS, Mode, SPRINT_LINES, Ticket};
use crate::rules::{classic_level, modern_level};
use tetris_config::Ruleset;

/// Highest score accepted at all.
pub const MAX_SCORE: u32 = 999_999_999;
/// Most lines accepted.
pub const MAX_LINES: u32 = 9_999;
/// Highest level accepted.
pub const MAX_LEVEL: u32 = 255;
/// Most pieces accepted.
pub const MAX_PIECES: u32 = 100_000;
/// Longest game accepted (a day).
pub const MAX_DURATION_MS: u64 = 86_400_000;
/// Allowed difference between the reported duration and the server's clock.
pub const CLOCK_SLACK_MS: u64 = 5_000;
/// Faster than any human (world-class play is about 4-5 pieces per second).
pub const MAX_PIECES_PER_SECOND: u64 = 10;

/// The totals a client reports for a finished game.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Final score.
    pub score: u32,
    /// Lines cleared.
    pub lines: u32,
    /// Final level.
    pub level: u32,
    /// Pieces locked.
    pub pieces: u32,
    /// Play time in milliseconds (pauses excluded).
    pub duration_ms: u64,
}

/// A broken rule, with a message for the player.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Implausible(pub String);

fn level_at(ruleset: Ruleset, start: u32, lines: u32) -> u32 {
    match ruleset {
        Ruleset::Classic => classic_level(start, lines),
        Ruleset::Modern => modern_level(start, lines),
    }
}

/// The highest score `lines` cleared lines and `pieces` locked pieces can give (rule 5).
pub fn max_score(ruleset: Ruleset, start: u32, lines: u32, pieces: u32) -> u64 {
    let mut total: u64 = 0;
    for j in 0..lines {
        let multiplier = u64::from(level_at(ruleset, start, j)) + 1;
        let per_line = match ruleset {
            Ruleset::Classic => 300,
            Ruleset::Modern => 1200 + 50 * u64::from(j.min(100)),
        };
        total += per_line * multiplier;
    }
    let per_piece = match ruleset {
        Ruleset::Classic => 40,
        Ruleset::Modern => 80,
    };
    total + per_piece * u64::from(pieces)
}

/// Checks `report` against `ticket`; `elapsed_ms` is the server's time since the ticket was issued.
pub fn check(ticket: &Ticket, report: &Report, elapsed_ms: u64) -> Result<(), Implausible> {
    let r = report;
    // Rule 1: bounds.
    if r.score > MAX_SCORE
        || r.lines > MAX_LINES
        || r.level > MAX_LEVEL
        || r.pieces > MAX_PIECES
        || r.duration_ms > MAX_DURATION_MS
    {
        return Err(Implausible("a value is outside the accepted range".into()));
    }
    // Rule 2: level follows from start level and lines.
    let start = u32::from(ticket.start_level);
    let expected = level_at(ticket.ruleset, start, r.lines);
    if r.level != expected {
        return Err(Implausible(format!(
            "level {} does not match {} lines from start level {start} (expected {expected})",
            r.level, r.lines
        )));
    }
    // Rule 3: pieces vs lines.
    let max_pieces = (10 * r.lines + 400) / 4 + 2;
    if r.pieces > max_pieces {
        return Err(Implausible(format!("{} pieces cannot fit with {} lines cleared", r.pieces, r.lines)));
    }
    if ticket.mode != Mode::Duo && r.pieces < (10 * r.lines).div_ceil(4) {
        return Err(Implausible(format!("{} lines need more than {} pieces", r.lines, r.pieces)));
    }
    // Rule 4: speed, against the client's duration and the server's clock.
    if u64::from(r.pieces) > MAX_PIECES_PER_SECOND * r.duration_ms / 1000 + 10 {
        return Err(Implausible(format!("{} pieces in {} ms is too fast", r.pieces, r.duration_ms)));
    }
    if r.duration_ms > elapsed_ms + CLOCK_SLACK_MS {
        return Err(Implausible("the game lasted longer than the time since it was issued".into()));
    }
    // Rule 5: score vs lines and pieces.
    let bound = max_score(ticket.ruleset, start, r.lines, r.pieces);
    if u64::from(r.score) > bound {
        return Err(Implausible(format!(
            "score {} is above the most {} lines and {} pieces can give ({bound})",
            r.score, r.lines, r.pieces
        )));
    }
    // Rule 6: the mode's goal. A sprint is over at 40 lines (a lock can clear up to 4 at once, so
    // it ends with 40 to 43), a blitz after 2 minutes of play.
    match ticket.mode {
        Mode::Sprint if !(SPRINT_LINES..SPRINT_LINES + 4).contains(&r.lines) => {
            return Err(Implausible(format!("a sprint ends at {SPRINT_LINES} lines, not {}", r.lines)));
        }
        Mode::Blitz if r.duration_ms > BLITZ_MS + 1_000 => {
            return Err(Implausible(format!(
                "a blitz lasts {} s, not {} ms",
                BLITZ_MS / 1000,
                r.duration_ms
            )));
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket(mode: Mode, ruleset: Ruleset, start_level: u8) -> Ticket {
        Ticket {
            game_id: String::new(),
            key: String::new(),
            mode,
            ruleset,
            start_level,
            issued_at: 0,
            seed: 0,
            rules_version: Some(2),
        }
    }

    fn report(score: u32, lines: u32, level: u32, pieces: u32, duration_ms: u64) -> Report {
        Report { score, lines, level, pieces, duration_ms }
    }

    #[test]
    fn an_honest_classic_game_passes() {
        // 12 lines as 3 Tetrises at level 0 and 1: 1200 + 1200 + 2400 = 4800, plus some soft drop.
        let t = ticket(Mode::Solo, Ruleset::Classic, 0);
        assert_eq!(check(&t, &report(4_900, 12, 1, 40, 60_000), 61_000), Ok(()));
    }

    #[test]
    fn classic_score_bound_is_all_tetrises_plus_drops() {
        // 4 lines at level 0: at most 1200 from lines; 10 pieces: at most 400 from drops.
        assert_eq!(max_score(Ruleset::Classic, 0, 4, 10), 1_600);
        let t = ticket(Mode::Solo, Ruleset::Classic, 0);
        assert!(check(&t, &report(1_600, 4, 0, 10, 30_000), 30_000).is_ok());
        assert!(check(&t, &report(1_601, 4, 0, 10, 30_000), 30_000).is_err());
    }

    #[test]
    fn wrong_level_is_implausible() {
        let t = ticket(Mode::Solo, Ruleset::Modern, 3);
        assert!(check(&t, &report(0, 25, 5, 70, 60_000), 60_000).is_ok());
        assert!(check(&t, &report(0, 25, 9, 70, 60_000), 60_000).is_err());
    }

    #[test]
    fn lines_without_pieces_are_implausible_in_solo_only() {
        let solo = ticket(Mode::Solo, Ruleset::Modern, 0);
        let duo = ticket(Mode::Duo, Ruleset::Modern, 0);
        let r = report(100, 4, 0, 2, 60_000);
        assert!(check(&solo, &r, 60_000).is_err());
        assert!(check(&duo, &r, 60_000).is_ok(), "garbage rows bring cells in duo");
    }

    #[test]
    fn games_faster_than_humans_or_the_clock_are_implausible() {
        let t = ticket(Mode::Solo, Ruleset::Modern, 0);
        // 300 pieces in 10 s is 30 per second.
        assert!(check(&t, &report(0, 100, 10, 300, 10_000), 10_000).is_err());
        // Claims a 10-minute game on a ticket issued 1 minute ago.
        assert!(check(&t, &report(0, 100, 10, 300, 600_000), 60_000).is_err());
        assert!(check(&t, &report(0, 100, 10, 300, 600_000), 600_000).is_ok());
    }

    #[test]
    fn a_sprint_must_reach_40_lines_and_a_blitz_must_stop_at_2_minutes() {
        let sprint = ticket(Mode::Sprint, Ruleset::Modern, 0);
        assert!(check(&sprint, &report(3_000, 40, 4, 100, 60_000), 61_000).is_ok());
        assert!(check(&sprint, &report(3_000, 39, 3, 100, 60_000), 61_000).is_err());
        assert!(check(&sprint, &report(3_000, 44, 4, 120, 60_000), 61_000).is_err());
        let blitz = ticket(Mode::Blitz, Ruleset::Modern, 0);
        assert!(check(&blitz, &report(3_000, 20, 2, 60, 120_000), 121_000).is_ok());
        assert!(check(&blitz, &report(3_000, 20, 2, 60, 200_000), 201_000).is_err());
    }

    #[test]
    fn out_of_range_values_are_implausible() {
        let t = ticket(Mode::Solo, Ruleset::Classic, 0);
        assert!(check(&t, &report(MAX_SCORE + 1, 0, 0, 0, 0), 0).is_err());
        assert!(check(&t, &report(0, MAX_LINES + 1, 0, 0, 0), 0).is_err());
    }
}
