//! The frame step (`game.js`), the board helpers (`board.js`) and the scoring of a lock
//! (`scoring.js`). One [`Game`] advances one 60 Hz frame per [`Game::step`].
//!
//! Method names follow the JavaScript ones so the two read side by side; only what changes the
//! game's outcome is ported (the client's events for sounds and call-outs are not).

use super::pieces::{GARBAGE_CELL, Kind, PIECES, Randomizer, Rng, Seed, nrs_states, shape, srs_kicks};
use super::{
    ATTACK_BACK_TO_BACK, ATTACK_COMBO, ATTACK_LINES, ATTACK_MINI, ATTACK_TSPIN, CELL_UNITS,
    CLASSIC_LINE_POINTS, COMBO_STEP, Goal, MAX_PENDING_GARBAGE, MODERN_LINE_POINTS, MODERN_MINI_POINTS,
    MODERN_TSPIN_POINTS, Rules, classic_level, modern_gravity, modern_level, nes_frames_per_cell,
};

/// Board width.
pub const WIDTH: i32 = 10;
/// Rows above the visible field.
pub const HIDDEN: i32 = 4;
/// Visible rows.
pub const VISIBLE: i32 = 20;
/// All rows.
pub const HEIGHT: i32 = VISIBLE + HIDDEN;
const CELLS: usize = (WIDTH * HEIGHT) as usize;

/// Input mask bits.
pub mod input {
    /// Move left.
    pub const LEFT: u8 = 1;
    /// Move right.
    pub const RIGHT: u8 = 2;
    /// Soft drop.
    pub const DOWN: u8 = 4;
    /// Rotate clockwise.
    pub const CW: u8 = 8;
    /// Rotate counter-clockwise.
    pub const CCW: u8 = 16;
    /// Hard drop.
    pub const HARD: u8 = 32;
    /// Hold.
    pub const HOLD: u8 = 64;
    /// Rotate 180 degrees (version 2).
    pub const ROT180: u8 = 128;
}
use input::{CCW, CW, DOWN, HARD, HOLD, LEFT, RIGHT, ROT180};

/// Presses that, made while no piece is active, act when the next one spawns (version 2).
const BUFFERED: u8 = CW | CCW | ROT180 | HARD | HOLD;

/// The falling piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Active {
    /// Its type.
    pub kind: Kind,
    /// Rotation state.
    pub rot: u8,
    /// Column of its origin.
    pub x: i32,
    /// Row of its origin.
    pub y: i32,
}

/// T-spin kind of a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spin {
    None,
    Mini,
    Full,
}

/// Garbage waiting to rise: `lines` rows with the empty column `hole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Rows.
    pub lines: u32,
    /// Empty column.
    pub hole: u8,
}

/// One game.
#[derive(Debug, Clone)]
pub struct Game {
    rules: Rules,
    goal: Option<Goal>,
    randomizer: Randomizer,
    board: [u8; CELLS],
    queue: std::collections::VecDeque<Kind>,
    /// The held piece.
    pub hold: Option<Kind>,
    hold_used: bool,
    /// The falling piece, if any.
    pub active: Option<Active>,
    /// Frames played.
    pub frame: u32,
    start_level: u32,
    /// Current level.
    pub level: u32,
    /// Score.
    pub score: u64,
    /// Lines cleared.
    pub lines: u32,
    /// Pieces drawn from the queue.
    pub pieces: u32,
    /// Pieces drawn, per type in `PIECES` order.
    pub stats: [u32; 7],
    /// Whether the game has ended.
    pub over: bool,
    mask_all: u8,
    prev_mask: u8,
    buffered: u8,
    das_dir: i32,
    /// Signed: with a repeat longer than the delay (DAS 1, ARR 6) it restarts below zero, as in JS.
    das_timer: i32,
    gravity_acc: u32,
    soft_counter: u32,
    lock_timer: u32,
    lock_resets: u32,
    lowest_y: i32,
    last_kick: i32,
    /// Back-to-back pending.
    pub b2b: bool,
    /// Consecutive clears minus one (-1: none).
    pub combo: i32,
    /// Garbage waiting to rise.
    pub pending_garbage: Vec<Pending>,
    garbage_due: bool,
    clearing: Vec<i32>,
    spawn_timer: i32,
    /// Garbage lines this game sent (modern; after cancelling its own queue).
    pub sent: u32,
}

