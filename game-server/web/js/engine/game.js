// The rules engine: one Game advances one 60 Hz frame per `step(mask)`.
//
// It is pure and deterministic: no clock, no Math.random, no DOM. Everything that happens depends on
// the ruleset, the rules version, the player's handling (version 2), the seed, the start level, the
// per-frame input masks and (in duo) the garbage added between frames, so a recorded game replays
// exactly (see replay.js). Both rulesets and both rules versions share this file; the differences
// live in rules.js tables and in a few `this.rules.*` switches.

import { Rng, seedToState } from './rng.js';
import { PIECES, CELL, NRS, shapeOf } from './pieces.js';
import { srsKicks } from './kicks.js';
import { BagRandomizer, NesRandomizer } from './randomizer.js';
import {
  rulesFor, RULES_VERSION, MODES, CELL_UNITS, nesFramesPerCell, modernGravity, classicLevel, modernLevel, MAX_PENDING_GARBAGE,
} from './rules.js';
import { scoreLock, cancelGarbage } from './scoring.js';
import { WIDTH, HIDDEN, HEIGHT, fullRows, removeRows, raiseGarbage, tspinKind } from './board.js';

export { WIDTH, HIDDEN, VISIBLE, HEIGHT } from './board.js';

/** Bits of the per-frame input mask. */
export const INPUT = Object.freeze({
  LEFT: 1, RIGHT: 2, DOWN: 4, CW: 8, CCW: 16, HARD: 32, HOLD: 64, ROT180: 128,
});
/** Every bit that may appear in a mask (rules version 2; version 1 has no ROT180). */
export const INPUT_MASK_ALL = 255;
/** Every bit a mask may carry under rules `version`. */
export function inputMaskFor(version) {
  return version === 1 ? 127 : 255;
}
/** Buttons whose press, made while no piece is active, acts when the next piece spawns (version 2). */
const BUFFERED = INPUT.CW | INPUT.CCW | INPUT.ROT180 | INPUT.HARD | INPUT.HOLD;

export class Game {
  /**
   * @param {{ruleset?: 'classic'|'modern', seed: string|number, startLevel?: number, version?: number,
   *   handling?: {das?: number, arr?: number, sdr?: number}, mode?: 'marathon'|'sprint'|'blitz'}} options
   *   `handling` counts in modern under rules version 2 only (see rules.js HANDLING_LIMITS); `mode`
   *   (version 2) adds the goal of rules.js MODES: the game is then over with reason 'goal'.
   */
  constructor({ ruleset = 'classic', seed, startLevel = 0, version = RULES_VERSION, handling = undefined, mode = 'marathon' }) {
    const rules = rulesFor(ruleset, version, handling);
    if (!MODES[mode] || (version < 2 && mode !== 'marathon')) throw new Error(`mode ${mode} needs rules version 2`);
    this.mode = mode;
    this.goal = MODES[mode];
    if (!Number.isInteger(startLevel) || startLevel < 0 || startLevel > 29) {
      throw new Error(`start level must be an integer in 0..29, got ${startLevel}`);
    }
    this.rules = rules;
    this.seed = seed;
    const pieceRng = new Rng(seedToState(seed));
    this.randomizer = rules.randomizer === 'bag' ? new BagRandomizer(pieceRng) : new NesRandomizer(pieceRng);

    this.board = new Uint8Array(WIDTH * HEIGHT);
    this.queue = [];
    this.fillQueue();
    this.hold = null;
    this.holdUsed = false;
    this.active = null;

    this.frame = 0;
    this.startLevel = startLevel;
    this.level = startLevel;
    this.score = 0;
    this.lines = 0;
    this.pieces = 0;
    this.stats = Object.fromEntries(PIECES.map((t) => [t, 0]));
    this.over = false;

    this.maskAll = inputMaskFor(rules.version);
    this.prevMask = 0;
    this.buffered = 0; // version 2: presses made while no piece was active
    this.dasDir = 0;
    this.dasTimer = 0;
    this.gravityAcc = 0;
    this.softCounter = 0;
    this.lockTimer = 0;
    this.lockResets = 0;
    this.lowestY = 0;
    this.lastKick = -1; // kick test index of the last successful rotation, -1 after any other move

    this.b2b = false;
    this.b2bChain = 0; // back-to-back bonuses in a row (shown as "B2B x3"; scores nothing itself)
    this.combo = -1;
    this.pendingGarbage = [];
    this.garbageDue = false;
    this.clearing = [];
    this.spawnTimer = 0;
    /** Events since the caller last drained them: lock, clear, attack, levelup, gameover. */
    this.events = [];

    this.spawnNext();
  }

