//! Real games for issued tickets, through the library's test player
//! (`tetris_game_server::rules::player`): the ticket (`gameId`) is decoded as a client could (its
//! payload is plain hex), the game played, and the submission a browser would send returned.

use serde_json::Value;
use tetris_game_server::rules::player::{self, Played, Setup};
use tetris_game_server::rules::{Game, Goal, RulesetName};

/// What a ticket says.
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

fn setup(game_id: &str) -> Setup {
    let t = ticket_info(game_id);
    Setup {
        ruleset: if t.modern { RulesetName::Modern } else { RulesetName::Classic },
        version: t.rules,
        seed: t.seed,
        start_level: t.start_level,
        goal: match t.mode {
            2 => Some(Goal::Sprint),
            3 => Some(Goal::Blitz),
            _ => None,
        },
    }
}

/// Plays the game of `game_id` to its end; `variant` picks the moves. Returns the log and the game.
pub fn play(game_id: &str, variant: u32) -> (Value, Game) {
    let Played { log, game } = player::play(setup(game_id), variant, 0);
    assert!(game.over, "the test player's game ends");
    (log, game)
}

/// The submission of `name` for a played game.
pub fn submission(game_id: &str, name: &str, log: &Value, game: &Game) -> Value {
    player::submission(game_id, name, &Played { log: log.clone(), game: game.clone() })
}

/// [`play`] then [`submission`].
pub fn played(game_id: &str, name: &str, variant: u32) -> Value {
    let (log, game) = play(game_id, variant);
    submission(game_id, name, &log, &game)
}
