// Small canvases: next queue, hold box and per-piece statistics icons.

import { SRS } from '../engine/pieces.js';
import { COLORS, TYPE_INDEX } from './colors.js';
import { drawCell } from './board.js';

/** Draws `types` (piece letters) stacked vertically in a canvas `slots` pieces tall. */
export class PieceList {
  constructor(canvas, slots) {
    this.canvas = canvas;
    this.slots = slots;
    this.ctx = canvas.getContext('2d');
    this.key = null;
    const dpr = window.devicePixelRatio || 1;
    this.cell = Math.round(16 * dpr);
    canvas.width = this.cell * 5;
    canvas.height = this.cell * 3 * slots;
  }

  draw(types, dim = false) {
    const key = types.join('') + (dim ? '-' : '');
    if (key === this.key) return;
    this.key = key;
    const { ctx, cell } = this;
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    types.slice(0, this.slots).forEach((type, i) => {
      if (type) drawPiece(ctx, type, cell, this.canvas.width / 2, cell * 3 * i + cell * 1.5, dim ? 0.35 : 1);
    });
  }
}

/** Draws a piece in spawn orientation centred on (cx, cy). */
export function drawPiece(ctx, type, cell, cx, cy, alpha = 1) {
  const cells = SRS[type].states[0];
  const xs = cells.map(([x]) => x);
  const ys = cells.map(([, y]) => y);
  const w = Math.max(...xs) - Math.min(...xs) + 1;
  const hgt = Math.max(...ys) - Math.min(...ys) + 1;
  const ox = cx - (w * cell) / 2 - Math.min(...xs) * cell;
  const oy = cy - (hgt * cell) / 2 - Math.min(...ys) * cell;
  ctx.save();
  ctx.translate(Math.round(ox), Math.round(oy));
  for (const [x, y] of cells) drawCell(ctx, x, y, cell, COLORS[TYPE_INDEX[type]], alpha);
  ctx.restore();
}