  // ---- queries -------------------------------------------------------------------------------

  /** Cell value at (x, y) of the whole board (hidden rows included). */
  cell(x, y) {
    return this.board[y * WIDTH + x];
  }

  /** Cells of a piece type in a rotation state, relative to its position. */
  shape(type, rot) {
    return shapeOf(this.rules.rotation, type, rot);
  }

  /** Absolute cells of a piece {type, rot, x, y}. */
  cellsOf(piece) {
    return this.shape(piece.type, piece.rot).map(([dx, dy]) => [piece.x + dx, piece.y + dy]);
  }

  collides(type, rot, x, y) {
    for (const [dx, dy] of this.shape(type, rot)) {
      const cx = x + dx;
      const cy = y + dy;
      if (cx < 0 || cx >= WIDTH || cy < 0 || cy >= HEIGHT) return true;
      if (this.board[cy * WIDTH + cx] !== 0) return true;
    }
    return false;
  }

  /** How far the active piece can fall. */
  dropDistance() {
    const p = this.active;
    if (!p) return 0;
    let d = 0;
    while (!this.collides(p.type, p.rot, p.x, p.y + d + 1)) d++;
    return d;
  }

  /** The upcoming pieces shown in the preview. */
  preview() {
    return this.queue.slice(0, this.rules.previewCount);
  }

  // ---- frame step ----------------------------------------------------------------------------

  /** Advances one frame with the buttons held in `mask` (bits of INPUT). */
  step(mask) {
    if (this.over) return;
    if (this.goal.frames && this.frame >= this.goal.frames) {
      this.gameOver('goal');
      return;
    }
    this.frame++;
    mask &= this.maskAll;
    let pressed = mask & ~this.prevMask;
    this.prevMask = mask;

    if (!this.active) {
      this.chargeDas(mask);
      if (this.rules.buffer) this.buffered |= pressed & BUFFERED;
      this.spawnTimer--;
      if (this.spawnTimer > 0) return;
      this.finishLock();
      if (this.over) return;
      // Initial hold / rotation / buffered hard drop: nothing pressed during the delay is lost.
      pressed |= this.buffered;
      this.buffered = 0;
    }

    if (this.rules.hold && pressed & INPUT.HOLD && !this.holdUsed) {
      this.doHold();
      if (this.over) return;
    }
    this.pieceInputs += popcount(pressed & (INPUT.LEFT | INPUT.RIGHT | INPUT.CW | INPUT.CCW | INPUT.ROT180));
    if (pressed & INPUT.CW) this.rotate(1);
    if (pressed & INPUT.CCW) this.rotate(-1);
    if (this.rules.rotate180 && pressed & INPUT.ROT180) this.rotate(2);
    this.shift(mask, pressed);

    if (this.rules.hardDrop && pressed & INPUT.HARD) {
      const d = this.dropDistance();
      this.active.y += d;
      this.score += 2 * d;
      // Falling counts as a move: a T rotated in the air and then dropped is not a T-spin.
      if (d > 0) this.lastKick = -1;
      this.lock();
      return;
    }
    if (this.rules.fall === 'nes') this.fallClassic(mask);
    else this.fallModern(mask);
  }

