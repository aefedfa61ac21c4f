//! Messages from the client: the typed enum, the board state it relays, and their bounds.

use super::{BOARD_CELLS, MAX_NEXT};
use serde::{Deserialize, Serialize};

/// A message from the client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum ClientMsg {
    /// First message: protocol version and, to reattach to a duo seat, a resume token.
    Hello {
        /// Must equal [`PROTOCOL_VERSION`].
        protocol: u32,
        /// Token from `room_joined`.
        #[serde(default)]
        resume_token: Option<String>,
    },
    /// Keep-alive; answered with `pong`.
    Ping {},
    /// Subscribe to scoreboard updates.
    WatchScores {},
    /// Unsubscribe from scoreboard updates.
    UnwatchScores {},
    /// Open a private room.
    CreateRoom {
        /// Display name.
        name: String,
        /// Start level for both players.
        start_level: u8,
    },
    /// Join a private room by code.
    JoinRoom {
        /// Display name.
        name: String,
        /// Room code.
        code: String,
    },
    /// Pair with the next quick-match player.
    QuickMatch {
        /// Display name.
        name: String,
        /// Start level (the first player's wins).
        start_level: u8,
    },
    /// Leave the room or the queue.
    LeaveRoom {},
    /// Own board, relayed to the opponent.
    State(BoardState),
    /// The input log entries recorded since the last `inputs` (duo): the server replays them to
    /// decide the garbage each player sends, the winner and the scores.
    Inputs {
        /// Frames the client's game has played (the replay steps up to it).
        frame: u32,
        /// `[frame, mask]` entries, sorted, each before `frame`.
        #[serde(default)]
        inputs: Vec<(u32, u8)>,
        /// `[frame, lines, hole]`: garbage the client let into its queue, in the order the server
        /// sent it.
        #[serde(default)]
        garbage: Vec<(u32, u8, u8)>,
        /// The player's handling (modern, rules version 2); only in the first `inputs` of a match.
        #[serde(default)]
        handling: Option<crate::rules::Handling>,
    },
    /// Obsolete since the server computes garbage from `inputs`: refused with `garbage_by_server`.
    Garbage {
        /// 1 to [`MAX_GARBAGE_LINES`].
        lines: u8,
    },
    /// Pause both boards.
    Pause {},
    /// Unpause both boards.
    Unpause {},
    /// This player topped out.
    GameOver {
        /// Final score.
        score: u32,
        /// Lines cleared.
        lines: u32,
        /// Final level.
        level: u32,
    },
    /// Ask for another match in the same room.
    Rematch {},
}

impl ClientMsg {
    /// The message's `type`, for error references and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMsg::Hello { .. } => "hello",
            ClientMsg::Ping {} => "ping",
            ClientMsg::WatchScores {} => "watch_scores",
            ClientMsg::UnwatchScores {} => "unwatch_scores",
            ClientMsg::CreateRoom { .. } => "create_room",
            ClientMsg::JoinRoom { .. } => "join_room",
            ClientMsg::QuickMatch { .. } => "quick_match",
            ClientMsg::LeaveRoom {} => "leave_room",
            ClientMsg::State(_) => "state",
            ClientMsg::Inputs { .. } => "inputs",
            ClientMsg::Garbage { .. } => "garbage",
            ClientMsg::Pause {} => "pause",
            ClientMsg::Unpause {} => "unpause",
            ClientMsg::GameOver { .. } => "game_over",
            ClientMsg::Rematch {} => "rematch",
        }
    }
}

/// A falling piece as the client draws it; the server only bounds and relays it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Piece {
    /// One of `IJLOSTZ`.
    pub kind: char,
    /// Column, -4..=13.
    pub x: i8,
    /// Row, -4..=23.
    pub y: i8,
    /// Rotation state, 0..=3.
    pub rot: u8,
}

/// A player's visible state, as sent in `state` and relayed in `opponent_state`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BoardState {
    /// 200 cells, row-major from the top, each `.`, a piece letter or `G`.
    pub board: String,
    /// The falling piece, if any.
    pub piece: Option<Piece>,
    /// Preview queue, 0 to 5 piece letters.
    pub next: String,
    /// Held piece (modern).
    pub hold: Option<char>,
    /// Score so far.
    pub score: u32,
    /// Current level.
    pub level: u32,
    /// Lines so far.
    pub lines: u32,
    /// Garbage lines waiting to rise on this board (modern), 0..=20; optional, 0 if absent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pending: u8,
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// Most garbage lines a board may report as waiting (the client's queue bound).
pub const MAX_PENDING: u8 = 20;

const PIECE_LETTERS: &str = "IJLOSTZ";

impl BoardState {
    /// Checks every bound; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.board.len() != BOARD_CELLS || !self.board.bytes().all(|b| b"IJLOSTZG.".contains(&b)) {
            return Err("board must be 200 characters, each one of . I J L O S T Z G".into());
        }
        let bad_piece = |p: &Piece| {
            !PIECE_LETTERS.contains(p.kind)
                || !(-4..=13).contains(&p.x)
                || !(-4..=23).contains(&p.y)
                || p.rot > 3
        };
        if self.piece.as_ref().is_some_and(bad_piece) {
            return Err("piece must have kind in IJLOSTZ, x in -4..=13, y in -4..=23, rot in 0..=3".into());
        }
        if self.next.len() > MAX_NEXT || !self.next.chars().all(|c| PIECE_LETTERS.contains(c)) {
            return Err("next must be at most 5 piece letters".into());
        }
        if self.hold.is_some_and(|c| !PIECE_LETTERS.contains(c)) {
            return Err("hold must be null or a piece letter".into());
        }
        if self.pending > MAX_PENDING {
            return Err(format!("pending must be at most {MAX_PENDING}"));
        }
        check_totals(self.score, self.lines, self.level)
    }
}

/// Bounds shared by `state` and `game_over`.
pub fn check_totals(score: u32, lines: u32, level: u32) -> Result<(), String> {
    use crate::plausibility::{MAX_LEVEL, MAX_LINES, MAX_SCORE};
    if score > MAX_SCORE || lines > MAX_LINES || level > MAX_LEVEL {
        return Err(format!("score must be at most {MAX_SCORE}, lines {MAX_LINES}, level {MAX_LEVEL}"));
    }
    Ok(())
}
