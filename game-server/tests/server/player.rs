//! A player for tests and the benchmark (`examples/loadgen.rs` includes this file): plays a real
//! game for an issued ticket with the Rust rules engine and returns the submission a browser would
//! send (totals plus input log). Its games are short (a few seconds of play), so a score submitted
//! at once passes the server's clock check; [`play_paced`] plays longer modern games.

use serde_json::{Value, json};
use tetris_game_server::rules::game::input::{CW, DOWN, HARD, LEFT, RIGHT};
use tetris_game_server::rules::pieces::Seed;
use tetris_game_server::rules::{Game, Goal, Rules, RulesetName};

/// What a ticket (`gameId`) says, decoded as a client could: the payload is plain hex.
#[derive(Debug, Clone, Copy)]
pub struct TicketInfo {
    pub mode: u8,
    pub modern: bool,
    pub start_level: u32,
    pub rules: u8,
    pub seed: u32,
}

pub fn ticket_info(game_id: &str) -> TicketInfo {
    let hex = game_id.split('.').next().expect("payload");
    let byte = |i: usize| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("hex");
    TicketInfo {
        mode: byte(1),
        modern: byte(2) == 1,
        start_level: u32::from(byte(3)),
        rules: byte(12),
        seed: u32::from_be_bytes([byte(20), byte(21), byte(22), byte(23)]),
    }
}

/// Plays the game of `game_id` to its end; `variant` picks the moves, so different variants
/// give different games (and usually different scores). Returns the log and the final game.
pub fn play(game_id: &str, variant: u32) -> (Value, Game) {
    play_paced(game_id, variant, 0)
}

/// [`play`], but in modern each piece waits `pace` frames before its hard drop (gravity and lock
/// delay act meanwhile), so the game lasts longer.
pub fn play_paced(game_id: &str, variant: u32, pace: u32) -> (Value, Game) {
    let t = ticket_info(game_id);
    let goal = match t.mode {
        2 => Some(Goal::Sprint),
        3 => Some(Goal::Blitz),
        _ => None,
    };
    let ruleset = if t.modern { RulesetName::Modern } else { RulesetName::Classic };
    let mut game = Game::new(Rules::new(ruleset, t.rules, None), &Seed::Number(t.seed), t.start_level, goal);
    let mut inputs: Vec<(u32, u8)> = Vec::new();
    let (mut last, mut piece, mut taps, mut since) = (0u8, 0u32, 0u32, 0u32);
    while !game.over && game.frame < 200_000 {
        since += 1;
        if game.pieces != piece {
            (piece, since) = (game.pieces, 0);
            // Classic pieces fall slowly: stack them upright in the middle, so the game ends soon.
            taps = if t.modern {
                variant.wrapping_mul(7).wrapping_add(piece * 3) % 5
            } else {
                u32::from(piece == variant % 4)
            };
        }
        let shift = if (variant + piece).is_multiple_of(2) { LEFT } else { RIGHT };
        let mut mask = if t.modern { 0 } else { DOWN };
        if game.active.is_some() && last & (shift | CW | HARD) == 0 {
            if taps > 0 {
                mask |= shift;
                taps -= 1;
            } else if t.modern && since >= pace {
                mask |= HARD;
            } else if game.active.is_some_and(|a| a.rot == 0) {
                mask |= CW;
            }
        }
        if mask != last {
            inputs.push((game.frame, mask));
            last = mask;
        }
        game.step(mask);
    }
    assert!(game.over, "the test player's game ends");
    let mut log = json!({
        "v": t.rules,
        "ruleset": if t.modern { "modern" } else { "classic" },
        "seed": t.seed,
        "startLevel": t.start_level,
        "frames": game.frame,
        "inputs": inputs,
        "garbage": [],
    });
    if let Some(goal) = goal {
        log["mode"] = json!(if goal == Goal::Sprint { "sprint" } else { "blitz" });
    }
    (log, game)
}

/// The submission of `name` for the played game: totals and log as the browser sends them.
pub fn submission(game_id: &str, name: &str, log: &Value, game: &Game) -> Value {
    json!({
        "gameId": game_id,
        "name": name,
        "score": game.score,
        "lines": game.lines,
        "level": game.level,
        "pieces": game.pieces,
        "durationMs": (u64::from(game.frame) * 1000 + 30) / 60,
        "inputLog": log.to_string(),
    })
}

/// [`play`] then [`submission`].
pub fn played(game_id: &str, name: &str, variant: u32) -> Value {
    let (log, game) = play(game_id, variant);
    submission(game_id, name, &log, &game)
}

/// Regression guard for the helper itself: a test game longer than the server's clock slack
/// (5 s) would be refused as "lasted longer than the time since it was issued".
#[test]
fn test_games_are_short_enough_to_submit_at_once() {
    for (ruleset, level) in [(0u8, 0u8), (0, 3), (0, 9), (1, 0), (1, 3)] {
        for variant in 0..8u32 {
            let mut payload = [0u8; 24];
            (payload[0], payload[2], payload[3], payload[12]) = (2, ruleset, level, 2);
            payload[20..24].copy_from_slice(&(variant * 7919).to_be_bytes());
            let id: String = payload.iter().map(|b| format!("{b:02x}")).collect::<String>() + ".00";
            let (_, game) = play(&id, variant);
            assert!(
                game.frame <= 300,
                "ruleset {ruleset} level {level} variant {variant}: {} frames",
                game.frame
            );
        }
    }
}