  /**
   * Queues `lines` garbage rows with the empty column `hole` (duo, modern). They rise at the next
   * lock that clears nothing. The hole comes from outside (the server picks it, so both players and
   * a replay agree).
   */
  addGarbage(lines, hole) {
    if (!this.rules.garbage || this.over) return;
    if (!Number.isInteger(hole) || hole < 0 || hole >= WIDTH) throw new Error(`garbage hole must be 0..9, got ${hole}`);
    const n = Math.min(lines | 0, MAX_PENDING_GARBAGE - this.pendingLines());
    if (n > 0) this.pendingGarbage.push({ lines: n, hole });
  }

  /** Garbage rows waiting to rise. */
  pendingLines() {
    return this.pendingGarbage.reduce((a, g) => a + g.lines, 0);
  }

  /** Removes and returns the events since the last call. */
  drainEvents() {
    const out = this.events;
    this.events = [];
    return out;
  }

  // ---- movement ------------------------------------------------------------------------------

  grounded() {
    const p = this.active;
    return this.collides(p.type, p.rot, p.x, p.y + 1);
  }

  /** Lock-delay reset after a successful move or rotation of a grounded piece (modern). */
  afterManeuver(wasGrounded) {
    if (this.rules.fall === 'nes' || !wasGrounded) return;
    if (this.lockResets < this.rules.lockResets) {
      this.lockTimer = 0;
      this.lockResets++;
    }
  }

  tryMove(dx) {
    const p = this.active;
    if (this.collides(p.type, p.rot, p.x + dx, p.y)) return false;
    const wasGrounded = this.grounded();
    p.x += dx;
    this.lastKick = -1;
    this.afterManeuver(wasGrounded);
    return true;
  }

  moveDown() {
    const p = this.active;
    if (this.collides(p.type, p.rot, p.x, p.y + 1)) return false;
    p.y++;
    this.lastKick = -1;
    if (p.y > this.lowestY) {
      this.lowestY = p.y;
      this.lockResets = 0;
      this.lockTimer = 0;
    }
    return true;
  }

  rotate(dir) {
    const p = this.active;
    if (this.rules.rotation === 'nrs') {
      const n = NRS[p.type].length;
      const to = (p.rot + dir + n) % n;
      if (n > 1 && !this.collides(p.type, to, p.x, p.y)) p.rot = to;
      return;
    }
    const to = (p.rot + dir + 4) % 4;
    const wasGrounded = this.grounded();
    const kicks = srsKicks(p.type, p.rot, to);
    for (let i = 0; i < kicks.length; i++) {
      const [kx, ky] = kicks[i];
      if (!this.collides(p.type, to, p.x + kx, p.y + ky)) {
        p.x += kx;
        p.y += ky;
        p.rot = to;
        // A 180 has no "fifth kick" (which would make any T-spin a full one): any kick counts as 1.
        this.lastKick = dir === 2 ? Math.min(i, 1) : i;
        this.afterManeuver(wasGrounded);
        return;
      }
    }
  }

  /** Delayed auto shift: move on press, then after dasDelay frames every dasRepeat frames. */
  shift(mask, pressed) {
    const left = pressed & INPUT.LEFT;
    const right = pressed & INPUT.RIGHT;
    if (left && right) {
      this.dasDir = 0;
      this.dasTimer = 0;
      return;
    }
    if (left || right) {
      this.dasDir = left ? -1 : 1;
      this.dasTimer = 0;
      this.tryMove(this.dasDir);
      return;
    }
    this.followHeld(mask);
    if (this.dasDir === 0) return;
    this.dasTimer++;
    if (this.dasTimer >= this.rules.dasDelay) {
      if (this.rules.dasRepeat === 0) while (this.tryMove(this.dasDir));
      else this.tryMove(this.dasDir);
      this.dasTimer = this.rules.dasDelay - this.rules.dasRepeat;
    }
  }

  /** When the current direction is released, switch to the other one if it is still held. */
  followHeld(mask) {
    const leftHeld = mask & INPUT.LEFT;
    const rightHeld = mask & INPUT.RIGHT;
    if ((this.dasDir === -1 && !leftHeld) || (this.dasDir === 1 && !rightHeld)) {
      this.dasDir = leftHeld ? -1 : rightHeld ? 1 : 0;
      this.dasTimer = 0;
    } else if (this.dasDir === 0 && (leftHeld || rightHeld) && !(leftHeld && rightHeld)) {
      this.dasDir = leftHeld ? -1 : 1;
      this.dasTimer = 0;
    }
  }

