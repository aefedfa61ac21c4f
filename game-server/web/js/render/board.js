// Canvas drawing of a board view, crisp on high-DPI screens: the backing store is sized in device
// pixels and cells are whole device pixels.

import { WIDTH, VISIBLE } from '../engine/game.js';
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
    this.canvas.style.height = `${(cell * VISIBLE) / dpr}px`;
    if (cell === this.cell) return;
    this.cell = cell;
    this.canvas.width = cell * WIDTH;
    this.canvas.height = cell * VISIBLE;
  }

  draw(view) {
    const { ctx, cell } = this;
    ctx.fillStyle = '#05070b';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    ctx.strokeStyle = 'rgba(255,255,255,0.045)';
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let x = 1; x < WIDTH; x++) {
      ctx.moveTo(x * cell + 0.5, 0);
      ctx.lineTo(x * cell + 0.5, VISIBLE * cell);
    }
    for (let y = 1; y < VISIBLE; y++) {
      ctx.moveTo(0, y * cell + 0.5);
      ctx.lineTo(WIDTH * cell, y * cell + 0.5);
    }
    ctx.stroke();

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
        if (y < 0) continue;
        const inset = ctx.lineWidth / 2 + 1;
        ctx.strokeRect(x * cell + inset, y * cell + inset, cell - 2 * inset, cell - 2 * inset);
      }
      ctx.globalAlpha = 1;
    }
    if (view.piece) {
      for (const [x, y] of view.piece.cells) if (y >= 0) drawCell(ctx, x, y, cell, COLORS[view.piece.value], view.over ? 0.45 : 1);
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
