// One player's board with its side panels (score, lines, level, next, hold, piece statistics) and an
// overlay for pause / game over. Used for the local player and, in compact form, for the opponent.

import { h, setText, replaceChildren } from '../dom.js';
import { BoardRenderer } from '../render/board.js';
import { PieceList, drawPiece } from '../render/mini.js';
import { viewFromGame, viewFromState } from '../render/view.js';
import { PIECES } from '../engine/pieces.js';
import { RULESETS } from '../engine/rules.js';
import { formatTime } from './scores.js';

export { describeClear } from './callouts.js';

export class BoardPanel {
  /**
   * @param {{ruleset: string, label: string, name?: string, compact?: boolean, clock?: boolean, meter?: boolean}} options
   * `clock` adds the time and pieces-per-second cards (solo); `meter` the garbage meter (duo, modern).
   */
  constructor({ ruleset, label, name = '', compact = false, clock = false, meter = false }) {
    this.rules = RULESETS[ruleset];
    this.compact = compact;
    this.canvas = h('canvas', { class: 'board', role: 'img', 'aria-label': label });
    this.overlay = h('div', { class: 'overlay', hidden: true, role: 'dialog', 'aria-live': 'polite' });
    this.nameEl = h('div', { class: 'player-name', text: name, hidden: !name });
    this.scoreEl = h('div', { class: 'stat-value', 'data-stat': 'score', text: '0' });
    this.linesEl = h('div', { class: 'stat-value', 'data-stat': 'lines', text: '0' });
    this.levelEl = h('div', { class: 'stat-value', 'data-stat': 'level', text: '0' });
    this.callout = h('div', { class: 'callout', 'aria-live': 'polite' });
    this.calloutFrames = 0;

    const numbers = [
      card('Score', this.scoreEl), card('Lines', this.linesEl), card('Level', this.levelEl),
    ];
    if (clock) {
      this.timeEl = h('div', { class: 'stat-value', 'data-stat': 'time', text: '0:00.00' });
      this.timeLabel = h('div', { class: 'stat-label', text: 'Time' });
      this.ppsEl = h('span', { 'data-stat': 'pps', text: '0.00' });
      this.finesseEl = h('span', { 'data-stat': 'finesse', text: '0' });
      // One card for the run: the time, then pieces per second and finesse faults on a small line.
      numbers.unshift(h('div', { class: 'card run-card' }, this.timeLabel, this.timeEl,
        h('div', { class: 'run-line' }, this.ppsEl, ' PPS · ', this.finesseEl, ' faults')));
    }
    const nextCanvas = h('canvas', { class: 'mini', 'aria-label': 'Next pieces', role: 'img' });
    this.next = new PieceList(nextCanvas, compact ? 1 : this.rules.previewCount);
    let holdCard = null;
    if (this.rules.hold) {
      const holdCanvas = h('canvas', { class: 'mini', 'aria-label': 'Held piece', role: 'img' });
      this.holdList = new PieceList(holdCanvas, 1);
      holdCard = card('Hold', holdCanvas);
    }
    let statsCard = null;
    if (!compact) {
      this.statEls = {};
      const rows = PIECES.map((t) => {
        const icon = h('canvas', { 'aria-hidden': 'true' });
        icon.width = 72;
        icon.height = 36;
        drawPiece(icon.getContext('2d'), t, 12, 36, 18);
        this.statEls[t] = h('span', { 'data-piece': t, text: '0', 'aria-label': `${t} pieces` });
        return [icon, this.statEls[t]];
      });
      statsCard = card('Statistics', h('div', { class: 'pieces-stats' }, rows));
      statsCard.classList.add('stats-card');
    }

    // Incoming garbage (modern): a bar beside the field, one cell per waiting line, that turns red
    // and pulses while the piece touches down (the lock that raises the lines unless it clears).
    this.meterFill = h('div', { class: 'meter-fill' });
    this.meter = meter && this.rules.garbage
      ? h('div', { class: 'garbage-meter', role: 'meter', 'aria-label': 'Incoming garbage lines', 'aria-valuemin': '0', 'aria-valuemax': '20', 'aria-valuenow': '0', 'data-pending': '0' }, this.meterFill)
      : null;
    this.sentEl = h('div', { class: 'sent-flash', 'aria-live': 'polite' });
    this.sentFrames = 0;
    this.pending = -1;
    const board = h('div', { class: 'board-wrap' }, this.meter, this.canvas, this.overlay, this.sentEl);
    const nextCard = card('Next', nextCanvas);
    this.el = compact
      ? h('section', { class: 'game opponent', 'aria-label': label },
        h('div', { class: 'playfield' }, this.nameEl, board, this.callout),
        h('div', { class: 'side' }, holdCard, nextCard, numbers))
      : h('section', { class: 'game', 'aria-label': label },
        h('div', { class: 'side' }, holdCard, numbers, statsCard),
        h('div', { class: 'playfield' }, this.nameEl, board, this.callout),
        h('div', { class: 'side' }, nextCard));
    this.renderer = null;
  }

