// A small placement bot for tests: it picks where the active piece should go and produces the
// button masks that put it there. Used to generate test vectors (engine-level) and to drive the
// browser tests (through real key presses). It is deliberately simple: it only needs to clear lines.

import { Game, WIDTH, HEIGHT, INPUT } from '../js/engine/game.js';

function evaluate(board) {
  const heights = [];
  let holes = 0;
  for (let x = 0; x < WIDTH; x++) {
    let h = 0;
    for (let y = 0; y < HEIGHT; y++) {
      if (board[y * WIDTH + x]) {
        if (!h) h = HEIGHT - y;
      } else if (h) holes++;
    }
    heights.push(h);
  }
  let bump = 0;
  for (let x = 1; x < WIDTH; x++) bump += Math.abs(heights[x] - heights[x - 1]);
  const aggregate = heights.reduce((a, b) => a + b, 0);
  return -0.51 * aggregate - 0.36 * holes * 10 - 0.18 * bump;
}

/**
 * Best {rot, x} for `game.active` on `game.board`, assuming the piece can rotate where it spawned
 * and slide sideways at that height (true while the stack is low).
 */
export function plan(game, { preferMulti = false } = {}) {
  const p = game.active;
  const states = game.rules.rotation === 'srs' ? 4 : { I: 2, S: 2, Z: 2, O: 1 }[p.type] ?? 4;
  let best = null;
  for (let rot = 0; rot < states; rot++) {
    if (game.collides(p.type, rot, p.x, p.y)) continue;
    for (let x = -3; x < WIDTH + 2; x++) {
      if (!pathClear(game, p, rot, x)) continue;
      let y = p.y;
      while (!game.collides(p.type, rot, x, y + 1)) y++;
      const board = game.board.slice();
      for (const [dx, dy] of game.shape(p.type, rot)) board[(y + dy) * WIDTH + x + dx] = 9;
      let lines = 0;
      const kept = [];
      for (let r = 0; r < HEIGHT; r++) {
        const row = board.subarray(r * WIDTH, (r + 1) * WIDTH);
        if (row.every((c) => c)) lines++;
        else kept.push(row);
      }
      const after = new Uint8Array(WIDTH * HEIGHT);
      kept.forEach((row, i) => after.set(row, (HEIGHT - kept.length + i) * WIDTH));
      // preferMulti: skip singles and build for doubles or better (they send garbage in duo).
      const lineValue = preferMulti ? (lines >= 2 ? 6 * lines : -2 * lines) : 0.76 * lines * 4;
      const value = evaluate(after) + lineValue;
      if (!best || value > best.value) best = { rot, x, value };
    }
  }
  return best;
}

function pathClear(game, p, rot, x) {
  const step = x > p.x ? 1 : -1;
  for (let cx = p.x; cx !== x + step; cx += step) {
    if (game.collides(p.type, rot, cx, p.y)) return false;
    if (cx === x) break;
  }
  return true;
}

/**
 * The mask for the next frame that moves the active piece towards `target`. Buttons are tapped
 * (pressed one frame, released the next) so every press is a fresh edge.
 */
export function nextMask(game, target, lastMask) {
  const p = game.active;
  if (!p || lastMask & (INPUT.CW | INPUT.LEFT | INPUT.RIGHT)) return 0;
  if (p.rot !== target.rot) return INPUT.CW;
  if (p.x < target.x) return INPUT.RIGHT;
  if (p.x > target.x) return INPUT.LEFT;
  if (game.rules.hardDrop) return lastMask & INPUT.HARD ? 0 : INPUT.HARD;
  return INPUT.DOWN;
}

/** Copies a plain state {board (array), active} into a scratch Game, so plan() can run on it. */
export function scratchGame(ruleset, board, active) {
  const g = new Game({ ruleset, seed: 0 });
  g.board.set(board);
  g.active = { ...active };
  return g;
}
