//! Messages from the server, serialized once per event and shared between recipients.

use super::client::BoardState;
use serde::Serialize;

/// A message the server sends. Serialized once per message and shared between recipients.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", rename_all_fields = "camelCase")]
pub enum ServerMsg<'a> {
    /// Answer to `hello`.
    Welcome {
        /// Protocol version.
        protocol: u32,
        /// `classic` or `modern`.
        ruleset: &'static str,
        /// True once the server is shutting down.
        draining: bool,
        /// True when the hello carried a valid resume token.
        resumed: bool,
    },
    /// Answer to `ping`.
    Pong {},
    /// Something the client sent was refused.
    Error {
        /// Stable error code.
        code: &'static str,
        /// Human-readable detail.
        message: &'a str,
        /// The `type` of the offending message, if it was parsed that far.
        #[serde(rename = "ref")]
        reference: Option<&'static str>,
    },
    /// Waiting for a quick-match opponent.
    Queued {},
    /// Entered a room.
    RoomJoined {
        /// Room code.
        code: &'a str,
        /// 0 (first player) or 1.
        seat: u8,
        /// Secret for reconnecting to this seat.
        resume_token: &'a str,
        /// Names of the players in the room, by seat.
        players: Vec<&'a str>,
    },
    /// The second player arrived.
    OpponentJoined {
        /// Opponent's name.
        name: &'a str,
    },
    /// A match begins.
    MatchStart {
        /// Room code.
        code: &'a str,
        /// Recipient's seat.
        seat: u8,
        /// Shared piece seed.
        seed: u32,
        /// Shared start level.
        start_level: u8,
        /// Rules.
        ruleset: &'static str,
        /// Rules version to play under (the input log's `v`).
        rules: u8,
        /// Recipient's ticket for the duo scoreboard.
        game_id: &'a str,
        /// Opponent's name.
        opponent: &'a str,
        /// Match number in this room.
        #[serde(rename = "match")]
        match_no: u32,
    },
    /// The opponent's latest board.
    OpponentState(&'a BoardState),
    /// Garbage from the opponent.
    Garbage {
        /// Lines to add.
        lines: u8,
        /// Empty column, chosen by the server.
        hole: u8,
    },
    /// The match is paused.
    Paused {
        /// `you` or `opponent`.
        by: &'static str,
    },
    /// The match is unpaused.
    Unpaused {
        /// `you` or `opponent`.
        by: &'static str,
    },
    /// The opponent's socket dropped.
    OpponentDisconnected {
        /// Seconds they have to come back.
        grace_seconds: u32,
    },
    /// The opponent is back.
    OpponentReconnected {},
    /// The match is over.
    MatchEnd {
        /// Winning seat, if any.
        winner: Option<u8>,
        /// `won`, `lost` or `none`.
        you: &'static str,
        /// Why it ended.
        reason: &'static str,
        /// Match number.
        #[serde(rename = "match")]
        match_no: u32,
        /// Each seat's final score, from the server's replay of its inputs.
        scores: [u64; 2],
        /// Garbage lines each seat sent, from the same replays.
        garbage_sent: [u32; 2],
    },
    /// Classic: the opponent topped out with this final score; pass it to win.
    OpponentToppedOut {
        /// Their final score.
        score: u32,
    },
    /// The opponent wants a rematch.
    RematchRequested {},
    /// The room is gone.
    RoomClosed {
        /// Why.
        reason: &'static str,
    },
    /// Reattached to a seat after a reconnect.
    Resumed(Box<ResumedSnapshot<'a>>),
    /// The server is shutting down.
    Draining {
        /// Seconds running matches may still take.
        seconds: u32,
    },
}

/// Everything a reconnecting client needs to redraw its room.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumedSnapshot<'a> {
    /// Room code.
    pub code: &'a str,
    /// Recipient's seat.
    pub seat: u8,
    /// `waiting`, `playing` or `finished`.
    pub phase: &'static str,
    /// Whether the match is paused.
    pub paused: bool,
    /// Opponent's name, if seated.
    pub opponent: Option<&'a str>,
    /// Match number (null while waiting).
    #[serde(rename = "match")]
    pub match_no: Option<u32>,
    /// Piece seed (null while waiting).
    pub seed: Option<u32>,
    /// Start level.
    pub start_level: u8,
    /// Rules.
    pub ruleset: &'static str,
    /// Rules version to play under.
    pub rules: u8,
    /// Recipient's ticket (null while waiting).
    pub game_id: Option<&'a str>,
    /// How many `inputs` entries and garbage entries of the recipient the server has replayed, so
    /// a reloaded page sends only what follows.
    pub replayed: [usize; 2],
    /// Recipient's last state seen by the server.
    pub you: Option<&'a BoardState>,
    /// Opponent's last state seen by the server.
    pub opponent_state: Option<&'a BoardState>,
}

impl ServerMsg<'_> {
    /// Serializes the message to its JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages contain only serializable fields")
    }
}
