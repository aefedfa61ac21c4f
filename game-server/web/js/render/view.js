// View models: what a board canvas draws, built either from the local engine or from a relayed
// opponent state. Coordinates are in the 10x20 visible field (row 0 at the top; the buffer row
// above it is row -1, drawn too).

import { WIDTH, VISIBLE, HIDDEN } from '../engine/game.js';
import { shapeOf, CELL } from '../engine/pieces.js';

/** The visible part of a local game. */
export function viewFromGame(game) {
  const cells = game.board.slice(HIDDEN * WIDTH);
  const buffer = game.board.slice((HIDDEN - 1) * WIDTH, HIDDEN * WIDTH);
  let piece = null;
  let ghost = null;
  const p = game.active;
  if (p) {
    // At game over the piece that could not spawn is still drawn (dimmed), showing why it ended.
    piece = { value: CELL[p.type], cells: game.cellsOf(p).map(([x, y]) => [x, y - HIDDEN]) };
    if (game.rules.ghost && !game.over) {
      const d = game.dropDistance();
      if (d > 0) ghost = game.cellsOf({ ...p, y: p.y + d }).map(([x, y]) => [x, y - HIDDEN]);
    }
  }
  const clearing = game.clearing.map((y) => y - HIDDEN);
  return { cells, buffer, piece, ghost, clearing, flash: game.clearing.length > 0 && (game.spawnTimer >> 2) % 2 === 0, over: game.over };
}

const LETTER_VALUE = { '.': 0, I: 1, J: 2, L: 3, O: 4, S: 5, T: 6, Z: 7, G: 8 };

/** The view of a relayed `state` / `opponent_state` message (see PROTOCOL.md). */
export function viewFromState(rotation, state) {
  const cells = new Uint8Array(WIDTH * VISIBLE);
  const board = typeof state?.board === 'string' ? state.board : '';
  for (let i = 0; i < cells.length && i < board.length; i++) cells[i] = LETTER_VALUE[board[i]] ?? 0;
  let piece = null;
  const p = state?.piece;
  if (p && CELL[p.kind]) {
    piece = {
      value: CELL[p.kind],
      cells: shapeOf(rotation, p.kind, p.rot).map(([dx, dy]) => [p.x + dx, p.y + dy]),
    };
  }
  return { cells, piece, ghost: null, clearing: [], flash: false, over: false };
}
