//! The server's replay of one seat's game during a duo match: the client streams its input log
//! (`inputs` messages), and the room steps this copy of the game with the Rust rules. What counts
//! comes from here, not from the client: the garbage a seat sends, whether it topped out, and its
//! final score on the duo board.
//!
//! Bounds: every entry is checked as the log format requires; a message may advance the game by
//! at most [`MAX_STEP_FRAMES`], the whole game by at most [`MAX_LOG_FRAMES`] and never faster than
//! the wall clock allows (plus [`CLOCK_SLACK_FRAMES`]), so a message costs at most a fraction of a
//! millisecond to replay and a client cannot play ahead of time.

use crate::protocol::Refusal;
use crate::rules::pieces::Seed;
use crate::rules::{
    Game, Handling, MAX_LOG_FRAMES, MAX_LOG_GARBAGE, MAX_LOG_INPUTS, Rules, RulesetName, mask_for,
};
use std::collections::VecDeque;
use tokio::time::Instant;

/// Most frames one `inputs` message may advance the game (30 s).
pub const MAX_STEP_FRAMES: u32 = 30 * 60;
/// Frames a seat may be ahead of the wall clock since the match started (network jitter, a
/// countdown that ended early on one side).
pub const CLOCK_SLACK_FRAMES: u64 = 5 * 60;

const BAD: &str = "bad_inputs";

/// One seat's replayed game.
#[derive(Debug)]
pub struct SeatReplay {
    ruleset: RulesetName,
    version: u8,
    seed: u32,
    start_level: u32,
    started: Instant,
    handling: Option<Handling>,
    /// Created by the first `inputs` message, which may carry the handling.
    game: Option<Game>,
    inputs: Vec<(u32, u8)>,
    garbage: Vec<(u32, u32, u32)>,
    /// Entries of `inputs` and `garbage` already applied.
    applied: (usize, usize),
    mask: u8,
    /// Garbage the server sent this seat that its log has not let in yet, oldest first.
    owed: VecDeque<(u8, u8)>,
    /// Lines of `game.sent` already sent to the opponent.
    forwarded: u32,
}

impl SeatReplay {
    /// A seat's replay for a match that starts now.
    pub fn new(ruleset: RulesetName, version: u8, seed: u32, start_level: u8) -> Self {
        SeatReplay {
            ruleset,
            version,
            seed,
            start_level: u32::from(start_level),
            started: Instant::now(),
            handling: None,
            game: None,
            inputs: Vec::new(),
            garbage: Vec::new(),
            applied: (0, 0),
            mask: 0,
            owed: VecDeque::new(),
            forwarded: 0,
        }
    }

    /// Records garbage the server sent to this seat (its log must let it in, in this order).
    pub fn owe(&mut self, lines: u8, hole: u8) {
        self.owed.push_back((lines, hole));
    }

