//! Issued games: signed, single-use tickets that tie a submitted score to a game this server started.
//!
//! A ticket (`gameId`) is `hex(payload) "." hex(mac)` where the payload holds the mode, ruleset, start
//! level, issue time, the rules version, a random nonce and the piece seed, and the MAC is HMAC-SHA256 under a key kept in
//! the database (truncated to 128 bits). Why signed tickets rather than a table of issued games:
//! issuing costs no memory and no disk write, a ticket survives a restart and is valid on every replica
//! that shares the database, and a forged or edited ticket fails the MAC. "Only once" is enforced where
//! it must be durable anyway: the scores table has the ticket's payload as a unique key.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tetris_config::Ruleset;

/// How long a ticket may be submitted after it was issued.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(24 * 3600);
/// Length of the signing key, in bytes.
pub const KEY_BYTES: usize = 32;

/// Ticket format 2 carries the rules version (byte 12, taken from the nonce of format 1).
const VERSION: u8 = 2;
/// Format 1: no rules version (issued before the server replayed games; they expire in a day).
const VERSION_1: u8 = 1;
const PAYLOAD_BYTES: usize = 24;
const MAC_BYTES: usize = 16;

/// Which scoreboard a game belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// A single-player marathon game (played until it tops out).
    Solo,
    /// One seat of a duo match.
    Duo,
    /// Single player: clear 40 lines as fast as possible (ranked by time).
    Sprint,
    /// Single player: as many points as possible in 2 minutes.
    Blitz,
}

impl Mode {
    /// Every mode, in the order boards are listed.
    pub const ALL: [Mode; 4] = [Mode::Solo, Mode::Duo, Mode::Sprint, Mode::Blitz];

    /// The name used in JSON, metrics and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Solo => "solo",
            Mode::Duo => "duo",
            Mode::Sprint => "sprint",
            Mode::Blitz => "blitz",
        }
    }

    /// The mode named `s` in JSON.
    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether a lower time, not a higher score, ranks first.
    pub fn ranks_by_time(self) -> bool {
        self == Mode::Sprint
    }

    fn byte(self) -> u8 {
        match self {
            Mode::Solo => 0,
            Mode::Duo => 1,
            Mode::Sprint => 2,
            Mode::Blitz => 3,
        }
    }
}

/// Lines that end a sprint.
pub const SPRINT_LINES: u32 = 40;
/// Length of a blitz game.
pub const BLITZ_MS: u64 = 120_000;

/// What a valid ticket says about its game.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    /// The opaque id handed to the client.
    pub game_id: String,
    /// The payload part of the id, unique per game: the scores table's key.
    pub key: String,
    /// Scoreboard mode.
    pub mode: Mode,
    /// Rules the game was played under.
    pub ruleset: Ruleset,
    /// Level the game started at.
    pub start_level: u8,
    /// Unix seconds when it was issued.
    pub issued_at: u64,
    /// Seed of the piece sequence.
    pub seed: u32,
    /// Rules version the game is played under; `None` for a format-1 ticket, which predates it.
    pub rules_version: Option<u8>,
}

/// Why a ticket was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    /// Not a ticket of this server: bad format or bad signature.
    #[error("game id was not issued by this server")]
    Unknown,
    /// Older than [`TICKET_LIFETIME`].
    #[error("game id has expired")]
    Expired,
}

/// Issues and verifies tickets with one key.
pub struct Tickets {
    key: [u8; KEY_BYTES],
}

impl std::fmt::Debug for Tickets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tickets { key: <redacted> }")
    }
}

impl Tickets {
    /// Uses `key` (kept in the database so that restarts and replicas agree).
    pub fn new(key: [u8; KEY_BYTES]) -> Self {
        Tickets { key }
    }

    /// Issues a ticket for a new game with `seed`, played under rules version `rules`.
    pub fn issue(&self, mode: Mode, ruleset: Ruleset, start_level: u8, seed: u32, rules: u8) -> Ticket {
        self.issue_at(mode, ruleset, start_level, seed, rules, unix_now())
    }