  /** During entry delay a held direction keeps charging, so the next piece can shift at once. */
  chargeDas(mask) {
    this.followHeld(mask);
    if (this.dasDir !== 0) this.dasTimer = Math.min(this.dasTimer + 1, this.rules.dasDelay);
  }

  /** NES: soft drop one cell every softDropFrames; gravity by the frame table; lock when blocked. */
  fallClassic(mask) {
    if (mask & INPUT.DOWN) {
      this.softCounter++;
      if (this.softCounter >= this.rules.softDropFrames) {
        this.softCounter = 0;
        if (!this.moveDown()) {
          this.lock();
          return;
        }
        this.score += 1;
        this.gravityAcc = 0;
      }
    } else {
      this.softCounter = 0;
    }
    this.gravityAcc++;
    if (this.gravityAcc >= nesFramesPerCell(this.level)) {
      this.gravityAcc = 0;
      if (!this.moveDown()) this.lock();
    }
  }

  /** Guideline: fractional gravity, soft drop, and a lock delay with a bounded number of resets. */
  fallModern(mask) {
    if (this.rules.softDropRate) this.softDropByRate(mask);
    else if (mask & INPUT.DOWN) {
      this.softCounter++;
      if (this.softCounter >= this.rules.softDropFrames) {
        this.softCounter = 0;
        if (this.moveDown()) {
          this.score += 1;
          this.gravityAcc = 0;
        }
      }
    } else {
      this.softCounter = 0;
    }
    this.gravityAcc += modernGravity(this.level);
    while (this.gravityAcc >= CELL_UNITS) {
      this.gravityAcc -= CELL_UNITS;
      if (!this.moveDown()) {
        this.gravityAcc = 0;
        break;
      }
    }
    if (this.grounded()) {
      this.lockTimer++;
      if (this.lockTimer >= this.rules.lockDelay) this.lock();
    }
  }

  /**
   * Version 2 soft drop: `softDropRate` cells per second, counted in sixtieths of a cell so every
   * rate is exact in integers; a blocked piece stops the count (lock delay takes over).
   */
  softDropByRate(mask) {
    if (!(mask & INPUT.DOWN)) {
      this.softCounter = 0;
      return;
    }
    this.softCounter += this.rules.softDropRate;
    while (this.softCounter >= 60) {
      this.softCounter -= 60;
      if (!this.moveDown()) {
        this.softCounter = 0;
        return;
      }
      this.score += 1;
      this.gravityAcc = 0;
    }
  }

  // ---- spawning, hold, lock ------------------------------------------------------------------

  fillQueue() {
    while (this.queue.length < 7) this.queue.push(this.randomizer.next());
  }

  spawnNext() {
    const type = this.queue.shift();
    this.fillQueue();
    this.stats[type]++;
    this.pieces++;
    this.spawnPiece(type);
  }

  spawnPiece(type) {
    const srs = this.rules.rotation === 'srs';
    const piece = srs
      ? { type, rot: 0, x: type === 'O' ? 4 : 3, y: HIDDEN - 2 }
      : { type, rot: 0, x: 5, y: HIDDEN };
    this.active = piece;
    this.gravityAcc = 0;
    this.softCounter = 0;
    this.lockTimer = 0;
    this.lockResets = 0;
    this.lastKick = -1;
    this.pieceInputs = 0; // presses of move and rotate buttons for this piece (finesse, see finesse.js)
    if (this.collides(type, 0, piece.x, piece.y)) {
      this.gameOver('block out');
      return;
    }
    // Guideline: the piece drops one row at once if it can, so it shows in the visible field.
    if (srs && !this.collides(type, 0, piece.x, piece.y + 1)) piece.y++;
    this.lowestY = piece.y;
  }

