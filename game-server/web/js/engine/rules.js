// Ruleset parameters: timings (in 60 Hz frames), gravity tables and scoring tables.
// Everything is an integer so the engine replays identically in any language.

/** NES (NTSC) frames per cell for levels 0..28; level 29 and above fall one cell per frame. */
export const NES_FRAMES_PER_CELL = [
  48, 43, 38, 33, 28, 23, 18, 13, 8, 6, 5, 5, 5, 4, 4, 4, 3, 3, 3,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
];

/** NES frames per cell at `level`. */
export function nesFramesPerCell(level) {
  return level < NES_FRAMES_PER_CELL.length ? NES_FRAMES_PER_CELL[level] : 1;
}

/** One cell in the modern gravity accumulator. */
export const CELL_UNITS = 65536;

/**
 * Modern gravity in 1/65536 cells per frame for levels 0..29: the guideline curve
 * seconds_per_row = (0.8 - (n-1) * 0.007)^(n-1) with n = level + 1, rounded once and frozen here,
 * capped at 20 cells per frame.
 */
export const MODERN_GRAVITY = [
  1092, 1377, 1768, 2311, 3075, 4169, 5759, 8107, 11634, 17026, 25416, 38709, 60169, 95483,
  154742, 256187, 433425, 749597, 1310720, 1310720, 1310720, 1310720, 1310720, 1310720, 1310720,
  1310720, 1310720, 1310720, 1310720, 1310720,
];

/** Modern gravity at `level`. */
export function modernGravity(level) {
  return MODERN_GRAVITY[Math.min(level, MODERN_GRAVITY.length - 1)];
}

/** Classic line-clear points before the (level + 1) multiplier. */
export const CLASSIC_LINE_POINTS = [0, 40, 100, 300, 1200];

/**
 * Modern points before the (level + 1) multiplier. Zero-line T-spins score nothing here (the
 * guideline gives 400 / 100): points without cleared lines would break the server's plausibility
 * bound, which is computed from lines (PROTOCOL.md rule 5).
 */
export const MODERN_POINTS = {
  lines: [0, 100, 300, 500, 800],
  tspin: [0, 800, 1200, 1600],
  mini: [0, 200, 400],
  comboStep: 50,
};

/** Garbage lines sent in duo (modern). */
export const ATTACK = {
  lines: [0, 0, 1, 2, 4],
  tspin: [0, 2, 4, 6],
  mini: [0, 0, 1],
  backToBack: 1,
  // Extra lines for the n-th consecutive clear (index = combo count, 0 = first clear).
  combo: [0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4, 4, 5],
};

/** Most garbage lines that may wait in the queue; more is dropped (a bound, not a rule players notice). */
export const MAX_PENDING_GARBAGE = 20;

/**
 * The NES level rule: the first level-up comes at min(start*10+10, max(100, start*10-50)) lines,
 * then one level every 10 lines.
 */
export function classicLevel(startLevel, lines) {
  const first = Math.min(startLevel * 10 + 10, Math.max(100, startLevel * 10 - 50));
  if (lines < first) return startLevel;
  return startLevel + 1 + Math.floor((lines - first) / 10);
}

/** Modern (fixed goal): one level every 10 lines from the start level. */
export function modernLevel(startLevel, lines) {
  return startLevel + Math.floor(lines / 10);
}

/**
 * The rules version a new game is played under. A recorded game keeps the version it was played
 * with (the input log's `v`), and replays under that version's tables for ever:
 * - 1: modern has a 15-frame line-clear delay during which input is ignored; 7 buttons.
 * - 2: modern has no line-clear delay (as tetr.io), keys pressed while no piece is active act when
 *   the next one spawns (hold, rotation, hard drop), a 180-degree rotation button, and the player's
 *   handling (DAS, ARR, soft-drop speed) is part of the game. Classic is the same in both.
 */
export const RULES_VERSION = 2;
/** Every rules version a log may carry. */
export const RULES_VERSIONS = [1, 2];

/** Per-ruleset constants of rules version 1 (see rulesFor for the current ones). */
export const RULESETS = {
  classic: {
    name: 'classic',
    fall: 'nes', // frame-table gravity, lock on the first blocked gravity step
    rotation: 'nrs',
    randomizer: 'nes',
    previewCount: 1,
    hold: false,
    hardDrop: false,
    ghost: false,
    dasDelay: 16,
    dasRepeat: 6,
    softDropFrames: 2, // one cell every 2 frames while Down is held
    entryDelay: 10,
    lineClearDelay: 18,
    garbage: false,
  },
  modern: {
    name: 'modern',
    fall: 'guideline', // fractional gravity and a lock delay
    rotation: 'srs',
    randomizer: 'bag',
    previewCount: 5,
    hold: true,
    hardDrop: true,
    ghost: true,
    dasDelay: 10,
    dasRepeat: 2,
    softDropFrames: 1,
    entryDelay: 0,
    lineClearDelay: 15,
    lockDelay: 30,
    lockResets: 15,
    garbage: true,
  },
};

/** Player handling in rules version 2 (modern): frame counts and cells per second, all integers. */
export const HANDLING_LIMITS = Object.freeze({
  das: { min: 1, max: 20 }, // frames before auto-repeat starts
  arr: { min: 0, max: 6 }, // frames between repeats; 0 moves to the wall at once
  sdr: { min: 10, max: 1200 }, // soft drop, cells per second (1200 = 20 a frame: instant)
});
/** The handling a game gets when the player changed nothing (as tetr.io's defaults, near enough). */
export const DEFAULT_HANDLING = Object.freeze({ das: 10, arr: 2, sdr: 600 });

/** Checks a handling object; returns a complete, frozen copy or throws naming the bad field. */
export function normalizeHandling(handling = {}) {
  const out = {};
  for (const [key, { min, max }] of Object.entries(HANDLING_LIMITS)) {
    const v = handling[key] ?? DEFAULT_HANDLING[key];
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`handling.${key} must be an integer in ${min}..${max}, got ${v}`);
    out[key] = v;
  }
  return Object.freeze(out);
}

/**
 * The rule table for `ruleset` under rules `version`, with the player's `handling` folded in
 * (modern, version 2 only; classic keeps the NES timings whatever the player chose).
 */
export function rulesFor(ruleset, version = RULES_VERSION, handling = undefined) {
  const base = RULESETS[ruleset];
  if (!base) throw new Error(`unknown ruleset ${ruleset}`);
  if (!RULES_VERSIONS.includes(version)) throw new Error(`unknown rules version ${version}`);
  if (version === 1 || ruleset === 'classic') return Object.freeze({ ...base, version, buffer: false, rotate180: false });
  const hd = normalizeHandling(handling);
  return Object.freeze({
    ...base,
    version,
    lineClearDelay: 0,
    buffer: true,
    rotate180: true,
    dasDelay: hd.das,
    dasRepeat: hd.arr,
    softDropRate: hd.sdr,
    handling: hd,
  });
}

/**
 * Single-player modes (rules version 2): the goal that ends the game besides topping out.
 * Marathon has none; sprint ends at the lock that reaches 40 lines; blitz after 2 minutes of play.
 */
export const MODES = Object.freeze({
  marathon: Object.freeze({ lines: 0, frames: 0 }),
  sprint: Object.freeze({ lines: 40, frames: 0 }),
  blitz: Object.freeze({ lines: 0, frames: 120 * 60 }),
});