    /// Checks and applies one `inputs` message; returns the garbage lines the seat's game sent
    /// meanwhile (to forward to the opponent).
    pub fn advance(
        &mut self,
        frame: u32,
        inputs: &[(u32, u8)],
        garbage: &[(u32, u8, u8)],
        handling: Option<Handling>,
    ) -> Result<u32, Refusal> {
        let refuse = |m: &str| Err(Refusal::with(BAD, format!("inputs: {m}")));
        let current = self.game.as_ref().map_or(0, |g| g.frame);
        if let Some(h) = handling {
            if self.game.is_some() || self.version < 2 || self.ruleset != RulesetName::Modern {
                return refuse("handling comes once, in the first inputs of a version 2 modern match");
            }
            h.validate().map_err(|e| Refusal::with(BAD, e))?;
        }
        if frame < current || frame - current > MAX_STEP_FRAMES || frame > MAX_LOG_FRAMES {
            return refuse("frame must not go back, nor jump more than 30 s");
        }
        let allowed = self.started.elapsed().as_millis() as u64 * 60 / 1000 + CLOCK_SLACK_FRAMES;
        if u64::from(frame) > allowed {
            return refuse("the game is ahead of the clock");
        }
        if self.inputs.len() + inputs.len() > MAX_LOG_INPUTS
            || self.garbage.len() + garbage.len() > MAX_LOG_GARBAGE
        {
            return refuse("the match has too many entries");
        }
        let mask_all = mask_for(self.version);
        let mut last = self.inputs.last().map_or(current, |e| e.0.max(current));
        for &(f, m) in inputs {
            if f < last || f >= frame || m > mask_all {
                return refuse("input entries must be sorted, inside this step and valid masks");
            }
            last = f;
        }
        let mut last = self.garbage.last().map_or(current, |e| e.0.max(current));
        let mut owed = self.owed.iter();
        for &(f, lines, hole) in garbage {
            if f < last || f > frame || owed.next() != Some(&(lines, hole)) {
                return refuse("garbage entries must be the garbage the server sent, in order");
            }
            last = f;
        }
        self.owed.drain(..garbage.len());
        if handling.is_some() {
            self.handling = handling;
        }
        self.inputs.extend_from_slice(inputs);
        self.garbage.extend(garbage.iter().map(|&(f, n, h)| (f, u32::from(n), u32::from(h))));
        self.step_to(frame);
        let sent = self.game.as_ref().map_or(0, |g| g.sent);
        let new = sent - self.forwarded;
        self.forwarded = sent;
        Ok(new)
    }

    fn step_to(&mut self, frame: u32) {
        let (ruleset, version, seed, start, handling) =
            (self.ruleset, self.version, self.seed, self.start_level, self.handling);
        let game = self.game.get_or_insert_with(|| {
            Game::new(Rules::new(ruleset, version, handling), &Seed::Number(seed), start, None)
        });
        let (mut ii, mut gi) = self.applied;
        while game.frame < frame && !game.over {
            let f = game.frame;
            while let Some(&(_, lines, hole)) = self.garbage.get(gi).filter(|g| g.0 <= f) {
                game.add_garbage(lines, hole as u8);
                gi += 1;
            }
            while let Some(&(_, m)) = self.inputs.get(ii).filter(|e| e.0 <= f) {
                self.mask = m;
                ii += 1;
            }
            game.step(self.mask);
        }
        self.applied = (ii, gi);
    }

    /// The replayed game, once the seat sent its first inputs.
    pub fn game(&self) -> Option<&Game> {
        self.game.as_ref()
    }

    /// Whether the replayed game is over (the seat topped out).
    pub fn over(&self) -> bool {
        self.game.as_ref().is_some_and(|g| g.over)
    }

    /// The replayed score (0 before any inputs).
    pub fn score(&self) -> u64 {
        self.game.as_ref().map_or(0, |g| g.score)
    }

    /// Garbage lines the replayed game sent.
    pub fn sent(&self) -> u32 {
        self.forwarded
    }

    /// Entries received so far: (inputs, garbage).
    pub fn received(&self) -> [usize; 2] {
        [self.inputs.len(), self.garbage.len()]
    }