  doHold() {
    const current = this.active.type;
    if (this.hold === null) {
      this.hold = current;
      this.spawnNext();
    } else {
      const held = this.hold;
      this.hold = current;
      this.spawnPiece(held);
    }
    this.holdUsed = true;
  }

  lock() {
    const p = this.active;
    const tspin = this.rules.rotation === 'srs' ? tspinKind(this.board, p, this.lastKick) : 'none';
    const cells = this.cellsOf(p);
    for (const [x, y] of cells) this.board[y * WIDTH + x] = CELL[p.type];
    this.active = null;
    this.holdUsed = false;
    this.events.push({ type: 'lock', piece: p.type, x: p.x, rot: p.rot, inputs: this.pieceInputs });

    const rows = fullRows(this.board);
    this.award(rows.length, tspin, rows.length > 0 && onlyRowsFilled(this.board, rows));
    this.clearing = rows;
    this.garbageDue = rows.length === 0;
    if (this.goal.lines && this.lines >= this.goal.lines) {
      this.board = removeRows(this.board, rows);
      this.clearing = [];
      this.gameOver('goal');
      return;
    }

    if (rows.length === 0 && cells.every(([, y]) => y < HIDDEN)) {
      this.gameOver('lock out');
      return;
    }
    const delay = this.rules.entryDelay + (rows.length ? this.rules.lineClearDelay : 0);
    if (delay === 0) this.finishLock();
    else this.spawnTimer = delay;
  }

  /** Removes cleared rows, lets waiting garbage in, and spawns the next piece. */
  finishLock() {
    if (this.clearing.length) {
      this.board = removeRows(this.board, this.clearing);
      this.clearing = [];
    }
    if (this.garbageDue && this.pendingGarbage.length) this.insertGarbage();
    this.garbageDue = false;
    if (!this.over) this.spawnNext();
  }

  insertGarbage() {
    for (const { lines, hole } of this.pendingGarbage) {
      if (!raiseGarbage(this.board, lines, hole)) {
        this.pendingGarbage = [];
        this.gameOver('top out');
        return;
      }
      this.events.push({ type: 'garbage', lines, hole });
    }
    this.pendingGarbage = [];
  }

  gameOver(reason) {
    this.over = true;
    this.events.push({ type: 'gameover', reason });
  }

  // ---- scoring -------------------------------------------------------------------------------

  /** Points, lines, level, back-to-back, combo and outgoing garbage for a lock clearing `n` rows. */
  award(n, tspin, perfect = false) {
    const levelBefore = this.level;
    const out = scoreLock({ ruleset: this.rules.name, level: levelBefore, b2b: this.b2b, combo: this.combo }, n, tspin);
    this.score += out.points;
    this.b2b = out.b2b;
    this.combo = out.combo;
    if (n > 0) this.b2bChain = out.b2bBonus ? this.b2bChain + 1 : 0;
    if (n === 0 && tspin === 'none') return;

    this.lines += n;
    this.level = this.rules.name === 'classic'
      ? classicLevel(this.startLevel, this.lines)
      : modernLevel(this.startLevel, this.lines);
    this.events.push({
      type: 'clear', lines: n, tspin, b2b: out.b2bBonus, b2bChain: this.b2bChain, combo: Math.max(this.combo, 0), points: out.points, perfect,
    });
    if (this.level !== levelBefore) this.events.push({ type: 'levelup', level: this.level });

    if (this.rules.garbage && out.attack > 0) {
      const sent = cancelGarbage(this.pendingGarbage, out.attack);
      if (sent > 0) this.events.push({ type: 'attack', lines: sent });
    }
  }
}

/** Whether every filled cell of `board` is in one of the full `rows`: the clear leaves it empty. */
function onlyRowsFilled(board, rows) {
  const full = new Set(rows);
  for (let y = 0; y < HEIGHT; y++) {
    if (full.has(y)) continue;
    for (let x = 0; x < WIDTH; x++) if (board[y * WIDTH + x] !== 0) return false;
  }
  return true;
}

function popcount(n) {
  let c = 0;
  for (let v = n; v; v &= v - 1) c++;
  return c;
}
