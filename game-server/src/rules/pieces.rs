//! Pieces, their shapes under both rotation systems, the SRS kick tests, the seeded generator and
//! the two randomizers (`pieces.js`, `kicks.js`, `rng.js`, `randomizer.js`).
//!
//! Coordinates are (x, y) with y growing downwards. SRS shapes are relative to the top-left corner
//! of the piece's bounding box; NRS (classic) shapes are relative to the rotation pivot.

/// A tetromino.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// I.
    I,
    /// J.
    J,
    /// L.
    L,
    /// O.
    O,
    /// S.
    S,
    /// T.
    T,
    /// Z.
    Z,
}

/// Piece types in the canonical order the randomizers and the statistics use.
pub const PIECES: [Kind; 7] = [Kind::I, Kind::J, Kind::L, Kind::O, Kind::S, Kind::T, Kind::Z];

impl Kind {
    /// Index in [`PIECES`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The board cell value (1..=7).
    pub fn cell(self) -> u8 {
        self as u8 + 1
    }

    /// The letter.
    pub fn letter(self) -> char {
        b"IJLOSTZ"[self.index()] as char
    }
}

/// Board cell value of garbage rows.
pub const GARBAGE_CELL: u8 = 8;

/// Four cells of a piece.
pub type Shape = [(i32, i32); 4];

/// SRS spawn cells and bounding-box size, per piece in [`PIECES`] order.
const SRS_SPAWN: [(i32, Shape); 7] = [
    (4, [(0, 1), (1, 1), (2, 1), (3, 1)]),
    (3, [(0, 0), (0, 1), (1, 1), (2, 1)]),
    (3, [(2, 0), (0, 1), (1, 1), (2, 1)]),
    (2, [(0, 0), (1, 0), (0, 1), (1, 1)]),
    (3, [(1, 0), (2, 0), (0, 1), (1, 1)]),
    (3, [(1, 0), (0, 1), (1, 1), (2, 1)]),
    (3, [(0, 0), (1, 0), (1, 1), (2, 1)]),
];

/// All SRS states: `[piece][rot]`, each the spawn state turned clockwise `rot` times in its box.
fn srs_table() -> [[Shape; 4]; 7] {
    let mut out = [[[(0, 0); 4]; 4]; 7];
    for (p, (size, spawn)) in SRS_SPAWN.iter().enumerate() {
        let mut cells = *spawn;
        for state in out[p].iter_mut() {
            let mut sorted = cells;
            sorted.sort_by_key(|&(x, y)| (y, x));
            *state = sorted;
            cells = cells.map(|(x, y)| (size - 1 - y, x));
        }
    }
    out
}

static SRS: std::sync::LazyLock<[[Shape; 4]; 7]> = std::sync::LazyLock::new(srs_table);

/// NRS (NES) shapes relative to the pivot, per piece; the first state is the spawn orientation.
const NRS: [&[Shape]; 7] = [
    &[[(-2, 0), (-1, 0), (0, 0), (1, 0)], [(0, -2), (0, -1), (0, 0), (0, 1)]],
    &[
        [(-1, 0), (0, 0), (1, 0), (1, 1)],
        [(0, -1), (0, 0), (-1, 1), (0, 1)],
        [(-1, -1), (-1, 0), (0, 0), (1, 0)],
        [(0, -1), (1, -1), (0, 0), (0, 1)],
    ],
    &[
        [(-1, 0), (0, 0), (1, 0), (-1, 1)],
        [(-1, -1), (0, -1), (0, 0), (0, 1)],
        [(1, -1), (-1, 0), (0, 0), (1, 0)],
        [(0, -1), (0, 0), (0, 1), (1, 1)],
    ],
    &[[(-1, 0), (0, 0), (-1, 1), (0, 1)]],
    &[[(0, 0), (1, 0), (-1, 1), (0, 1)], [(0, -1), (0, 0), (1, 0), (1, 1)]],
    &[
        [(-1, 0), (0, 0), (1, 0), (0, 1)],
        [(0, -1), (-1, 0), (0, 0), (0, 1)],
        [(0, -1), (-1, 0), (0, 0), (1, 0)],
        [(0, -1), (0, 0), (1, 0), (0, 1)],
    ],
    &[[(-1, 0), (0, 0), (0, 1), (1, 1)], [(1, -1), (0, 0), (1, 0), (0, 1)]],
];

