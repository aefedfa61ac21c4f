// The playfield: a row-major Uint8Array of WIDTH x HEIGHT cells (0 empty, 1-7 pieces, 8 garbage),
// with HIDDEN rows above the VISIBLE field. Pure helpers the Game uses on it.

import { GARBAGE_CELL } from './pieces.js';

export const WIDTH = 10;
/** Rows above the visible field where modern pieces spawn. */
export const HIDDEN = 4;
export const VISIBLE = 20;
export const HEIGHT = VISIBLE + HIDDEN;

function filled(board, x, y) {
  return x < 0 || x >= WIDTH || y < 0 || y >= HEIGHT || board[y * WIDTH + x] !== 0;
}

/** Indexes of the full rows, top to bottom. */
export function fullRows(board) {
  const rows = [];
  for (let y = 0; y < HEIGHT; y++) {
    let full = true;
    for (let x = 0; x < WIDTH && full; x++) full = board[y * WIDTH + x] !== 0;
    if (full) rows.push(y);
  }
  return rows;
}

/** A new board without `rows`; everything above them falls. */
export function removeRows(board, rows) {
  const next = new Uint8Array(WIDTH * HEIGHT);
  let to = HEIGHT - 1;
  for (let y = HEIGHT - 1; y >= 0; y--) {
    if (rows.includes(y)) continue;
    next.set(board.subarray(y * WIDTH, (y + 1) * WIDTH), to * WIDTH);
    to--;
  }
  return next;
}

/**
 * Pushes the stack up by `lines` and fills the bottom with garbage rows empty at column `hole`.
 * Returns false (board unchanged) when blocks would be pushed out of the top: a top out.
 */
export function raiseGarbage(board, lines, hole) {
  for (let i = 0; i < lines * WIDTH; i++) if (board[i] !== 0) return false;
  board.copyWithin(0, lines * WIDTH);
  for (let y = HEIGHT - lines; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) board[y * WIDTH + x] = x === hole ? 0 : GARBAGE_CELL;
  }
  return true;
}

/**
 * T-spin kind of an SRS T piece {x, y, rot} about to lock, by the 3-corner rule: 'full' when both
 * corners on its pointing side are filled (or the last rotation used the fifth kick test), 'mini'
 * when only three corners are, 'none' otherwise. `lastKick` is -1 when the last move was not a rotation.
 */
export function tspinKind(board, piece, lastKick) {
  if (piece.type !== 'T' || lastKick < 0) return 'none';
  const { x, y } = piece;
  // top-left, top-right, bottom-right, bottom-left of the 3x3 box
  const corners = [filled(board, x, y), filled(board, x + 2, y), filled(board, x + 2, y + 2), filled(board, x, y + 2)];
  if (corners.filter(Boolean).length < 3) return 'none';
  const [a, b] = [[0, 1], [1, 2], [2, 3], [3, 0]][piece.rot];
  if (corners[a] && corners[b]) return 'full';
  return lastKick === 4 ? 'full' : 'mini';
}
