//! The duo WebSocket protocol, version [`PROTOCOL_VERSION`]: every message either side may send, as
//! typed serde enums, plus the bounds each field must meet. `PROTOCOL.md` is the prose version.
//!
//! Parsing is strict (`deny_unknown_fields`, exact types) so that a client bug shows up as an `error`
//! message naming the field instead of being silently ignored; [`parse`] never panics and bounds the
//! length of any message text it returns.

mod client;
mod server;

pub use client::{BoardState, ClientMsg, Piece, check_totals};
pub use server::{ResumedSnapshot, ServerMsg};

use serde::Deserialize;

/// Protocol version spoken by this server.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest WebSocket message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 4096;
/// Cells in a board (20 rows of 10).
pub const BOARD_CELLS: usize = 200;
/// Longest preview queue relayed.
pub const MAX_NEXT: usize = 5;
/// Most garbage lines in one `garbage` message.
pub const MAX_GARBAGE_LINES: u8 = 10;

/// A well-formed message the server will not carry out, answered with an `error` message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Stable error code (see `PROTOCOL.md`).
    pub code: &'static str,
    /// Human-readable detail.
    pub message: std::borrow::Cow<'static, str>,
}

impl Refusal {
    /// A refusal with a fixed message.
    pub const fn new(code: &'static str, message: &'static str) -> Self {
        Refusal { code, message: std::borrow::Cow::Borrowed(message) }
    }

    /// A refusal with a formatted message.
    pub fn with(code: &'static str, message: String) -> Self {
        Refusal { code, message: std::borrow::Cow::Owned(message) }
    }
}

/// Why an incoming text could not become a [`ClientMsg`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// The `type` of the message, if it was a known one.
    pub reference: Option<&'static str>,
    /// What was wrong (at most ~160 characters).
    pub message: String,
}

/// The hot path: a `state` message parsed straight into a struct. serde's internally tagged enums
/// buffer every field before choosing the variant; relayed boards are most of the traffic, so they
/// skip that. Anything this does not accept goes through the general parser for its error message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastState {
    #[serde(rename = "type")]
    _type: StateTag,
    board: String,
    piece: Option<Piece>,
    next: String,
    hold: Option<char>,
    score: u32,
    level: u32,
    lines: u32,
    #[serde(default)]
    pending: u8,
}

#[derive(Deserialize)]
enum StateTag {
    #[serde(rename = "state")]
    State,
}

/// What a `state` message starts with when a client writes it compactly with `type` first.
pub const STATE_PREFIX: &str = r#"{"type":"state""#;

/// Parses and validates one client message.
pub fn parse(text: &str) -> Result<ClientMsg, ParseError> {
    if text.starts_with(STATE_PREFIX)
        && let Ok(f) = serde_json::from_str::<FastState>(text)
    {
        let state = BoardState {
            board: f.board,
            piece: f.piece,
            next: f.next,
            hold: f.hold,
            score: f.score,
            level: f.level,
            lines: f.lines,
            pending: f.pending,
        };
        state.validate().map_err(|message| ParseError { reference: Some("state"), message })?;
        return Ok(ClientMsg::State(state));
    }
    let msg: ClientMsg =
        serde_json::from_str(text).map_err(|e| ParseError { reference: None, message: describe(&e) })?;
    let reference = Some(msg.kind());
    let invalid = |message: String| ParseError { reference, message };
    match &msg {
        ClientMsg::State(state) => state.validate().map_err(invalid)?,
        ClientMsg::Garbage { lines } if *lines == 0 || *lines > MAX_GARBAGE_LINES => {
            return Err(invalid(format!("lines must be 1 to {MAX_GARBAGE_LINES}")));
        }
        ClientMsg::GameOver { score, lines, level } => {
            check_totals(*score, *lines, *level).map_err(invalid)?
        }
        ClientMsg::Hello { resume_token: Some(t), .. } if t.len() > 64 => {
            return Err(invalid("resumeToken is too long".into()));
        }
        _ => {}
    }
    Ok(msg)
}

