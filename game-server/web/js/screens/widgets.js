// Small shared pieces of UI: start-level picker, touch pad, name field.

import { h } from '../dom.js';
import { INPUT } from '../engine/game.js';

/** A grid of level buttons (NES style). `get()` returns the chosen level. */
export function levelPicker(min, max, initial, label = 'Start level') {
  let chosen = Math.min(Math.max(initial, min), max);
  const buttons = [];
  for (let lv = min; lv <= max; lv++) {
    const b = h('button', {
      type: 'button', class: 'btn', 'aria-pressed': String(lv === chosen), 'aria-label': `Start at level ${lv}`,
      'data-level': lv,
      onclick: () => {
        chosen = lv;
        for (const other of buttons) other.setAttribute('aria-pressed', String(other === b));
      },
    }, String(lv));
    buttons.push(b);
  }
  const el = h('div', { role: 'group', 'aria-label': label }, h('div', { class: 'stat-label', text: label }), h('div', { class: 'levels' }, buttons));
  return { el, get: () => chosen };
}

/** On-screen buttons for touch screens, bound to `controls`; `onPause` for the pause button. */
export function touchPad(controls, ruleset, onPause) {
  const b = (label, text, bit) => {
    const el = h('button', { type: 'button', class: 'btn', 'aria-label': label }, text);
    if (bit) controls.bindButton(el, bit);
    return el;
  };
  const pause = h('button', { type: 'button', class: 'btn', 'aria-label': 'Pause', onclick: onPause }, 'II');
  return h('div', { class: 'touch', role: 'group', 'aria-label': 'Touch controls' },
    b('Move left', '◀', INPUT.LEFT), b('Soft drop', '▼', INPUT.DOWN), b('Move right', '▶', INPUT.RIGHT),
    b('Rotate clockwise', '⟳', INPUT.CW),
    b('Rotate counter-clockwise', '⟲', INPUT.CCW),
    ruleset.hardDrop ? b('Hard drop', '⤓', INPUT.HARD) : null,
    ruleset.hold ? b('Hold', 'HOLD', INPUT.HOLD) : null,
    pause);
}

/** Keyboard help for the ruleset. */
export function keyHelp(ruleset) {
  const k = (t) => h('kbd', {}, t);
  return h('div', { class: 'help card' },
    h('div', {}, k('←'), ' ', k('→'), ' move · ', k('↓'), ' soft drop'),
    h('div', {}, k('↑'), '/', k('X'), ' rotate right · ', k('Z'), ' rotate left'),
    ruleset.hardDrop ? h('div', {}, k('Space'), ' hard drop · ', k('C'), ' hold') : null,
    h('div', {}, k('P'), '/', k('Esc'), ' pause'));
}

const NAME_KEY = 'tetris.name';

/** A name input bounded by the server's limit, remembered in localStorage. */
export function nameField(maxChars, id) {
  let saved = '';
  try {
    saved = localStorage.getItem(NAME_KEY) || '';
  } catch {
    saved = '';
  }
  const input = h('input', {
    type: 'text', id, name: 'name', maxlength: maxChars, autocomplete: 'nickname', spellcheck: 'false',
    value: saved.slice(0, maxChars), placeholder: 'Your name', 'aria-label': 'Your name',
  });
  return {
    input,
    /** The trimmed name, or null with a reason when it is not acceptable. */
    read() {
      const name = input.value.trim();
      if (!name) return { error: 'Enter a name.' };
      if ([...name].length > maxChars) return { error: `At most ${maxChars} characters.` };
      // Control and invisible formatting characters are refused by the server; say so early.
      if (/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/u.test(name)) return { error: 'The name has invisible or control characters.' };
      try {
        localStorage.setItem(NAME_KEY, name);
      } catch {
        // Not remembered: fine.
      }
      return { name };
    },
  };
}