/// What a replay must reproduce; the shape of a vector's `expect` plus the state a duo result and
/// the differential test look at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FinalState {
    /// Score.
    pub score: u64,
    /// Lines.
    pub lines: u32,
    /// Level.
    pub level: u32,
    /// Frames played.
    pub frames: u32,
    /// Whether the game ended.
    pub over: bool,
    /// Pieces drawn.
    pub pieces: u32,
    /// Pieces drawn per type (`I`..`Z`).
    pub stats: std::collections::BTreeMap<char, u32>,
    /// Held piece letter.
    pub hold: Option<char>,
    /// The next five piece letters.
    pub next: String,
    /// The 20 visible rows, top first, one digit per cell.
    pub board: Vec<String>,
}

impl Game {
    /// A new game. The caller has validated `start_level` (0..=29) and that `goal` needs version 2.
    pub fn new(rules: Rules, seed: &Seed, start_level: u32, goal: Option<Goal>) -> Game {
        let randomizer = Randomizer::new(rules.modern(), Rng::new(seed.state()));
        let mut game = Game {
            rules,
            goal,
            randomizer,
            board: [0; CELLS],
            queue: std::collections::VecDeque::with_capacity(8),
            hold: None,
            hold_used: false,
            active: None,
            frame: 0,
            start_level,
            level: start_level,
            score: 0,
            lines: 0,
            pieces: 0,
            stats: [0; 7],
            over: false,
            mask_all: rules.mask_all(),
            prev_mask: 0,
            buffered: 0,
            das_dir: 0,
            das_timer: 0,
            gravity_acc: 0,
            soft_counter: 0,
            lock_timer: 0,
            lock_resets: 0,
            lowest_y: 0,
            last_kick: -1,
            b2b: false,
            combo: -1,
            pending_garbage: Vec::new(),
            garbage_due: false,
            clearing: Vec::new(),
            spawn_timer: 0,
            sent: 0,
        };
        game.fill_queue();
        game.spawn_next();
        game
    }

    /// The rule table this game plays under.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Cell value at (x, y) of the whole board.
    pub fn cell(&self, x: i32, y: i32) -> u8 {
        self.board[(y * WIDTH + x) as usize]
    }