/// Number of NRS rotation states of `kind`.
pub fn nrs_states(kind: Kind) -> u8 {
    NRS[kind.index()].len() as u8
}

/// Cells of `kind` in state `rot` (SRS when `srs`, else NRS).
pub fn shape(srs: bool, kind: Kind, rot: u8) -> &'static Shape {
    if srs {
        &SRS[kind.index()][usize::from(rot & 3)]
    } else {
        let states = NRS[kind.index()];
        &states[usize::from(rot) % states.len()]
    }
}

/// The five kick tests of one turn `from -> to`.
type Kicks = (u8, u8, [(i32, i32); 5]);

/// SRS kicks for J, L, S, T, Z by turn (dy already flipped for y down); see `kicks.js`.
const JLSTZ_KICKS: [Kicks; 8] = [
    (0, 1, [(0, 0), (-1, 0), (-1, -1), (0, 2), (-1, 2)]),
    (1, 0, [(0, 0), (1, 0), (1, 1), (0, -2), (1, -2)]),
    (1, 2, [(0, 0), (1, 0), (1, 1), (0, -2), (1, -2)]),
    (2, 1, [(0, 0), (-1, 0), (-1, -1), (0, 2), (-1, 2)]),
    (2, 3, [(0, 0), (1, 0), (1, -1), (0, 2), (1, 2)]),
    (3, 2, [(0, 0), (-1, 0), (-1, 1), (0, -2), (-1, -2)]),
    (3, 0, [(0, 0), (-1, 0), (-1, 1), (0, -2), (-1, -2)]),
    (0, 3, [(0, 0), (1, 0), (1, -1), (0, 2), (1, 2)]),
];

const I_KICKS: [Kicks; 8] = [
    (0, 1, [(0, 0), (-2, 0), (1, 0), (-2, 1), (1, -2)]),
    (1, 0, [(0, 0), (2, 0), (-1, 0), (2, -1), (-1, 2)]),
    (1, 2, [(0, 0), (-1, 0), (2, 0), (-1, -2), (2, 1)]),
    (2, 1, [(0, 0), (1, 0), (-2, 0), (1, 2), (-2, -1)]),
    (2, 3, [(0, 0), (2, 0), (-1, 0), (2, -1), (-1, 2)]),
    (3, 2, [(0, 0), (-2, 0), (1, 0), (-2, 1), (1, -2)]),
    (3, 0, [(0, 0), (1, 0), (-2, 0), (1, 2), (-2, -1)]),
    (0, 3, [(0, 0), (-1, 0), (2, 0), (-1, -2), (2, 1)]),
];

/// 180-degree turns (version 2): in place, up, right, left, down.
const HALF_TURN: [(i32, i32); 5] = [(0, 0), (0, -1), (1, 0), (-1, 0), (0, 1)];

/// The kick tests to try, in order, when `kind` turns from state `from` to state `to`.
pub fn srs_kicks(kind: Kind, from: u8, to: u8) -> &'static [(i32, i32)] {
    if kind == Kind::O {
        return &[(0, 0)];
    }
    if (from + 2) % 4 == to {
        return &HALF_TURN;
    }
    let table = if kind == Kind::I { &I_KICKS } else { &JLSTZ_KICKS };
    table.iter().find(|(f, t, _)| *f == from && *t == to).map_or(&[(0, 0)], |(_, _, k)| k)
}

const WEYL: u32 = 0x9e37_79b9;

