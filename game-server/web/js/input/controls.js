// Keyboard and touch input, sampled once per engine frame as a bit mask (engine INPUT bits).
//
// A press is latched until the next sample, so a tap shorter than one frame (a fast finger, a
// test's key press, a slow frame) still reaches the engine as one press.

import { INPUT } from '../engine/game.js';

/** Key (KeyboardEvent.code) to engine button. */
export const KEYMAP = {
  ArrowLeft: INPUT.LEFT, KeyA: INPUT.LEFT,
  ArrowRight: INPUT.RIGHT, KeyD: INPUT.RIGHT,
  ArrowDown: INPUT.DOWN, KeyS: INPUT.DOWN,
  ArrowUp: INPUT.CW, KeyX: INPUT.CW, KeyW: INPUT.CW,
  KeyZ: INPUT.CCW, KeyQ: INPUT.CCW, ControlLeft: INPUT.CCW, ControlRight: INPUT.CCW,
  Space: INPUT.HARD,
  KeyC: INPUT.HOLD, ShiftLeft: INPUT.HOLD, ShiftRight: INPUT.HOLD,
};
const PAUSE_KEYS = new Set(['KeyP', 'Escape']);

export class Controls {
  /** @param {{onPause?: () => void}} options */
  constructor({ onPause } = {}) {
    this.onPause = onPause;
    this.keys = new Map(); // code -> bit, for keys held now
    this.touchBits = 0;
    this.tapped = 0;
    this.enabled = true;
    this.onKeyDown = this.onKeyDown.bind(this);
    this.onKeyUp = this.onKeyUp.bind(this);
    this.onBlur = () => this.releaseAll();
    window.addEventListener('keydown', this.onKeyDown);
    window.addEventListener('keyup', this.onKeyUp);
    window.addEventListener('blur', this.onBlur);
  }

  detach() {
    window.removeEventListener('keydown', this.onKeyDown);
    window.removeEventListener('keyup', this.onKeyUp);
    window.removeEventListener('blur', this.onBlur);
  }

  /** The mask for the next frame. */
  sample() {
    let held = this.touchBits;
    for (const bit of this.keys.values()) held |= bit;
    const mask = held | this.tapped;
    this.tapped = 0;
    return this.enabled ? mask : 0;
  }

  /** Forgets presses made while the game was not running (a countdown, a pause). */
  clearTaps() {
    this.tapped = 0;
  }

  releaseAll() {
    this.keys.clear();
    this.touchBits = 0;
    this.tapped = 0;
  }

  onKeyDown(e) {
    if (isTyping(e.target)) return;
    if (PAUSE_KEYS.has(e.code)) {
      if (!e.repeat && this.onPause) this.onPause();
      e.preventDefault();
      return;
    }
    const bit = KEYMAP[e.code];
    if (!bit) return;
    e.preventDefault();
    if (e.repeat) return;
    this.keys.set(e.code, bit);
    this.tapped |= bit;
  }

  onKeyUp(e) {
    if (this.keys.delete(e.code)) e.preventDefault();
  }

  /** Makes `el` a touch/mouse button for `bit`. */
  bindButton(el, bit) {
    const release = () => {
      this.touchBits &= ~bit;
    };
    el.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      el.setPointerCapture?.(e.pointerId);
      this.touchBits |= bit;
      this.tapped |= bit;
    });
    el.addEventListener('pointerup', release);
    el.addEventListener('pointercancel', release);
    el.addEventListener('lostpointercapture', release);
    el.addEventListener('contextmenu', (e) => e.preventDefault());
  }
}

function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}