    /// The whole log as the client would have recorded it (stored with the duo score).
    pub fn log_json(&self) -> String {
        // Entries past a top-out never acted; a log holds only what was played.
        let frames = self.game.as_ref().map_or(0, |g| g.frame);
        let inputs: Vec<_> = self.inputs.iter().filter(|e| e.0 < frames).collect();
        let garbage: Vec<_> = self.garbage.iter().filter(|e| e.0 <= frames).collect();
        let mut log = serde_json::json!({
            "v": self.version,
            "ruleset": self.ruleset,
            "seed": self.seed,
            "startLevel": self.start_level,
            "frames": frames,
            "inputs": inputs,
            "garbage": garbage,
        });
        if let Some(h) = self.handling {
            log["handling"] = serde_json::json!(h);
        }
        log.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::InputLog;

    #[tokio::test(start_paused = true)]
    async fn a_streamed_game_replays_like_its_whole_log() {
        let mut r = SeatReplay::new(RulesetName::Modern, 2, 7, 0);
        tokio::time::advance(std::time::Duration::from_secs(60)).await;
        // Hard-drop every other frame, in three messages, with one garbage the server owed.
        let entries: Vec<(u32, u8)> = (0..60).map(|f| (f, if f % 2 == 0 { 32 } else { 0 })).collect();
        assert!(r.advance(20, &entries[..20], &[], None).is_ok());
        r.owe(2, 3);
        assert!(r.advance(40, &entries[20..40], &[(20, 2, 3)], None).is_ok());
        assert!(r.advance(60, &entries[40..], &[], None).is_ok());
        let whole = InputLog::parse(&r.log_json()).expect("log");
        let replayed = crate::rules::replay(&whole).expect("replays");
        assert_eq!(replayed.final_state(), r.game().expect("game").final_state());
    }

    /// The shared vectors streamed in one-second messages: the garbage the seat sends (what the
    /// room forwards) adds up to what a whole replay of the log sends, and some is sent.
    #[tokio::test(start_paused = true)]
    async fn streamed_vectors_send_the_garbage_their_replay_sends() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/web/test/vectors/v2");
        let mut total = 0;
        for entry in std::fs::read_dir(dir).expect("vectors") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).expect("file");
            let vector: serde_json::Value = serde_json::from_str(&text).expect("json");
            let log = InputLog::parse(&vector["log"].to_string()).expect("log");
            if log.ruleset != RulesetName::Modern || log.mode.is_some() {
                continue;
            }
            let whole = crate::rules::replay(&log).expect("replays");
            let seed = log.seed().expect("seed").state();
            let mut r = SeatReplay::new(RulesetName::Modern, 2, seed, log.start_level as u8);
            tokio::time::advance(std::time::Duration::from_secs(3600)).await;
            let (mut sent, mut ii, mut gi) = (0, 0, 0);
            for end in (60..=log.frames + 59).step_by(60).map(|f| f.min(log.frames)) {
                let inputs: Vec<(u32, u8)> =
                    log.inputs[ii..].iter().take_while(|e| e.0 < end).map(|&(f, m)| (f, m as u8)).collect();
                let garbage: Vec<(u32, u8, u8)> = log.garbage[gi..]
                    .iter()
                    .take_while(|g| g.0 <= end)
                    .map(|&(f, n, h)| (f, n as u8, h as u8))
                    .collect();
                for g in &garbage {
                    r.owe(g.1, g.2);
                }
                let handling =
                    if ii == 0 && gi == 0 && end == 60.min(log.frames) { log.handling } else { None };
                sent += r.advance(end, &inputs, &garbage, handling).expect("a valid stream");
                (ii, gi) = (ii + inputs.len(), gi + garbage.len());
            }
            assert_eq!(r.game().expect("game").final_state(), whole.final_state(), "{}", vector["name"]);
            assert_eq!(sent, whole.sent, "{}", vector["name"]);
            total += sent;
        }
        assert!(total > 0, "the vectors send garbage");
    }

    #[tokio::test(start_paused = true)]
    async fn out_of_order_foreign_garbage_and_running_ahead_are_refused() {
        let mut r = SeatReplay::new(RulesetName::Modern, 2, 7, 0);
        assert!(r.advance(10, &[(5, 1)], &[], None).is_ok());
        assert!(r.advance(20, &[(4, 1)], &[], None).is_err(), "an entry before the last step");
        assert!(r.advance(5, &[], &[], None).is_err(), "frames go forward");
        assert!(r.advance(20, &[], &[(12, 4, 0)], None).is_err(), "garbage the server never sent");
        assert!(r.advance(CLOCK_SLACK_FRAMES as u32 + 100, &[], &[], None).is_err(), "ahead of the clock");
        assert!(
            r.advance(20, &[(12, 255)], &[], Some(Handling::DEFAULT)).is_err(),
            "handling after the start"
        );
        assert!(r.advance(20, &[(12, 2)], &[], None).is_ok());
    }
}
