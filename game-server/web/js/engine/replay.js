// Input logs: what a player did, frame by frame, compact enough to travel with a score.
//
// A log is `{v, ruleset, seed, startLevel, handling?, frames, inputs: [[frame, mask], ...],
// garbage: [[frame, lines, hole], ...]}`. `v` is the rules version the game was played under (see
// rules.js RULES_VERSION); a log replays under its own version, so old games still verify after a
// rule change. `handling` ({das, arr, sdr}) is in version 2 modern logs only; `mode` (`sprint` or
// `blitz`, version 2) when the game had a goal. An entry at frame f
// takes effect before the game steps from frame f to f+1 (that is, while `game.frame === f`).
// `inputs` holds a mask only when it changes. `frames` is the number of steps played. replay() is
// the reference a server-side port must match.

import { Game, inputMaskFor } from './game.js';
import { RULES_VERSION, RULES_VERSIONS } from './rules.js';

/** The version new logs carry: the current rules version. */
export const LOG_VERSION = RULES_VERSION;

/** Records masks and garbage as a game is played. */
export class InputRecorder {
  constructor({ ruleset, seed, startLevel, version = LOG_VERSION, handling = undefined, mode = 'marathon' }) {
    this.version = version;
    this.header = { ruleset, seed, startLevel };
    if (mode !== 'marathon') this.header.mode = mode;
    if (handling && version >= 2 && ruleset === 'modern') this.header.handling = { ...handling };
    this.inputs = [];
    this.garbage = [];
    this.lastMask = 0;
  }

  /** A recorder that continues a saved log (after a page reload in a duo match). */
  static fromLog(log) {
    const rec = new InputRecorder({ ...log, version: log.v });
    rec.inputs = log.inputs.slice();
    rec.garbage = (log.garbage || []).slice();
    rec.lastMask = rec.inputs.length ? rec.inputs[rec.inputs.length - 1][1] : 0;
    return rec;
  }

  /** Call before each step with the frame about to be played from and the mask it uses. */
  input(frame, mask) {
    if (mask === this.lastMask) return;
    this.lastMask = mask;
    this.inputs.push([frame, mask]);
  }

  /** Call when garbage is added to the game while it is at `frame`. */
  addGarbage(frame, lines, hole) {
    this.garbage.push([frame, lines, hole]);
  }

  /** The log for a game that has played `frames` steps. */
  toLog(frames) {
    return {
      v: this.version, ...this.header, frames, inputs: this.inputs.slice(), garbage: this.garbage.slice(),
    };
  }
}

/** Checks a log's shape; throws an Error naming the first problem. */
export function validateLog(log) {
  if (!log || !RULES_VERSIONS.includes(log.v)) throw new Error('log: unsupported version');
  if (log.handling !== undefined && (log.v < 2 || log.ruleset !== 'modern')) throw new Error('log: handling is for version 2 modern logs only');
  const maskAll = inputMaskFor(log.v);
  if (log.mode !== undefined && (log.v < 2 || !['sprint', 'blitz'].includes(log.mode))) throw new Error('log: mode must be sprint or blitz (version 2)');
  if (!Number.isInteger(log.frames) || log.frames < 0) throw new Error('log: frames must be a non-negative integer');
  let last = -1;
  for (const e of log.inputs) {
    if (!Array.isArray(e) || e.length !== 2) throw new Error('log: input entries are [frame, mask]');
    const [f, m] = e;
    if (!Number.isInteger(f) || f < last || f >= log.frames) throw new Error(`log: input frame ${f} out of order`);
    if (!Number.isInteger(m) || m < 0 || m > maskAll) throw new Error(`log: bad mask ${m}`);
    last = f;
  }
  last = -1;
  for (const e of log.garbage || []) {
    if (!Array.isArray(e) || e.length !== 3) throw new Error('log: garbage entries are [frame, lines, hole]');
    const [f, n, hole] = e;
    if (!Number.isInteger(f) || f < last || f > log.frames) throw new Error(`log: garbage frame ${f} out of order`);
    if (!Number.isInteger(n) || n < 1 || n > 20) throw new Error(`log: bad garbage ${n}`);
    if (!Number.isInteger(hole) || hole < 0 || hole > 9) throw new Error(`log: bad garbage hole ${hole}`);
    last = f;
  }
}

/** Plays a log from the start and returns the Game at its end. */
export function replay(log) {
  validateLog(log);
  const game = new Game({
    ruleset: log.ruleset, seed: log.seed, startLevel: log.startLevel, version: log.v, handling: log.handling, mode: log.mode,
  });
  const garbage = log.garbage || [];
  let mask = 0;
  let ii = 0;
  let gi = 0;
  while (game.frame < log.frames && !game.over) {
    const f = game.frame;
    while (gi < garbage.length && garbage[gi][0] <= f) {
      const [, lines, hole] = garbage[gi++];
      game.addGarbage(lines, hole);
    }
    while (ii < log.inputs.length && log.inputs[ii][0] <= f) mask = log.inputs[ii++][1];
    game.step(mask);
  }
  return game;
}

/** The summary a score submission carries and a replay must reproduce. */
export function summary(game) {
  return { score: game.score, lines: game.lines, level: game.level, frames: game.frame, over: game.over };
}
