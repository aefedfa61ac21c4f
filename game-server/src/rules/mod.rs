//! The rules engine, ported from the web client (`web/js/engine/`) so the server can replay a
//! submitted game and rank only what the rules produce.
//!
//! The JavaScript engine is the reference: for the same log this port must reach the same final
//! state, which the shared vectors (`web/test/vectors`) and the differential test
//! (`tests/rules/differential.rs`, thousands of random games replayed in node and here) check.
//! The files mirror the JavaScript ones so a rule change is made in both places side by side:
//! - this file: `rules.js` (versions, timings, gravity and scoring tables, handling, modes);
//! - [`pieces`]: `pieces.js`, `kicks.js`, `rng.js` and `randomizer.js`;
//! - [`game`]: `game.js`, `board.js` and `scoring.js` (the frame step);
//! - [`log`]: `replay.js` (the input log, its bounds, and the replay loop);
//! - [`player`]: a simple player that makes real games for tests and benchmarks.
//!
//! Everything is integer arithmetic, as in the JavaScript engine, so both agree bit for bit.

pub mod game;
pub mod log;
pub mod pieces;
pub mod player;

pub use game::{FinalState, Game};
pub use log::{InputLog, LogError, MAX_LOG_FRAMES, MAX_LOG_GARBAGE, MAX_LOG_INPUTS, replay};

/// The rules version new games are played under (`RULES_VERSION` in `rules.js`).
pub const RULES_VERSION: u8 = 2;
/// Every rules version this server can replay.
pub const RULES_VERSIONS: [u8; 2] = [1, 2];

/// NES (NTSC) frames per cell for levels 0..28; level 29 and above fall one cell per frame.
const NES_FRAMES_PER_CELL: [u32; 29] =
    [48, 43, 38, 33, 28, 23, 18, 13, 8, 6, 5, 5, 5, 4, 4, 4, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2];

/// NES frames per cell at `level`.
pub fn nes_frames_per_cell(level: u32) -> u32 {
    NES_FRAMES_PER_CELL.get(level as usize).copied().unwrap_or(1)
}

/// One cell in the modern gravity accumulator.
pub const CELL_UNITS: u32 = 65_536;

/// Modern gravity in 1/65536 cells per frame for levels 0..29 (frozen in `rules.js`).
const MODERN_GRAVITY: [u32; 30] = [
    1092, 1377, 1768, 2311, 3075, 4169, 5759, 8107, 11634, 17026, 25416, 38709, 60169, 95483, 154742, 256187,
    433425, 749597, 1310720, 1310720, 1310720, 1310720, 1310720, 1310720, 1310720, 1310720, 1310720, 1310720,
    1310720, 1310720,
];

/// Modern gravity at `level`.
pub fn modern_gravity(level: u32) -> u32 {
    MODERN_GRAVITY[(level as usize).min(MODERN_GRAVITY.len() - 1)]
}

/// Classic line-clear points before the (level + 1) multiplier.
pub const CLASSIC_LINE_POINTS: [u64; 5] = [0, 40, 100, 300, 1200];
/// Modern line-clear points before the multiplier.
pub const MODERN_LINE_POINTS: [u64; 5] = [0, 100, 300, 500, 800];
/// Modern T-spin points (0..3 lines).
pub const MODERN_TSPIN_POINTS: [u64; 4] = [0, 800, 1200, 1600];
/// Modern mini T-spin points (0..2 lines).
pub const MODERN_MINI_POINTS: [u64; 3] = [0, 200, 400];
/// Modern points per combo step.
pub const COMBO_STEP: u64 = 50;

/// Garbage sent per line clear (modern, duo).
pub const ATTACK_LINES: [u32; 5] = [0, 0, 1, 2, 4];
/// Garbage sent per T-spin.
pub const ATTACK_TSPIN: [u32; 4] = [0, 2, 4, 6];
/// Garbage sent per mini T-spin.
pub const ATTACK_MINI: [u32; 3] = [0, 0, 1];
/// Extra garbage for a back-to-back clear.
pub const ATTACK_BACK_TO_BACK: u32 = 1;
/// Extra garbage for the n-th consecutive clear.
pub const ATTACK_COMBO: [u32; 13] = [0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5];
/// Most garbage lines that may wait in the queue.
pub const MAX_PENDING_GARBAGE: u32 = 20;

/// The NES level rule (`classicLevel`).
pub fn classic_level(start: u32, lines: u32) -> u32 {
    let first = (start * 10 + 10).min((start * 10).saturating_sub(50).max(100));
    if lines < first { start } else { start + 1 + (lines - first) / 10 }
}

/// The modern fixed-goal level rule (`modernLevel`).
pub fn modern_level(start: u32, lines: u32) -> u32 {
    start + lines / 10
}

/// The two rulesets, as a log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RulesetName {
    /// NES-like: frame-table gravity, NRS rotation, no hold.
    Classic,
    /// Guideline: SRS, 7-bag, hold, hard drop, lock delay, garbage.
    Modern,
}

impl From<tetris_config::Ruleset> for RulesetName {
    fn from(r: tetris_config::Ruleset) -> Self {
        match r {
            tetris_config::Ruleset::Classic => RulesetName::Classic,
            tetris_config::Ruleset::Modern => RulesetName::Modern,
        }
    }
}

/// Player handling (rules version 2, modern): DAS and ARR in frames, soft drop in cells per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Handling {
    /// Frames before auto-repeat starts, 1..=20.
    #[serde(default = "default_das")]
    pub das: u32,
    /// Frames between repeats, 0..=6 (0: to the wall at once).
    #[serde(default = "default_arr")]
    pub arr: u32,
    /// Soft drop in cells per second, 10..=1200.
    #[serde(default = "default_sdr")]
    pub sdr: u32,
}