/// serde's message without the position suffix, cut to a bounded length (it may quote input).
fn describe(e: &serde_json::Error) -> String {
    let full = e.to_string();
    let text = full.rsplit_once(" at line ").map_or(full.as_str(), |(head, _)| head);
    let mut out: String = text.chars().take(160).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not valid JSON: {out}")
        }
        _ => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_board() -> String {
        ".".repeat(BOARD_CELLS)
    }

    #[test]
    fn every_client_message_parses() {
        let state = format!(
            r#"{{"type":"state","board":"{}","piece":{{"kind":"T","x":4,"y":0,"rot":0}},"next":"SZ","hold":null,"score":0,"level":0,"lines":0}}"#,
            empty_board()
        );
        let cases = [
            r#"{"type":"hello","protocol":1}"#,
            r#"{"type":"hello","protocol":1,"resumeToken":"abc"}"#,
            r#"{"type":"ping"}"#,
            r#"{"type":"watch_scores"}"#,
            r#"{"type":"unwatch_scores"}"#,
            r#"{"type":"create_room","name":"ada","startLevel":3}"#,
            r#"{"type":"join_room","name":"bob","code":"K7QX2M"}"#,
            r#"{"type":"quick_match","name":"cy","startLevel":0}"#,
            r#"{"type":"leave_room"}"#,
            state.as_str(),
            r#"{"type":"garbage","lines":2}"#,
            r#"{"type":"pause"}"#,
            r#"{"type":"unpause"}"#,
            r#"{"type":"game_over","score":10,"lines":1,"level":0}"#,
            r#"{"type":"rematch"}"#,
        ];
        for text in cases {
            let msg = parse(text).unwrap_or_else(|e| panic!("{text}: {e:?}"));
            assert!(text.contains(msg.kind()), "{text} parsed as {}", msg.kind());
        }
    }

    #[test]
    fn unknown_fields_and_types_are_refused() {
        for text in [
            r#"{"type":"ping","x":1}"#,
            r#"{"type":"pause","by":"me"}"#,
            r#"{"type":"create_room","name":"a","startLevel":0,"admin":true}"#,
            r#"{"type":"launch_missiles"}"#,
            r#"{"protocol":1}"#,
            r#"{"type":"create_room","name":"a","startLevel":-1}"#,
            r#"{"type":"create_room","name":"a","startLevel":1.5}"#,
            r#"{"type":"create_room","name":"a","startLevel":"1"}"#,
            r#"[1,2,3]"#,
            r#"null"#,
            "not json",
            "",
        ] {
            assert!(parse(text).is_err(), "{text} should be refused");
        }
    }

    #[test]
    fn state_bounds_name_the_field() {
        let bad_board = format!(
            r#"{{"type":"state","board":"{}","piece":null,"next":"","hold":null,"score":0,"level":0,"lines":0}}"#,
            "X".repeat(BOARD_CELLS)
        );
        let err = parse(&bad_board).expect_err("bad cells");
        assert!(err.message.starts_with("board"), "{}", err.message);
        assert_eq!(err.reference, Some("state"));
        let bad_piece = format!(
            r#"{{"type":"state","board":"{}","piece":{{"kind":"T","x":99,"y":0,"rot":0}},"next":"","hold":null,"score":0,"level":0,"lines":0}}"#,
            empty_board()
        );
        assert!(parse(&bad_piece).expect_err("x out of range").message.starts_with("piece"));
    }

    #[test]
    fn the_fast_state_path_agrees_with_the_general_one() {
        let compact = format!(
            r#"{{"type":"state","board":"{}","piece":{{"kind":"T","x":4,"y":0,"rot":0}},"next":"SZ","hold":"I","score":5,"level":1,"lines":2}}"#,
            empty_board()
        );
        let spaced = compact.replacen(r#"{"type":"state""#, r#"{ "type" : "state" "#, 1);
        assert!(compact.starts_with(STATE_PREFIX) && !spaced.starts_with(STATE_PREFIX));
        assert_eq!(parse(&compact).expect("fast"), parse(&spaced).expect("general"));
        let extra = compact.replacen(r#""lines":2"#, r#""lines":2,"x":1"#, 1);
        assert!(parse(&extra).is_err(), "unknown fields are refused on the fast path too");
    }

    #[test]
    fn state_may_carry_pending_garbage_up_to_twenty_lines() {
        let with = |n: u32| {
            format!(
                r#"{{"type":"state","board":"{}","piece":null,"next":"","hold":null,"score":0,"level":0,"lines":0,"pending":{n}}}"#,
                empty_board()
            )
        };
        let Ok(ClientMsg::State(s)) = parse(&with(20)) else { panic!("20 pending lines are accepted") };
        assert_eq!(s.pending, 20);
        assert!(ServerMsg::OpponentState(&s).to_json().ends_with(r#""pending":20}"#));
        assert!(parse(&with(21)).is_err_and(|e| e.message.contains("pending")));
    }

    #[test]
    fn garbage_must_be_one_to_ten_lines() {
        assert!(parse(r#"{"type":"garbage","lines":0}"#).is_err());
        assert!(parse(r#"{"type":"garbage","lines":11}"#).is_err());
        assert!(parse(r#"{"type":"garbage","lines":10}"#).is_ok());
    }

    #[test]
    fn error_text_is_bounded_even_for_huge_input() {
        let huge = format!(r#"{{"type":"{}"}}"#, "x".repeat(10_000));
        let err = parse(&huge).expect_err("unknown type");
        assert!(err.message.chars().count() <= 200, "{} chars", err.message.len());
    }

    #[test]
    fn server_messages_serialize_with_type_and_camel_case() {
        let msg = ServerMsg::MatchStart {
            code: "K7QX2M",
            seat: 1,
            seed: 7,
            start_level: 0,
            ruleset: "modern",
            rules: 2,
            game_id: "g",
            opponent: "ada",
            match_no: 1,
        };
        assert_eq!(
            msg.to_json(),
            r#"{"type":"match_start","code":"K7QX2M","seat":1,"seed":7,"startLevel":0,"ruleset":"modern","rules":2,"gameId":"g","opponent":"ada","match":1}"#
        );
        let err = ServerMsg::Error { code: "bad_message", message: "m", reference: None };
        assert_eq!(err.to_json(), r#"{"type":"error","code":"bad_message","message":"m","ref":null}"#);
        assert_eq!(ServerMsg::Pong {}.to_json(), r#"{"type":"pong"}"#);
    }

    #[test]
    fn opponent_state_relays_the_same_fields() {
        let state = BoardState {
            board: empty_board(),
            piece: None,
            next: "I".into(),
            hold: Some('T'),
            score: 1,
            level: 2,
            lines: 3,
            pending: 0,
        };
        let json = ServerMsg::OpponentState(&state).to_json();
        assert!(json.starts_with(r#"{"type":"opponent_state","board":""#), "{json}");
        assert!(json.ends_with(r#""next":"I","hold":"T","score":1,"level":2,"lines":3}"#), "{json}");
    }
}
