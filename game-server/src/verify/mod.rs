//! Verification of a submitted game by replay: the input log is replayed with the Rust port of the
//! rules ([`crate::rules`]) under the rules version its ticket was issued with, and the score is
//! ranked only if the totals the client reports are exactly what the replay yields.
//!
//! Each way a submission can fail has its own reason code ([`Rejection::code`], listed in
//! `PROTOCOL.md` and counted in `/metrics` as `tetris_scores_rejected_total{reason}`). Replays run on
//! [`pool::ReplayPool`], off the async workers.

pub mod pool;

use crate::games::{Mode, Ticket};
use crate::plausibility::Report;
use crate::rules::log::SeedField;
use crate::rules::{Goal, InputLog, RULES_VERSIONS, RulesetName, replay};

/// Why a submitted game was not verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No input log came with a score that must be replayed.
    #[error("the game's input log is missing")]
    MissingLog,
    /// The log is not a log: bad JSON, a broken rule of the format, or over a bound.
    #[error("the input log is malformed ({0})")]
    BadLog(String),
    /// The log is of another game: seed, ruleset, start level, mode or rules version differ.
    #[error("the input log is not of this game ({0})")]
    WrongGame(&'static str),
    /// The log ends before the game does (a truncated log).
    #[error("the input log ends before the game is over")]
    NotOver,
    /// The replay gives other totals than the ones reported.
    #[error("the reported {0} is not what the replay gives")]
    Mismatch(&'static str),
}

impl Rejection {
    /// The stable reason code sent to the client and used as the metrics label.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::MissingLog => "missing_log",
            Rejection::BadLog(_) => "bad_log",
            Rejection::WrongGame(_) => "log_mismatch",
            Rejection::NotOver => "game_not_over",
            Rejection::Mismatch(_) => "score_mismatch",
        }
    }
}

/// Replays `log_text` for `ticket` and checks `report` against it. Returns the totals as the
/// replay has them (the duration too: the sprint board ranks by it).
pub fn verify(ticket: &Ticket, report: &Report, log_text: &str) -> Result<Report, Rejection> {
    let log = InputLog::parse(log_text).map_err(|e| Rejection::BadLog(e.0))?;
    log.validate().map_err(|e| Rejection::BadLog(e.0))?;
    of_this_game(ticket, &log)?;
    let game = replay(&log).map_err(|e| Rejection::BadLog(e.0))?;
    if !game.over || game.frame != log.frames {
        return Err(Rejection::NotOver);
    }
    let replayed = Report {
        score: u32::try_from(game.score).unwrap_or(u32::MAX),
        lines: game.lines,
        level: game.level,
        pieces: game.pieces,
        duration_ms: frames_to_ms(game.frame),
    };
    for (name, reported, real) in [
        ("score", report.score, replayed.score),
        ("lines", report.lines, replayed.lines),
        ("level", report.level, replayed.level),
        ("pieces", report.pieces, replayed.pieces),
    ] {
        if reported != real {
            return Err(Rejection::Mismatch(name));
        }
    }
    Ok(replayed)
}

/// Milliseconds of `frames` at 60 Hz, rounded as the client rounds them (`Math.round`).
pub fn frames_to_ms(frames: u32) -> u64 {
    (u64::from(frames) * 2000 + 60) / 120
}

/// Whether the log's header is the ticket's game.
fn of_this_game(ticket: &Ticket, log: &InputLog) -> Result<(), Rejection> {
    if log.seed != SeedField::Number(u64::from(ticket.seed)) {
        return Err(Rejection::WrongGame("seed"));
    }
    if log.ruleset != RulesetName::from(ticket.ruleset) {
        return Err(Rejection::WrongGame("ruleset"));
    }
    if log.start_level != u32::from(ticket.start_level) {
        return Err(Rejection::WrongGame("start level"));
    }
    let goal = match ticket.mode {
        Mode::Sprint => Some(Goal::Sprint),
        Mode::Blitz => Some(Goal::Blitz),
        Mode::Solo | Mode::Duo => None,
    };
    if log.mode != goal {
        return Err(Rejection::WrongGame("mode"));
    }
    // A ticket of format 1 predates versioning: any version this server knows (for a day).
    let version_ok = match ticket.rules_version {
        Some(v) => log.v == v,
        None => RULES_VERSIONS.contains(&log.v),
    };
    if !version_ok {
        return Err(Rejection::WrongGame("rules version"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_like_math_round() {
        assert_eq!(frames_to_ms(0), 0);
        assert_eq!(frames_to_ms(1), 17); // 16.67
        assert_eq!(frames_to_ms(3), 50);
        assert_eq!(frames_to_ms(7200), 120_000);
    }

    #[test]
    fn every_rejection_has_its_own_code() {
        let all = [
            Rejection::MissingLog,
            Rejection::BadLog(String::new()),
            Rejection::WrongGame("seed"),
            Rejection::NotOver,
            Rejection::Mismatch("score"),
        ];
        let codes: std::collections::HashSet<_> = all.iter().map(Rejection::code).collect();
        assert_eq!(codes.len(), all.len());
    }

    /// Thousands of mutated real logs straight through [`verify`] (no HTTP, so many more than the
    /// server test sends): each is accepted unchanged in meaning or refused with a reason; none
    /// panics (a panic fails this test).
    #[test]
    fn fuzzed_logs_never_panic_and_each_gets_a_reason() {
        use crate::rules::RulesetName;
        use crate::rules::player::{Setup, mutated, play};
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        for (ruleset, tr) in [
            (RulesetName::Classic, tetris_config::Ruleset::Classic),
            (RulesetName::Modern, tetris_config::Ruleset::Modern),
        ] {
            let played = play(Setup { ruleset, version: 2, seed: 77, start_level: 0, goal: None }, 3, 0);
            let g = &played.game;
            let report = Report {
                score: g.score as u32,
                lines: g.lines,
                level: g.level,
                pieces: g.pieces,
                duration_ms: 0,
            };
            let ticket = Ticket {
                game_id: String::new(),
                key: String::new(),
                mode: Mode::Solo,
                ruleset: tr,
                start_level: 0,
                issued_at: 0,
                seed: 77,
                rules_version: Some(2),
            };
            let text = played.log.to_string();
            assert!(verify(&ticket, &report, &text).is_ok(), "the unmutated log verifies");
            let mut refused = 0;
            for _ in 0..2_500 {
                // A mutation the rules do not see (a digit in a frame where nothing happens) may
                // still be the same game; everything else is refused.
                refused += usize::from(verify(&ticket, &report, &mutated(&text, &mut rng)).is_err());
            }
            assert!(refused > 2_250, "{refused} of 2,500 mutated logs refused");
        }
    }
}
