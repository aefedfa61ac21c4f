// Test helpers: boards from strings and single-frame button presses.

import { Game, WIDTH, HEIGHT } from '../js/engine/game.js';

/** Replaces the bottom rows of the board: '#' filled (garbage colour), '.' empty; the rest is emptied. */
export function setBottom(game, rows) {
  game.board.fill(0);
  rows.forEach((row, i) => {
    const y = HEIGHT - rows.length + i;
    if (row.length !== WIDTH) throw new Error(`row ${i} must have ${WIDTH} cells`);
    for (let x = 0; x < WIDTH; x++) game.board[y * WIDTH + x] = row[x] === '#' ? 8 : 0;
  });
}

/** Presses and releases `mask` (two frames). */
export function tap(game, mask) {
  game.step(mask);
  game.step(0);
}

/** Steps `n` frames holding `mask`. */
export function hold(game, mask, n) {
  for (let i = 0; i < n; i++) game.step(mask);
}

/** A game with an empty board and the given active piece, no gravity surprises before the test acts. */
export function gameWith(ruleset, piece, startLevel = 0) {
  const game = new Game({ ruleset, seed: 'test', startLevel });
  game.active = { ...piece };
  game.lowestY = piece.y;
  return game;
}

/** Board row as a string of '#'/'.' (y counted from the top of the whole board). */
export function rowString(game, y) {
  let s = '';
  for (let x = 0; x < WIDTH; x++) s += game.cell(x, y) ? '#' : '.';
  return s;
}

/** A small deterministic source of pseudo-random test inputs (independent of the engine's Rng). */
export function lcg(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

/** Steps with no input until a new piece is active (after a lock's entry/line-clear delay). */
export function untilActive(game, limit = 100) {
  for (let i = 0; i < limit && !game.active && !game.over; i++) game.step(0);
  if (!game.active && !game.over) throw new Error('no piece spawned');
}

/** Events of a kind since the last drain. */
export function eventsOf(game, type) {
  return game.drainEvents().filter((e) => e.type === type);
}