    fn issue_at(
        &self,
        mode: Mode,
        ruleset: Ruleset,
        start_level: u8,
        seed: u32,
        rules: u8,
        issued_at: u64,
    ) -> Ticket {
        let mut payload = [0u8; PAYLOAD_BYTES];
        payload[0] = VERSION;
        payload[1] = mode.byte();
        payload[2] = match ruleset {
            Ruleset::Classic => 0,
            Ruleset::Modern => 1,
        };
        payload[3] = start_level;
        payload[4..12].copy_from_slice(&issued_at.to_be_bytes());
        payload[12] = rules;
        rand::rng().fill(&mut payload[13..20]);
        payload[20..24].copy_from_slice(&seed.to_be_bytes());
        let key = hex(&payload);
        let game_id = format!("{key}.{}", hex(&self.mac(&payload)));
        Ticket { game_id, key, mode, ruleset, start_level, issued_at, seed, rules_version: Some(rules) }
    }

    /// Checks the signature and age of `game_id` at the current time.
    pub fn verify(&self, game_id: &str) -> Result<Ticket, TicketError> {
        self.verify_at(game_id, unix_now())
    }

    fn verify_at(&self, game_id: &str, now: u64) -> Result<Ticket, TicketError> {
        let (payload_hex, mac_hex) = game_id.split_once('.').ok_or(TicketError::Unknown)?;
        let payload: [u8; PAYLOAD_BYTES] = unhex(payload_hex).ok_or(TicketError::Unknown)?;
        let mac: [u8; MAC_BYTES] = unhex(mac_hex).ok_or(TicketError::Unknown)?;
        let mut check = self.hmac();
        check.update(&payload);
        check.verify_truncated_left(&mac).map_err(|_| TicketError::Unknown)?;
        let mode = Mode::ALL.into_iter().find(|m| m.byte() == payload[1]).ok_or(TicketError::Unknown)?;
        let ruleset = match payload[2] {
            0 => Ruleset::Classic,
            1 => Ruleset::Modern,
            _ => return Err(TicketError::Unknown),
        };
        let rules_version = match payload[0] {
            VERSION => Some(payload[12]),
            VERSION_1 => None,
            _ => return Err(TicketError::Unknown),
        };
        let mut at = [0u8; 8];
        at.copy_from_slice(&payload[4..12]);
        let issued_at = u64::from_be_bytes(at);
        if now.saturating_sub(issued_at) > TICKET_LIFETIME.as_secs() {
            return Err(TicketError::Expired);
        }
        let mut seed = [0u8; 4];
        seed.copy_from_slice(&payload[20..24]);
        Ok(Ticket {
            game_id: game_id.to_owned(),
            key: payload_hex.to_owned(),
            mode,
            ruleset,
            start_level: payload[3],
            issued_at,
            seed: u32::from_be_bytes(seed),
            rules_version,
        })
    }

    /// The value of [`FORWARD_HEADER`] for a connection this server forwards to another replica on
    /// behalf of `client`, at Unix second `at`. Replicas share the key (it is in the database), so
    /// the receiving replica can tell a forwarded connection from a client that merely sends the
    /// header, and counts its per-client limits against the real client.
    pub fn sign_forward(&self, client: std::net::IpAddr, at: u64) -> String {
        let mut m = self.hmac();
        m.update(format!("tetris-forward|{client}|{at}").as_bytes());
        format!("{client} {at} {}", hex(&m.finalize().into_bytes()))
    }

    /// The client a [`FORWARD_HEADER`] value vouches for, if it was signed with this key within
    /// [`FORWARD_LIFETIME`] of `now`.
    pub fn verify_forward(&self, value: &str, now: u64) -> Option<std::net::IpAddr> {
        let mut parts = value.split(' ');
        let (client, at, tag) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || tag.len() != 64 {
            return None;
        }
        let client: std::net::IpAddr = client.parse().ok()?;
        let at: u64 = at.parse().ok()?;
        if now.abs_diff(at) > FORWARD_LIFETIME {
            return None;
        }
        let tag: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(tag.get(i * 2..i * 2 + 2)?, 16).ok())
            .collect::<Option<_>>()?;
        let mut m = self.hmac();
        m.update(format!("tetris-forward|{client}|{at}").as_bytes());
        m.verify_slice(&tag).ok()?;
        Some(client)
    }

    fn hmac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC accepts a key of any length")
    }

    fn mac(&self, payload: &[u8]) -> [u8; MAC_BYTES] {
        let mut m = self.hmac();
        m.update(payload);
        let full = m.finalize().into_bytes();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&full[..MAC_BYTES]);
        out
    }
}

