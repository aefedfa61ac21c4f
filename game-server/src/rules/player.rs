//! A simple player for tests and benchmarks (this crate's, and the operator's real-node tests):
//! plays a real game with these rules and records its input log, so a client can submit a score
//! the server's replay accepts. Its games end quickly: in classic it stacks pieces upright in the
//! middle with soft drop held, in modern it hard-drops (after `pace` frames per piece).

use super::game::input::{CW, DOWN, HARD, LEFT, RIGHT};
use super::pieces::Seed;
use super::{Game, Goal, Rules, RulesetName};
use serde_json::{Value, json};

/// A played game and its input log (the JSON a client sends as `inputLog`).
#[derive(Debug, Clone)]
pub struct Played {
    /// The log.
    pub log: Value,
    /// The game at its end.
    pub game: Game,
}

/// The game a ticket describes (the fields of the `POST /api/games` answer).
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// Ruleset.
    pub ruleset: RulesetName,
    /// Rules version (`rules`).
    pub version: u8,
    /// Piece seed.
    pub seed: u32,
    /// Start level.
    pub start_level: u32,
    /// Sprint or blitz, or `None` for marathon and duo.
    pub goal: Option<Goal>,
}

/// Plays `setup` to its end; `variant` picks the moves (different variants, different games), and
/// in modern each piece waits `pace` frames before its hard drop (longer games). Stops after
/// 200,000 frames if the game has not ended.
pub fn play(setup: Setup, variant: u32, pace: u32) -> Played {
    let modern = setup.ruleset == RulesetName::Modern;
    let rules = Rules::new(setup.ruleset, setup.version, None);
    let mut game = Game::new(rules, &Seed::Number(setup.seed), setup.start_level, setup.goal);
    let mut inputs: Vec<(u32, u8)> = Vec::new();
    let (mut last, mut piece, mut taps, mut since) = (0u8, 0u32, 0u32, 0u32);
    while !game.over && game.frame < 200_000 {
        since += 1;
        if game.pieces != piece {
            (piece, since) = (game.pieces, 0);
            // Classic pieces fall slowly: stack them upright in the middle, so the game ends soon.
            taps = if modern {
                variant.wrapping_mul(7).wrapping_add(piece * 3) % 5
            } else {
                u32::from(piece == variant % 4)
            };
        }
        let shift = if (variant + piece).is_multiple_of(2) { LEFT } else { RIGHT };
        let mut mask = if modern { 0 } else { DOWN };
        if game.active.is_some() && last & (shift | CW | HARD) == 0 {
            if taps > 0 {
                mask |= shift;
                taps -= 1;
            } else if modern && since >= pace {
                mask |= HARD;
            } else if !modern && game.active.is_some_and(|a| a.rot == 0) {
                mask |= CW;
            }
        }
        if mask != last {
            inputs.push((game.frame, mask));
            last = mask;
        }
        game.step(mask);
    }
    let mut log = json!({
        "v": setup.version,
        "ruleset": setup.ruleset,
        "seed": setup.seed,
        "startLevel": setup.start_level,
        "frames": game.frame,
        "inputs": inputs,
        "garbage": [],
    });
    if let Some(goal) = setup.goal {
        log["mode"] = json!(goal);
    }
    Played { log, game }
}

/// The `POST /api/scores` body for `played` under ticket `game_id` and player `name`.
pub fn submission(game_id: &str, name: &str, played: &Played) -> Value {
    let g = &played.game;
    json!({
        "gameId": game_id,
        "name": name,
        "score": g.score,
        "lines": g.lines,
        "level": g.level,
        "pieces": g.pieces,
        "durationMs": super::super::verify::frames_to_ms(g.frame),
        "inputLog": played.log.to_string(),
    })
}

/// Fuzzing for tests: `text` with one to four random byte edits (a JSON-ish byte replaced, a byte
/// removed, a digit, comma or bracket inserted), drawn from the xorshift state `rng`.
pub fn mutated(text: &str, rng: &mut u64) -> String {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + next() % 4 {
        if bytes.is_empty() {
            break;
        }
        let at = (next() % bytes.len() as u64) as usize;
        match next() % 3 {
            0 => bytes[at] = b"0123456789[]{},:\"-e. "[(next() % 21) as usize],
            1 => drop(bytes.remove(at)),
            _ => bytes.insert(at, b"9,]0"[(next() % 4) as usize]),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test game longer than the server's clock slack (5 s) would be refused as "lasted longer
    /// than the time since it was issued".
    #[test]
    fn games_end_within_five_seconds_of_play() {
        for (ruleset, level) in
            [(RulesetName::Classic, 0), (RulesetName::Classic, 9), (RulesetName::Modern, 0)]
        {
            for variant in 0..8u32 {
                let setup =
                    Setup { ruleset, version: 2, seed: variant * 7919, start_level: level, goal: None };
                let played = play(setup, variant, 0);
                assert!(played.game.over, "{ruleset:?} {level} {variant}");
                assert!(
                    played.game.frame <= 300,
                    "{ruleset:?} {level} {variant}: {} frames",
                    played.game.frame
                );
                let log = super::super::InputLog::parse(&played.log.to_string()).expect("a valid log");
                assert_eq!(
                    super::super::replay(&log).expect("replays").final_state(),
                    played.game.final_state()
                );
            }
        }
    }
}
