// Encoding of the live `state` message (PROTOCOL.md, "state"): 200 board characters, piece in the
// engine's own coordinates with y relative to the visible field.

import { WIDTH, HIDDEN, HEIGHT } from '../engine/game.js';

const LETTERS = '.IJLOSTZG';

/** The `state` message for a local game. */
export function stateMessage(game) {
  let board = '';
  for (let i = HIDDEN * WIDTH; i < HEIGHT * WIDTH; i++) board += LETTERS[game.board[i]] || '.';
  const p = game.active;
  return {
    type: 'state',
    board,
    piece: p && !game.over ? { kind: p.type, x: p.x, y: p.y - HIDDEN, rot: p.rot } : null,
    next: game.preview().join(''),
    hold: game.hold,
    score: Math.min(game.score, 999999999),
    level: Math.min(game.level, 255),
    lines: Math.min(game.lines, 9999),
    // Only when there is any, so a classic board's message keeps its old shape.
    ...(game.pendingLines() > 0 ? { pending: Math.min(game.pendingLines(), 20) } : {}),
  };
}
