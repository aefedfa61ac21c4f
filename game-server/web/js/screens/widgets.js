// Small shared pieces of UI: start-level picker, touch pad, name field.

import { h } from '../dom.js';
import { INPUT } from '../engine/game.js';
import { DEFAULT_KEYS, keyName } from '../settings.js';

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

/**
 * On-screen buttons for touch screens, bound to `controls`; `onPause` for the pause button.
 * `settings.touch` chooses the button size and a left-handed mirror (the buttons swap sides).
 */
export function touchPad(controls, ruleset, onPause, settings = null) {
  const b = (label, text, bit) => {
    const el = h('button', { type: 'button', class: 'btn', 'aria-label': label }, text);
    if (bit) controls.bindButton(el, bit);
    return el;
  };
  const pause = onPause ? h('button', { type: 'button', class: 'btn', 'aria-label': 'Pause', onclick: onPause }, 'II') : null;
  const move = [b('Move left', '◀', INPUT.LEFT), b('Soft drop', '▼', INPUT.DOWN), b('Move right', '▶', INPUT.RIGHT)];
  const turn = [b('Rotate counter-clockwise', '⟲', INPUT.CCW), b('Rotate clockwise', '⟳', INPUT.CW)];
  const extra = [
    ruleset.hardDrop ? b('Hard drop', '⤓', INPUT.HARD) : null,
    ruleset.hold ? b('Hold', 'HOLD', INPUT.HOLD) : null,
    pause,
  ];
  const touch = settings?.touch || { mirror: false, size: 'medium' };
  const cls = `touch size-${touch.size}${touch.mirror ? ' mirror' : ''}`;
  return h('div', { class: cls, role: 'group', 'aria-label': 'Touch controls' },
    h('div', { class: 'touch-move' }, move), h('div', { class: 'touch-turn' }, turn, extra));
}

/** Keyboard help for the ruleset, naming the keys the player bound. */
export function keyHelp(ruleset, settings = null) {
  const keys = settings?.keys || DEFAULT_KEYS;
  const k = (id) => {
    const list = keys[id] || [];
    if (!list.length) return [h('kbd', {}, '—')];
    return list.flatMap((c, i) => (i ? ['/', h('kbd', {}, keyName(c))] : [h('kbd', {}, keyName(c))]));
  };
  return h('div', { class: 'help card' },
    h('div', {}, ...k('left'), ' ', ...k('right'), ' move · ', ...k('soft'), ' soft drop'),
    h('div', {}, ...k('cw'), ' rotate right · ', ...k('ccw'), ' rotate left', ...(ruleset.hardDrop ? [' · ', ...k('r180'), ' 180'] : [])),
    ruleset.hardDrop ? h('div', {}, ...k('hard'), ' hard drop · ', ...k('hold'), ' hold') : null,
    h('div', {}, ...k('pause'), ' pause · ', h('a', { href: '/settings', 'data-link': true, text: 'Settings' })));
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
  // Visible count, so the limit is never a silent cut (maxlength stops typing at it).
  const counter = h('span', { class: 'char-count', id: `${id}-count`, 'aria-live': 'polite' });
  const count = () => {
    const n = [...input.value].length;
    counter.textContent = `${n}/${maxChars}${n >= maxChars ? ' (limit)' : ''}`;
    counter.classList.toggle('full', n >= maxChars);
  };
  input.setAttribute('aria-describedby', counter.id);
  input.addEventListener('input', count);
  count();
  return {
    input,
    counter,
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

/** A mute toggle for `sound` (audio.js); remembered in the settings. */
export function muteButton(sound) {
  const b = h('button', { type: 'button', class: 'btn small', 'aria-label': 'Mute sound', 'aria-pressed': String(sound.muted) });
  const show = () => {
    b.textContent = sound.muted ? 'Sound off' : 'Sound on';
    b.setAttribute('aria-pressed', String(sound.muted));
  };
  b.addEventListener('click', () => {
    sound.setMuted(!sound.muted);
    show();
  });
  show();
  return b;
}