/// A seed as a log carries it: a 32-bit integer, or a text hashed with FNV-1a over UTF-16 units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seed {
    /// Used as the state directly.
    Number(u32),
    /// Hashed (`seedToState`).
    Text(String),
}

impl Seed {
    /// The generator's initial state.
    pub fn state(&self) -> u32 {
        match self {
            Seed::Number(n) => *n,
            Seed::Text(text) => text
                .encode_utf16()
                .fold(0x811c_9dc5u32, |h, unit| (h ^ u32::from(unit)).wrapping_mul(0x0100_0193)),
        }
    }
}

/// The engine's deterministic generator: a Weyl sequence through the MurmurHash3 finalizer.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u32,
}

impl Rng {
    /// A generator starting at `state`.
    pub fn new(state: u32) -> Self {
        Rng { state }
    }

    /// The next unsigned 32-bit value.
    pub fn next_u32(&mut self) -> u32 {
        self.state = self.state.wrapping_add(WEYL);
        let mut z = self.state;
        z = (z ^ (z >> 16)).wrapping_mul(0x85eb_ca6b);
        z = (z ^ (z >> 13)).wrapping_mul(0xc2b2_ae35);
        z ^ (z >> 16)
    }

    /// An integer in `0..n` (plain modulo, as the JavaScript engine).
    pub fn int(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }
}

/// The piece generator of a ruleset.
#[derive(Debug, Clone)]
pub enum Randomizer {
    /// Modern: the 7-bag, each bag shuffled with Fisher-Yates from the end.
    Bag {
        /// The generator.
        rng: Rng,
        /// The current bag in hand-out order.
        bag: [Kind; 7],
        /// Pieces of `bag` already handed out.
        taken: usize,
    },
    /// Classic: roll 8; a reroll or a repeat rolls again among 7 and keeps that.
    Nes {
        /// The generator.
        rng: Rng,
        /// The previous roll (`None` before the first).
        prev: Option<u32>,
    },
}

impl Randomizer {
    /// The bag (`bag == true`) or NES randomizer over `rng`.
    pub fn new(bag: bool, rng: Rng) -> Self {
        if bag { Randomizer::Bag { rng, bag: PIECES, taken: 7 } } else { Randomizer::Nes { rng, prev: None } }
    }

    /// The next piece.
    pub fn next_piece(&mut self) -> Kind {
        match self {
            Randomizer::Bag { rng, bag, taken } => {
                if *taken == 7 {
                    let mut fresh = PIECES;
                    for i in (1..7).rev() {
                        let j = rng.int(i as u32 + 1) as usize;
                        fresh.swap(i, j);
                    }
                    *bag = fresh;
                    *taken = 0;
                }
                let kind = bag[*taken];
                *taken += 1;
                kind
            }
            Randomizer::Nes { rng, prev } => {
                let mut roll = rng.int(8);
                if roll == 7 || Some(roll) == *prev {
                    roll = rng.int(7);
                }
                *prev = Some(roll);
                PIECES[roll as usize]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_seeds_hash_with_fnv1a_over_utf16() {
        // FNV-1a of "" is the offset basis; "a" is a published test value.
        assert_eq!(Seed::Text(String::new()).state(), 0x811c_9dc5);
        assert_eq!(Seed::Text("a".into()).state(), 0xe40c_292c);
    }

    #[test]
    fn every_bag_holds_each_piece_once() {
        let mut r = Randomizer::new(true, Rng::new(42));
        for _ in 0..10 {
            let mut seen: Vec<Kind> = (0..7).map(|_| r.next_piece()).collect();
            seen.sort_by_key(|k| k.index());
            assert_eq!(seen, PIECES);
        }
    }

    #[test]
    fn srs_states_turn_clockwise_in_the_box() {
        // T points up at spawn and right after one clockwise turn.
        assert_eq!(shape(true, Kind::T, 1), &[(1, 0), (1, 1), (2, 1), (1, 2)]);
        assert_eq!(srs_kicks(Kind::T, 0, 2), &HALF_TURN);
    }
}
