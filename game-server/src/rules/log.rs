//! Input logs (`replay.js`): what a player did, frame by frame, and the loop that replays it.
//!
//! A log is `{v, ruleset, seed, startLevel, handling?, mode?, frames, inputs: [[frame, mask]],
//! garbage: [[frame, lines, hole]]}` (see `web/test/vectors/README.md`). Parsing is strict and every
//! dimension is bounded ([`MAX_LOG_FRAMES`], [`MAX_LOG_INPUTS`], [`MAX_LOG_GARBAGE`]), so the cost
//! of a replay is bounded before it starts.

use super::pieces::Seed;
use super::{Game, Goal, Handling, Rules, RulesetName, mask_for};
use serde::Deserialize;

/// Most frames a log may hold: four hours at 60 Hz (a marathon at level 0 ends long before).
pub const MAX_LOG_FRAMES: u32 = 4 * 3600 * 60;
/// Most input entries (a mask change is one entry; a 200,000-character log holds fewer).
pub const MAX_LOG_INPUTS: usize = 50_000;
/// Most garbage entries.
pub const MAX_LOG_GARBAGE: usize = 10_000;
/// Longest text seed.
pub const MAX_SEED_CHARS: usize = 128;

/// A log that cannot be replayed; the message names the first problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("log: {0}")]
pub struct LogError(pub String);

/// A seed as JSON carries it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SeedField {
    /// An integer (the server issues 32-bit ones).
    Number(u64),
    /// A text.
    Text(String),
}

/// A parsed input log.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InputLog {
    /// Rules version the game was played under.
    pub v: u8,
    /// Ruleset.
    pub ruleset: RulesetName,
    /// Piece seed.
    pub seed: SeedField,
    /// Start level, 0..=29.
    pub start_level: u32,
    /// Handling (version 2 modern only).
    #[serde(default)]
    pub handling: Option<Handling>,
    /// Goal (version 2 only).
    #[serde(default)]
    pub mode: Option<Goal>,
    /// Frames played.
    pub frames: u32,
    /// `[frame, mask]`, sorted by frame, a mask holding until the next entry.
    pub inputs: Vec<(u32, u32)>,
    /// `[frame, lines, hole]`: garbage added to the queue before the step from `frame`.
    #[serde(default)]
    pub garbage: Vec<(u32, u32, u32)>,
}

impl InputLog {
    /// Parses `text` (strict: unknown fields and wrong types are errors).
    pub fn parse(text: &str) -> Result<InputLog, LogError> {
        serde_json::from_str(text).map_err(|e| {
            let full = e.to_string();
            let head = full.rsplit_once(" at line ").map_or(full.as_str(), |(h, _)| h);
            LogError(head.chars().take(160).collect())
        })
    }

    /// The seed, checked (an integer must fit 32 bits, a text [`MAX_SEED_CHARS`]).
    pub fn seed(&self) -> Result<Seed, LogError> {
        match &self.seed {
            SeedField::Number(n) => {
                u32::try_from(*n).map(Seed::Number).map_err(|_| LogError("seed is out of range".into()))
            }
            SeedField::Text(t) if t.chars().count() <= MAX_SEED_CHARS => Ok(Seed::Text(t.clone())),
            SeedField::Text(_) => Err(LogError(format!("seed must be at most {MAX_SEED_CHARS} characters"))),
        }
    }

    /// Checks every rule of `validateLog` plus this port's size bounds.
    pub fn validate(&self) -> Result<(), LogError> {
        let fail = |m: String| Err(LogError(m));
        if !super::RULES_VERSIONS.contains(&self.v) {
            return fail("unsupported version".into());
        }
        if self.handling.is_some() && (self.v < 2 || self.ruleset != RulesetName::Modern) {
            return fail("handling is for version 2 modern logs only".into());
        }
        if let Some(h) = &self.handling {
            h.validate().map_err(LogError)?;
        }
        if self.mode.is_some() && self.v < 2 {
            return fail("mode must be sprint or blitz (version 2)".into());
        }
        if self.start_level > 29 {
            return fail("start level must be 0..29".into());
        }
        if self.frames > MAX_LOG_FRAMES {
            return fail(format!("frames must be at most {MAX_LOG_FRAMES}"));
        }
        if self.inputs.len() > MAX_LOG_INPUTS || self.garbage.len() > MAX_LOG_GARBAGE {
            return fail(format!("at most {MAX_LOG_INPUTS} inputs and {MAX_LOG_GARBAGE} garbage entries"));
        }
        self.seed()?;
        let mask_all = u32::from(mask_for(self.v));
        let mut last = 0;
        for &(f, m) in &self.inputs {
            if f < last || f >= self.frames {
                return fail(format!("input frame {f} out of order"));
            }
            if m > mask_all {
                return fail(format!("bad mask {m}"));
            }
            last = f;
        }
        last = 0;
        for &(f, n, hole) in &self.garbage {
            if f < last || f > self.frames {
                return fail(format!("garbage frame {f} out of order"));
            }
            if !(1..=20).contains(&n) {
                return fail(format!("bad garbage {n}"));
            }
            if hole > 9 {
                return fail(format!("bad garbage hole {hole}"));
            }
            last = f;
        }
        Ok(())
    }

    /// The rule table this log plays under.
    pub fn rules(&self) -> Rules {
        Rules::new(self.ruleset, self.v, self.handling)
    }
}

/// Plays `log` from the start and returns the game at its end (`replay` in `replay.js`).
pub fn replay(log: &InputLog) -> Result<Game, LogError> {
    log.validate()?;
    let mut game = Game::new(log.rules(), &log.seed()?, log.start_level, log.mode);
    let (mut ii, mut gi, mut mask) = (0, 0, 0u8);
    while game.frame < log.frames && !game.over {
        let f = game.frame;
        while let Some(&(_, lines, hole)) = log.garbage.get(gi).filter(|g| g.0 <= f) {
            game.add_garbage(lines, hole as u8);
            gi += 1;
        }
        while let Some(&(_, m)) = log.inputs.get(ii).filter(|e| e.0 <= f) {
            mask = m as u8;
            ii += 1;
        }
        game.step(mask);
    }
    Ok(game)
}