    /// The next five pieces.
    pub fn next(&self) -> impl Iterator<Item = Kind> + '_ {
        self.queue.iter().copied().take(5)
    }

    /// The final state as the vectors describe it.
    pub fn final_state(&self) -> FinalState {
        let board = (HIDDEN..HEIGHT)
            .map(|y| (0..WIDTH).map(|x| char::from(b'0' + self.cell(x, y))).collect())
            .collect();
        FinalState {
            score: self.score,
            lines: self.lines,
            level: self.level,
            frames: self.frame,
            over: self.over,
            pieces: self.pieces,
            stats: PIECES.iter().map(|k| (k.letter(), self.stats[k.index()])).collect(),
            hold: self.hold.map(Kind::letter),
            next: self.next().map(Kind::letter).collect(),
            board,
        }
    }

    fn srs(&self) -> bool {
        self.rules.modern()
    }

    fn collides(&self, kind: Kind, rot: u8, x: i32, y: i32) -> bool {
        shape(self.srs(), kind, rot).iter().any(|&(dx, dy)| {
            let (cx, cy) = (x + dx, y + dy);
            !(0..WIDTH).contains(&cx) || !(0..HEIGHT).contains(&cy) || self.cell(cx, cy) != 0
        })
    }

    fn drop_distance(&self) -> i32 {
        let Some(p) = self.active else { return 0 };
        let mut d = 0;
        while !self.collides(p.kind, p.rot, p.x, p.y + d + 1) {
            d += 1;
        }
        d
    }

    /// Advances one frame with the buttons held in `mask`.
    pub fn step(&mut self, mask: u8) {
        if self.over {
            return;
        }
        let goal_frames = Goal::frames(self.goal);
        if goal_frames != 0 && self.frame >= goal_frames {
            self.over = true;
            return;
        }
        self.frame += 1;
        let mask = mask & self.mask_all;
        let mut pressed = mask & !self.prev_mask;
        self.prev_mask = mask;

        if self.active.is_none() {
            self.charge_das(mask);
            if self.rules.buffer {
                self.buffered |= pressed & BUFFERED;
            }
            self.spawn_timer -= 1;
            if self.spawn_timer > 0 {
                return;
            }
            self.finish_lock();
            if self.over {
                return;
            }
            pressed |= self.buffered;
            self.buffered = 0;
        }

        if self.rules.modern() && pressed & HOLD != 0 && !self.hold_used {
            self.do_hold();
            if self.over {
                return;
            }
        }
        if pressed & CW != 0 {
            self.rotate(1);
        }
        if pressed & CCW != 0 {
            self.rotate(-1);
        }
        if self.rules.rotate180 && pressed & ROT180 != 0 {
            self.rotate(2);
        }
        self.shift(mask, pressed);

        if self.rules.modern() && pressed & HARD != 0 {
            let d = self.drop_distance();
            if let Some(p) = self.active.as_mut() {
                p.y += d;
            }
            self.score += 2 * d as u64;
            if d > 0 {
                self.last_kick = -1;
            }
            self.lock();
            return;
        }
        if self.rules.modern() { self.fall_modern(mask) } else { self.fall_classic(mask) }
    }

    /// Queues `lines` garbage rows with the empty column `hole` (modern; a no-op in classic).
    pub fn add_garbage(&mut self, lines: u32, hole: u8) {
        if !self.rules.modern() || self.over {
            return;
        }
        let n = lines.min(MAX_PENDING_GARBAGE.saturating_sub(self.pending_lines()));
        if n > 0 {
            self.pending_garbage.push(Pending { lines: n, hole });
        }
    }

    /// Garbage rows waiting to rise.
    pub fn pending_lines(&self) -> u32 {
        self.pending_garbage.iter().map(|g| g.lines).sum()
    }

    // ---- movement ------------------------------------------------------------------------------

    fn grounded(&self) -> bool {
        self.active.is_some_and(|p| self.collides(p.kind, p.rot, p.x, p.y + 1))
    }

    fn after_maneuver(&mut self, was_grounded: bool) {
        if !self.rules.modern() || !was_grounded {
            return;
        }
        if self.lock_resets < self.rules.lock_resets {
            self.lock_timer = 0;
            self.lock_resets += 1;
        }
    }

    fn try_move(&mut self, dx: i32) -> bool {
        let Some(p) = self.active else { return false };
        if self.collides(p.kind, p.rot, p.x + dx, p.y) {
            return false;
        }
        let was_grounded = self.grounded();
        if let Some(a) = self.active.as_mut() {
            a.x += dx;
        }
        self.last_kick = -1;
        self.after_maneuver(was_grounded);
        true
    }

    fn move_down(&mut self) -> bool {
        let Some(p) = self.active else { return false };
        if self.collides(p.kind, p.rot, p.x, p.y + 1) {
            return false;
        }
        let y = p.y + 1;
        if let Some(a) = self.active.as_mut() {
            a.y = y;
        }
        self.last_kick = -1;
        if y > self.lowest_y {
            self.lowest_y = y;
            self.lock_resets = 0;
            self.lock_timer = 0;
        }
        true
    }

    fn rotate(&mut self, dir: i32) {
        let Some(p) = self.active else { return };
        if !self.srs() {
            let n = i32::from(nrs_states(p.kind));
            let to = ((i32::from(p.rot) + dir + n) % n) as u8;
            if n > 1 && !self.collides(p.kind, to, p.x, p.y) {
                self.active = Some(Active { rot: to, ..p });
            }
            return;
        }
        let to = ((i32::from(p.rot) + dir + 4) % 4) as u8;
        let was_grounded = self.grounded();
        for (i, &(kx, ky)) in srs_kicks(p.kind, p.rot, to).iter().enumerate() {
            if !self.collides(p.kind, to, p.x + kx, p.y + ky) {
                self.active = Some(Active { kind: p.kind, rot: to, x: p.x + kx, y: p.y + ky });
                // A 180 has no "fifth kick": any kick counts as 1.
                self.last_kick = if dir == 2 { (i as i32).min(1) } else { i as i32 };
                self.after_maneuver(was_grounded);
                return;
            }
        }
    }

    fn shift(&mut self, mask: u8, pressed: u8) {
        let left = pressed & LEFT != 0;
        let right = pressed & RIGHT != 0;
        if left && right {
            self.das_dir = 0;
            self.das_timer = 0;
            return;
        }
        if left || right {
            self.das_dir = if left { -1 } else { 1 };
            self.das_timer = 0;
            self.try_move(self.das_dir);
            return;
        }
        self.follow_held(mask);
        if self.das_dir == 0 {
            return;
        }
        self.das_timer += 1;
        let (delay, repeat) = (self.rules.das_delay as i32, self.rules.das_repeat as i32);
        if self.das_timer >= delay {
            if repeat == 0 {
                while self.try_move(self.das_dir) {}
            } else {
                self.try_move(self.das_dir);
            }
            self.das_timer = delay - repeat;
        }
    }

    fn follow_held(&mut self, mask: u8) {
        let left_held = mask & LEFT != 0;
        let right_held = mask & RIGHT != 0;
        if (self.das_dir == -1 && !left_held) || (self.das_dir == 1 && !right_held) {
            self.das_dir = if left_held {
                -1
            } else if right_held {
                1
            } else {
                0
            };
            self.das_timer = 0;
        } else if self.das_dir == 0 && left_held != right_held {
            self.das_dir = if left_held { -1 } else { 1 };
            self.das_timer = 0;
        }
    }

    fn charge_das(&mut self, mask: u8) {
        self.follow_held(mask);
        if self.das_dir != 0 {
            self.das_timer = (self.das_timer + 1).min(self.rules.das_delay as i32);
        }
    }

    fn fall_classic(&mut self, mask: u8) {
        if mask & DOWN != 0 {
            self.soft_counter += 1;
            if self.soft_counter >= self.rules.soft_drop_frames {
                self.soft_counter = 0;
                if !self.move_down() {
                    self.lock();
                    return;
                }
                self.score += 1;
                self.gravity_acc = 0;
            }
        } else {
            self.soft_counter = 0;
        }
        self.gravity_acc += 1;
        if self.gravity_acc >= nes_frames_per_cell(self.level) {
            self.gravity_acc = 0;
            if !self.move_down() {
                self.lock();
            }
        }
    }

    fn fall_modern(&mut self, mask: u8) {
        if self.rules.soft_drop_rate != 0 {
            self.soft_drop_by_rate(mask);
        } else if mask & DOWN != 0 {
            self.soft_counter += 1;
            if self.soft_counter >= self.rules.soft_drop_frames {
                self.soft_counter = 0;
                if self.move_down() {
                    self.score += 1;
                    self.gravity_acc = 0;
                }
            }
        } else {
            self.soft_counter = 0;
        }
        self.gravity_acc += modern_gravity(self.level);
        while self.gravity_acc >= CELL_UNITS {
            self.gravity_acc -= CELL_UNITS;
            if !self.move_down() {
                self.gravity_acc = 0;
                break;
            }
        }
        if self.grounded() {
            self.lock_timer += 1;
            if self.lock_timer >= self.rules.lock_delay {
                self.lock();
            }
        }
    }

    fn soft_drop_by_rate(&mut self, mask: u8) {
        if mask & DOWN == 0 {
            self.soft_counter = 0;
            return;
        }
        self.soft_counter += self.rules.soft_drop_rate;
        while self.soft_counter >= 60 {
            self.soft_counter -= 60;
            if !self.move_down() {
                self.soft_counter = 0;
                return;
            }
            self.score += 1;
            self.gravity_acc = 0;
        }
    }

    // ---- spawning, hold, lock ------------------------------------------------------------------

    fn fill_queue(&mut self) {
        while self.queue.len() < 7 {
            let next = self.randomizer.next_piece();
            self.queue.push_back(next);
        }
    }

    fn spawn_next(&mut self) {
        let Some(kind) = self.queue.pop_front() else { return };
        self.fill_queue();
        self.stats[kind.index()] += 1;
        self.pieces += 1;
        self.spawn_piece(kind);
    }

    fn spawn_piece(&mut self, kind: Kind) {
        let srs = self.srs();
        let mut piece = if srs {
            Active { kind, rot: 0, x: if kind == Kind::O { 4 } else { 3 }, y: HIDDEN - 2 }
        } else {
            Active { kind, rot: 0, x: 5, y: HIDDEN }
        };
        self.active = Some(piece);
        self.gravity_acc = 0;
        self.soft_counter = 0;
        self.lock_timer = 0;
        self.lock_resets = 0;
        self.last_kick = -1;
        if self.collides(kind, 0, piece.x, piece.y) {
            self.over = true;
            return;
        }
        if srs && !self.collides(kind, 0, piece.x, piece.y + 1) {
            piece.y += 1;
            self.active = Some(piece);
        }
        self.lowest_y = piece.y;
    }

    fn do_hold(&mut self) {
        let Some(current) = self.active.map(|p| p.kind) else { return };
        match self.hold.replace(current) {
            None => self.spawn_next(),
            Some(held) => self.spawn_piece(held),
        }
        self.hold_used = true;
    }

    fn lock(&mut self) {
        let Some(p) = self.active else { return };
        let spin = if self.srs() { self.tspin_kind(p) } else { Spin::None };
        let cells = shape(self.srs(), p.kind, p.rot).map(|(dx, dy)| (p.x + dx, p.y + dy));
        for &(x, y) in &cells {
            self.board[(y * WIDTH + x) as usize] = p.kind.cell();
        }
        self.active = None;
        self.hold_used = false;

        let rows = self.full_rows();
        self.award(rows.len() as u32, spin);
        let cleared = !rows.is_empty();
        self.clearing = rows;
        self.garbage_due = !cleared;
        let goal_lines = Goal::lines(self.goal);
        if goal_lines != 0 && self.lines >= goal_lines {
            self.remove_rows();
            self.over = true;
            return;
        }
        if !cleared && cells.iter().all(|&(_, y)| y < HIDDEN) {
            self.over = true;
            return;
        }
        let delay = self.rules.entry_delay + if cleared { self.rules.line_clear_delay } else { 0 };
        if delay == 0 {
            self.finish_lock();
        } else {
            self.spawn_timer = delay as i32;
        }
    }

    fn finish_lock(&mut self) {
        self.remove_rows();
        if self.garbage_due && !self.pending_garbage.is_empty() {
            self.insert_garbage();
        }
        self.garbage_due = false;
        if !self.over {
            self.spawn_next();
        }
    }

    fn insert_garbage(&mut self) {
        for g in std::mem::take(&mut self.pending_garbage) {
            if !self.raise_garbage(g.lines, g.hole) {
                self.over = true;
                return;
            }
        }
    }

    // ---- board ---------------------------------------------------------------------------------

    fn filled(&self, x: i32, y: i32) -> bool {
        !(0..WIDTH).contains(&x) || !(0..HEIGHT).contains(&y) || self.cell(x, y) != 0
    }

    fn full_rows(&self) -> Vec<i32> {
        (0..HEIGHT).filter(|&y| (0..WIDTH).all(|x| self.cell(x, y) != 0)).collect()
    }

    /// Removes the rows in `clearing`; everything above them falls.
    fn remove_rows(&mut self) {
        if self.clearing.is_empty() {
            return;
        }
        let mut next = [0u8; CELLS];
        let mut to = HEIGHT - 1;
        for y in (0..HEIGHT).rev() {
            if self.clearing.contains(&y) {
                continue;
            }
            let (from, dest) = ((y * WIDTH) as usize, (to * WIDTH) as usize);
            next[dest..dest + WIDTH as usize].copy_from_slice(&self.board[from..from + WIDTH as usize]);
            to -= 1;
        }
        self.board = next;
        self.clearing.clear();
    }

    /// Pushes the stack up by `lines` and fills the bottom with garbage; false on a top out.
    fn raise_garbage(&mut self, lines: u32, hole: u8) -> bool {
        let n = (lines as usize) * WIDTH as usize;
        if self.board[..n.min(CELLS)].iter().any(|&c| c != 0) {
            return false;
        }
        self.board.copy_within(n.., 0);
        for (i, cell) in self.board[CELLS - n..].iter_mut().enumerate() {
            *cell = if i % WIDTH as usize == usize::from(hole) { 0 } else { GARBAGE_CELL };
        }
        true
    }

    /// The 3-corner T-spin rule (`tspinKind`), on the board before the piece is placed.
    fn tspin_kind(&self, p: Active) -> Spin {
        if p.kind != Kind::T || self.last_kick < 0 {
            return Spin::None;
        }
        let (x, y) = (p.x, p.y);
        let corners =
            [self.filled(x, y), self.filled(x + 2, y), self.filled(x + 2, y + 2), self.filled(x, y + 2)];
        if corners.iter().filter(|&&c| c).count() < 3 {
            return Spin::None;
        }
        let (a, b) = [(0, 1), (1, 2), (2, 3), (3, 0)][usize::from(p.rot & 3)];
        if (corners[a] && corners[b]) || self.last_kick == 4 { Spin::Full } else { Spin::Mini }
    }

    // ---- scoring -------------------------------------------------------------------------------

    /// Points, lines, level, back-to-back, combo and outgoing garbage for a lock clearing `n` rows.
    fn award(&mut self, n: u32, spin: Spin) {
        let level_before = self.level;
        let multiplier = u64::from(level_before) + 1;
        let n_idx = n as usize;
        if !self.rules.modern() {
            self.score += CLASSIC_LINE_POINTS[n_idx.min(4)] * multiplier;
        } else {
            let mut base = match spin {
                Spin::Full => MODERN_TSPIN_POINTS.get(n_idx).copied().unwrap_or(0),
                Spin::Mini => MODERN_MINI_POINTS[n_idx.min(2)],
                Spin::None => MODERN_LINE_POINTS[n_idx.min(4)],
            };
            if n == 0 {
                self.score += base * multiplier;
                self.combo = -1;
            } else {
                let difficult = n == 4 || spin != Spin::None;
                let b2b_bonus = difficult && self.b2b;
                if b2b_bonus {
                    base = base * 3 / 2;
                }
                let next_combo = self.combo + 1;
                base += COMBO_STEP * next_combo as u64;
                let mut attack = match spin {
                    Spin::Full => ATTACK_TSPIN.get(n_idx).copied().unwrap_or(0),
                    Spin::Mini => ATTACK_MINI[n_idx.min(2)],
                    Spin::None => ATTACK_LINES[n_idx.min(4)],
                };
                if b2b_bonus {
                    attack += ATTACK_BACK_TO_BACK;
                }
                attack += ATTACK_COMBO[(next_combo as usize).min(ATTACK_COMBO.len() - 1)];
                self.score += base * multiplier;
                self.b2b = difficult;
                self.combo = next_combo;
                if attack > 0 {
                    self.sent += self.cancel_garbage(attack);
                }
            }
        }
        if n == 0 {
            return;
        }
        self.lines += n;
        self.level = if self.rules.modern() {
            modern_level(self.start_level, self.lines)
        } else {
            classic_level(self.start_level, self.lines)
        };
    }

    /// Cancels waiting garbage (oldest first) with an outgoing attack; returns the lines left to send.
    fn cancel_garbage(&mut self, attack: u32) -> u32 {
        let mut left = attack;
        while left > 0 && !self.pending_garbage.is_empty() {
            if self.pending_garbage[0].lines <= left {
                left -= self.pending_garbage.remove(0).lines;
            } else {
                self.pending_garbage[0].lines -= left;
                left = 0;
            }
        }
        left
    }
}
