// Canvas drawing of a board view, crisp on high-DPI screens: the backing store is sized in device
// pixels and cells are whole device pixels. The canvas is one row taller than the field: the top
// row is the buffer row above it, where a new piece appears, drawn without the field's background.

import { WIDTH, VISIBLE } from '../engine/game.js';

/** Rows drawn: the buffer row, then the visible field. */
export const DRAWN_ROWS = VISIBLE + 1;
import { COLORS } from './colors.js';

export class BoardRenderer {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.cell = 0;
    this.resize();
  }

  /**
   * Matches the backing store to the displayed size; call on window resize. The CSS size is then
   * snapped to whole device pixels per cell, so the browser never rescales (blurs) the canvas.
   */
  resize() {
    const dpr = window.devicePixelRatio || 1;
    this.canvas.style.width = '';
    this.canvas.style.height = '';
    const cssWidth = this.canvas.clientWidth || 300;
    const cell = Math.max(4, Math.floor((cssWidth * dpr) / WIDTH));
    this.canvas.style.width = `${(cell * WIDTH) / dpr}px`;
    this.canvas.style.height = `${(cell * DRAWN_ROWS) / dpr}px`;
    if (cell === this.cell) return;
    this.cell = cell;
    this.canvas.width = cell * WIDTH;
    this.canvas.height = cell * DRAWN_ROWS;
  }

  draw(view) {
    const { ctx, cell } = this;
    const top = cell; // the field starts below the buffer row
    ctx.clearRect(0, 0, this.canvas.width, top);
    ctx.fillStyle = '#05070b';
    ctx.fillRect(0, top, this.canvas.width, VISIBLE * cell);
    ctx.strokeStyle = 'rgba(255,255,255,0.045)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let x = 1; x < WIDTH; x++) {
      ctx.moveTo(x * cell + 0.5, top);
      ctx.lineTo(x * cell + 0.5, top + VISIBLE * cell);
    }
    for (let y = 1; y < VISIBLE; y++) {
      ctx.moveTo(0, top + y * cell + 0.5);
      ctx.lineTo(WIDTH * cell, top + y * cell + 0.5);
    }
    ctx.stroke();
    // The field's edge, so the buffer row reads as outside it.
    ctx.strokeStyle = '#3a4560';
    ctx.lineWidth = Math.max(1, Math.floor(cell / 14));
    ctx.strokeRect(ctx.lineWidth / 2, top + ctx.lineWidth / 2, this.canvas.width - ctx.lineWidth, VISIBLE * cell - ctx.lineWidth);
    ctx.save();
    ctx.translate(0, top);
    this.drawContents(view, cell);
    ctx.restore();
  }

  /** Blocks, ghost and piece, with row 0 at the top of the field (the buffer row is y = -1). */
  drawContents(view, cell) {
    const { ctx } = this;
    if (view.buffer) {
      for (let x = 0; x < WIDTH; x++) if (view.buffer[x]) drawCell(ctx, x, -1, cell, COLORS[view.buffer[x]], 0.6);
    }

    const clearing = new Set(view.clearing);
    for (let y = 0; y < VISIBLE; y++) {
      for (let x = 0; x < WIDTH; x++) {
        const v = view.cells[y * WIDTH + x];
        if (!v) continue;
        if (clearing.has(y) && view.flash) drawCell(ctx, x, y, cell, '#ffffff');
        else drawCell(ctx, x, y, cell, COLORS[v], view.over ? 0.45 : 1);
      }
    }
    if (view.ghost) {
      ctx.strokeStyle = COLORS[view.piece.value];
      ctx.globalAlpha = 0.55;
      ctx.lineWidth = Math.max(1, Math.floor(cell / 12));
      for (const [x, y] of view.ghost) {
        if (y < -1) continue;
        const inset = ctx.lineWidth / 2 + 1;
        ctx.strokeRect(x * cell + inset, y * cell + inset, cell - 2 * inset, cell - 2 * inset);
      }
      ctx.globalAlpha = 1;
    }
    if (view.piece) {
      for (const [x, y] of view.piece.cells) if (y >= -1) drawCell(ctx, x, y, cell, COLORS[view.piece.value], view.over ? 0.45 : 1);
    }
  }
}

/** One bevelled block. */
export function drawCell(ctx, x, y, cell, color, alpha = 1) {
  const px = x * cell;
  const py = y * cell;
  const b = Math.max(1, Math.floor(cell / 8));
  ctx.globalAlpha = alpha;
  ctx.fillStyle = color;
  ctx.fillRect(px + 1, py + 1, cell - 2, cell - 2);
  ctx.fillStyle = 'rgba(255,255,255,0.28)';
  ctx.fillRect(px + 1, py + 1, cell - 2, b);
  ctx.fillRect(px + 1, py + 1, b, cell - 2);
  ctx.fillStyle = 'rgba(0,0,0,0.28)';
  ctx.fillRect(px + 1, py + cell - 1 - b, cell - 2, b);
  ctx.fillRect(px + cell - 1 - b, py + 1, b, cell - 2);
  ctx.globalAlpha = 1;
}