/// Request header of a WebSocket one replica opens to another on behalf of a player
/// ([`Tickets::sign_forward`]).
pub const FORWARD_HEADER: &str = "x-tetris-forwarded";
/// Seconds a forward signature stays valid (clock skew between nodes included).
pub const FORWARD_LIFETIME: u64 = 60;

/// A fresh random piece seed.
pub fn new_seed() -> u32 {
    rand::rng().random()
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != N * 2 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A forward header vouches for its client only when signed with the replicas' shared key,
    /// unchanged, and recent.
    #[test]
    fn forward_headers_are_believed_only_when_signed_and_fresh() {
        let key = Tickets::new([7; KEY_BYTES]);
        let client: std::net::IpAddr = "203.0.113.9".parse().expect("ip");
        let header = key.sign_forward(client, 1_000_000);
        assert_eq!(key.verify_forward(&header, 1_000_010), Some(client));
        assert_eq!(key.verify_forward(&header, 1_000_000 + FORWARD_LIFETIME + 1), None, "stale");
        assert_eq!(Tickets::new([8; KEY_BYTES]).verify_forward(&header, 1_000_010), None, "another key");
        let other = header.replacen("203.0.113.9", "203.0.113.10", 1);
        assert_eq!(key.verify_forward(&other, 1_000_010), None, "another client under the same tag");
        for junk in ["", "203.0.113.9 1000000", "x y z", &format!("{header} extra")] {
            assert_eq!(key.verify_forward(junk, 1_000_010), None, "{junk:?}");
        }
    }

    fn tickets() -> Tickets {
        Tickets::new([7; KEY_BYTES])
    }

    #[test]
    fn issued_ticket_verifies_with_its_fields() {
        let t = tickets().issue_at(Mode::Duo, Ruleset::Modern, 5, 0xdead_beef, 2, 1_000);
        let back = tickets().verify_at(&t.game_id, 1_000 + 60).expect("fresh ticket");
        assert_eq!(back, t);
        assert_eq!(back.seed, 0xdead_beef);
        assert_eq!(back.rules_version, Some(2));
    }

    #[test]
    fn the_rules_version_a_game_was_issued_under_is_kept() {
        let v1 = tickets().issue_at(Mode::Solo, Ruleset::Modern, 0, 9, 1, 1_000);
        assert_eq!(tickets().verify_at(&v1.game_id, 1_000).map(|t| t.rules_version), Ok(Some(1)));
    }

    #[test]
    fn every_mode_survives_the_round_trip() {
        for mode in Mode::ALL {
            let t = tickets().issue_at(mode, Ruleset::Modern, 0, 9, 2, 1_000);
            assert_eq!(tickets().verify_at(&t.game_id, 1_000).map(|t| t.mode), Ok(mode));
            assert_eq!(Mode::parse(mode.as_str()), Some(mode));
        }
    }

    #[test]
    fn two_tickets_for_the_same_seed_differ() {
        let a = tickets().issue_at(Mode::Duo, Ruleset::Modern, 0, 1, 2, 1_000);
        let b = tickets().issue_at(Mode::Duo, Ruleset::Modern, 0, 1, 2, 1_000);
        assert_ne!(a.key, b.key);
    }

    #[test]
    fn edited_or_foreign_tickets_are_unknown() {
        let t = tickets().issue_at(Mode::Solo, Ruleset::Classic, 0, 1, 2, 1_000);
        // Raise the start level in the payload: the MAC no longer matches.
        let mut edited = t.game_id.clone().into_bytes();
        edited[7] = b'9';
        let edited = String::from_utf8(edited).expect("ascii");
        assert_eq!(tickets().verify_at(&edited, 1_000), Err(TicketError::Unknown));
        let other = Tickets::new([8; KEY_BYTES]);
        assert_eq!(other.verify_at(&t.game_id, 1_000), Err(TicketError::Unknown));
        for junk in ["", ".", "zz.zz", "0102", &"a".repeat(500), "ÄÄ.ÄÄ"] {
            assert_eq!(tickets().verify_at(junk, 1_000), Err(TicketError::Unknown), "{junk:?}");
        }
    }

    #[test]
    fn old_tickets_expire() {
        let t = tickets().issue_at(Mode::Solo, Ruleset::Classic, 0, 1, 2, 1_000);
        let late = 1_000 + TICKET_LIFETIME.as_secs() + 1;
        assert_eq!(tickets().verify_at(&t.game_id, late), Err(TicketError::Expired));
    }
}