fn default_das() -> u32 {
    Handling::DEFAULT.das
}
fn default_arr() -> u32 {
    Handling::DEFAULT.arr
}
fn default_sdr() -> u32 {
    Handling::DEFAULT.sdr
}

impl Handling {
    /// The handling of a player who changed nothing (`DEFAULT_HANDLING`).
    pub const DEFAULT: Handling = Handling { das: 10, arr: 2, sdr: 600 };

    /// Checks the bounds of `HANDLING_LIMITS`; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (name, v, min, max) in
            [("das", self.das, 1, 20), ("arr", self.arr, 0, 6), ("sdr", self.sdr, 10, 1200)]
        {
            if !(min..=max).contains(&v) {
                return Err(format!("handling.{name} must be in {min}..{max}"));
            }
        }
        Ok(())
    }
}

/// A single-player goal besides topping out (rules version 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    /// Ends at the lock that reaches 40 lines.
    Sprint,
    /// Ends after 2 minutes of play.
    Blitz,
}

impl Goal {
    /// Lines that end the game (0: none).
    fn lines(goal: Option<Goal>) -> u32 {
        if goal == Some(Goal::Sprint) { 40 } else { 0 }
    }

    /// Frames that end the game (0: none).
    fn frames(goal: Option<Goal>) -> u32 {
        if goal == Some(Goal::Blitz) { 120 * 60 } else { 0 }
    }
}

/// The rule table of one ruleset under one version, with the player's handling folded in
/// (`rulesFor` in `rules.js`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Which ruleset.
    pub ruleset: RulesetName,
    /// Rules version.
    pub version: u8,
    /// Frames before auto-shift starts.
    pub das_delay: u32,
    /// Frames between auto-shift moves (0: to the wall).
    pub das_repeat: u32,
    /// Frames per soft-drop cell (classic, and modern in version 1).
    pub soft_drop_frames: u32,
    /// Version 2 modern soft drop, cells per second (0: use `soft_drop_frames`).
    pub soft_drop_rate: u32,
    /// Frames between a lock and the next spawn.
    pub entry_delay: u32,
    /// Extra frames after a lock that cleared lines.
    pub line_clear_delay: u32,
    /// Frames a grounded piece waits before it locks (modern).
    pub lock_delay: u32,
    /// Lock-delay resets a piece may use (modern).
    pub lock_resets: u32,
    /// Presses made while no piece is active act at spawn (version 2 modern).
    pub buffer: bool,
    /// The 180-degree rotation button exists (version 2 modern).
    pub rotate180: bool,
}

impl Rules {
    /// The table for `ruleset` under `version` with `handling` (modern, version 2 only).
    pub fn new(ruleset: RulesetName, version: u8, handling: Option<Handling>) -> Rules {
        match ruleset {
            RulesetName::Classic => Rules {
                ruleset,
                version,
                das_delay: 16,
                das_repeat: 6,
                soft_drop_frames: 2,
                soft_drop_rate: 0,
                entry_delay: 10,
                line_clear_delay: 18,
                lock_delay: 0,
                lock_resets: 0,
                buffer: false,
                rotate180: false,
            },
            RulesetName::Modern => {
                let v1 = Rules {
                    ruleset,
                    version,
                    das_delay: 10,
                    das_repeat: 2,
                    soft_drop_frames: 1,
                    soft_drop_rate: 0,
                    entry_delay: 0,
                    line_clear_delay: 15,
                    lock_delay: 30,
                    lock_resets: 15,
                    buffer: false,
                    rotate180: false,
                };
                if version == 1 {
                    return v1;
                }
                let h = handling.unwrap_or(Handling::DEFAULT);
                Rules {
                    das_delay: h.das,
                    das_repeat: h.arr,
                    soft_drop_rate: h.sdr,
                    line_clear_delay: 0,
                    buffer: true,
                    rotate180: true,
                    ..v1
                }
            }
        }
    }

    /// Whether this is the modern ruleset (SRS, hold, hard drop, lock delay, garbage).
    pub fn modern(&self) -> bool {
        self.ruleset == RulesetName::Modern
    }

    /// Every bit a mask may carry (`inputMaskFor`).
    pub fn mask_all(&self) -> u8 {
        mask_for(self.version)
    }
}

/// Every input bit a mask may carry under rules `version`.
pub fn mask_for(version: u8) -> u8 {
    if version == 1 { 127 } else { 255 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_level_follows_the_nes_rule() {
        // Start 0: every 10 lines. Start 9: first level-up at 100 lines. Start 18: at 130.
        assert_eq!(classic_level(0, 9), 0);
        assert_eq!(classic_level(0, 10), 1);
        assert_eq!(classic_level(0, 35), 3);
        assert_eq!(classic_level(9, 99), 9);
        assert_eq!(classic_level(9, 100), 10);
        assert_eq!(classic_level(9, 110), 11);
        assert_eq!(classic_level(18, 129), 18);
        assert_eq!(classic_level(18, 130), 19);
    }

    #[test]
    fn version_two_folds_handling_into_modern_only() {
        let h = Handling { das: 6, arr: 0, sdr: 1200 };
        let modern = Rules::new(RulesetName::Modern, 2, Some(h));
        assert_eq!((modern.das_delay, modern.das_repeat, modern.soft_drop_rate), (6, 0, 1200));
        assert_eq!(Rules::new(RulesetName::Modern, 1, Some(h)).das_delay, 10);
        assert_eq!(Rules::new(RulesetName::Classic, 2, Some(h)).das_delay, 16);
        assert!(Handling { das: 0, ..h }.validate().is_err());
    }
}
