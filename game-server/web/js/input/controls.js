// Keyboard and touch input, sampled once per engine frame as a bit mask (engine INPUT bits).
//
// A press is latched until the next sample, so a tap shorter than one frame (a fast finger, a
// test's key press, a slow frame) still reaches the engine as one press.

import { loadSettings, keymapOf } from '../settings.js';

export class Controls {
  /**
   * @param {{onPause?: () => void, onRestart?: () => void, settings?: object, onAction?: (bit: number) => void}} options
   * Keys come from the player's settings (settings.js); `onAction` hears every new press (sound).
   */
  constructor({ onPause, onRestart, settings = loadSettings(), onAction } = {}) {
    this.onPause = onPause;
    this.onRestart = onRestart;
    this.onAction = onAction;
    this.keymap = keymapOf(settings);
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
    // A chord with Ctrl/Meta/Alt belongs to the browser (Ctrl+W, Ctrl+R): never a game key.
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const action = this.keymap.get(e.code);
    if (!action) return;
    e.preventDefault();
    if (action.id === 'pause') {
      if (!e.repeat && this.onPause) this.onPause();
      return;
    }
    if (action.id === 'restart') {
      if (!e.repeat && this.onRestart) this.onRestart();
      return;
    }
    if (e.repeat) return;
    this.keys.set(e.code, action.bit);
    this.tapped |= action.bit;
    if (this.enabled) this.onAction?.(action.bit);
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
      if (this.enabled) this.onAction?.(bit);
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