  /** Call once the element is in the document (the canvas needs its layout size). */
  attach() {
    this.renderer = new BoardRenderer(this.canvas);
    this.onResize = () => this.renderer.resize();
    window.addEventListener('resize', this.onResize);
  }

  detach() {
    window.removeEventListener('resize', this.onResize);
  }

  setName(name) {
    setText(this.nameEl, name);
    this.nameEl.hidden = !name;
  }

  showOverlay(...children) {
    replaceChildren(this.overlay, ...children);
    this.overlay.hidden = false;
  }

  hideOverlay() {
    this.overlay.hidden = true;
    this.overlay.replaceChildren();
    this.setPaused(false);
  }

  /** While paused the queue and hold are hidden (no planning ahead during a pause). */
  setPaused(paused) {
    this.el.classList.toggle('paused', paused);
  }

  /** Draws the garbage meter: `pending` lines (0-20), `warn` while they are about to rise. */
  setPending(pending, warn) {
    if (!this.meter) return;
    const n = Math.max(0, Math.min(20, pending | 0));
    this.meter.classList.toggle('warn', n > 0 && warn);
    if (n === this.pending) return;
    this.pending = n;
    this.meterFill.style.height = `${(n / 20) * 100}%`;
    this.meter.dataset.pending = String(n);
    this.meter.setAttribute('aria-valuenow', String(n));
  }

  /** Shows "+N" beside the board for a second: N garbage lines were just sent. */
  flashSent(n) {
    setText(this.sentEl, `+${n}`);
    this.sentEl.dataset.sent = String(n);
    this.sentFrames = 60;
  }

  /** Draws a local game. */
  renderGame(game) {
    if (this.timeEl) this.clock(game);
    this.renderer.draw(viewFromGame(game));
    this.numbers(game.score, game.goal?.lines ? `${Math.min(game.lines, game.goal.lines)}/${game.goal.lines}` : game.lines, game.level);
    this.next.draw(game.preview());
    this.holdList?.draw([game.hold], game.holdUsed);
    if (this.statEls) for (const t of PIECES) setText(this.statEls[t], game.stats[t]);
    if (this.calloutFrames > 0 && --this.calloutFrames === 0) setText(this.callout, '');
    if (this.sentFrames > 0 && --this.sentFrames === 0) setText(this.sentEl, '');
    this.setPending(game.pendingLines(), Boolean(game.active && !game.over && game.grounded()));
  }

  /** Draws a relayed opponent state. */
  renderState(state) {
    if (!this.renderer) return;
    this.renderer.draw(viewFromState(this.rules.rotation, state));
    this.numbers(state?.score ?? 0, state?.lines ?? 0, state?.level ?? 0);
    const next = typeof state?.next === 'string' ? state.next.split('').filter((c) => PIECES.includes(c)) : [];
    this.next.draw(next);
    if (this.holdList) this.holdList.draw([PIECES.includes(state?.hold) ? state.hold : null]);
    this.setPending(Number.isInteger(state?.pending) ? state.pending : 0, false);
  }

  /** Time (left, in blitz) and pieces per second; sprint shows the lines still to clear too. */
  clock(game) {
    const ms = (game.frame * 1000) / 60;
    const left = game.goal.frames ? Math.max(0, ((game.goal.frames - game.frame) * 1000) / 60) : null;
    setText(this.timeLabel, left !== null ? 'Time left' : 'Time');
    setText(this.timeEl, formatTime(left ?? ms));
    const locked = Math.max(0, game.pieces - (game.active ? 1 : 0));
    setText(this.ppsEl, ms > 0 ? (locked / (ms / 1000)).toFixed(2) : '0.00');
    if (game.goal.lines) setText(this.linesEl, `${Math.min(game.lines, game.goal.lines)}/${game.goal.lines}`);
  }

  /** Finesse faults so far (solo). */
  setFinesse(n) {
    if (this.finesseEl) setText(this.finesseEl, n);
  }

  numbers(score, lines, level) {
    setText(this.scoreEl, score);
    setText(this.linesEl, lines);
    setText(this.levelEl, level);
  }

  /** Shows a short text (e.g. "TETRIS") under the board for about a second and a half. */
  announce(text) {
    setText(this.callout, text);
    this.calloutFrames = 90;
  }
}

function card(label, ...content) {
  return h('div', { class: 'card' }, h('div', { class: 'stat-label', text: label }), content);
}
