// Player settings kept in this browser (localStorage): handling (DAS, ARR, soft-drop speed, used by
// the engine in modern rules and recorded in the input log), key bindings, touch layout and sound.
// Anything unreadable or out of range falls back to the default, so a bad saved value can never
// stop the game from starting.

import { INPUT } from './engine/game.js';
import { DEFAULT_HANDLING, HANDLING_LIMITS } from './engine/rules.js';

const KEY = 'tetris.settings.v1';

/** The actions a key can be bound to, in the order the settings screen lists them. */
export const ACTIONS = [
  { id: 'left', label: 'Move left', bit: INPUT.LEFT },
  { id: 'right', label: 'Move right', bit: INPUT.RIGHT },
  { id: 'soft', label: 'Soft drop', bit: INPUT.DOWN },
  { id: 'hard', label: 'Hard drop', bit: INPUT.HARD, modern: true },
  { id: 'cw', label: 'Rotate clockwise', bit: INPUT.CW },
  { id: 'ccw', label: 'Rotate counter-clockwise', bit: INPUT.CCW },
  { id: 'r180', label: 'Rotate 180°', bit: INPUT.ROT180, modern: true },
  { id: 'hold', label: 'Hold', bit: INPUT.HOLD, modern: true },
  { id: 'pause', label: 'Pause', bit: 0 },
  { id: 'restart', label: 'Restart (solo)', bit: 0 },
];

/**
 * Default keys (KeyboardEvent.code), two per action at most. No modifier chords and no Ctrl: a
 * browser owns Ctrl+W, Ctrl+R, Ctrl+Tab, so a game key that is Ctrl can close the tab mid-game.
 */
export const DEFAULT_KEYS = Object.freeze({
  left: ['ArrowLeft'],
  right: ['ArrowRight'],
  soft: ['ArrowDown'],
  hard: ['Space'],
  cw: ['ArrowUp', 'KeyX'],
  ccw: ['KeyZ'],
  r180: ['KeyA'],
  hold: ['KeyC', 'ShiftLeft'],
  pause: ['Escape', 'KeyP'],
  restart: ['KeyR'],
});

/** Keys that may never be bound: the browser or the page needs them. */
export const RESERVED_KEYS = new Set(['ControlLeft', 'ControlRight', 'MetaLeft', 'MetaRight', 'AltLeft', 'AltRight', 'Tab', 'F5', 'F11', 'F12']);

/** Handling presets players know (frames at 60 Hz, soft drop in cells per second). */
export const PRESETS = {
  default: { ...DEFAULT_HANDLING },
  relaxed: { das: 14, arr: 4, sdr: 120 },
  fast: { das: 7, arr: 0, sdr: 1200 },
};

export const DEFAULT_SETTINGS = Object.freeze({
  handling: { ...DEFAULT_HANDLING },
  keys: DEFAULT_KEYS,
  touch: { mirror: false, size: 'medium' },
  volume: 60,
  muted: false,
});

const TOUCH_SIZES = ['small', 'medium', 'large'];

/** Settings from localStorage, each field checked; defaults for anything missing or wrong. */
export function loadSettings(storage = globalThis.localStorage) {
  let saved = {};
  try {
    saved = JSON.parse(storage?.getItem(KEY) || '{}') || {};
  } catch {
    saved = {};
  }
  return sanitize(saved);
}

/** Saves `settings` (sanitized first; returns what was stored). */
export function saveSettings(settings, storage = globalThis.localStorage) {
  const clean = sanitize(settings);
  try {
    storage?.setItem(KEY, JSON.stringify(clean));
  } catch {
    // Private mode or a full quota: the settings last for this page only.
  }
  return clean;
}

function sanitize(s) {
  const handling = {};
  for (const [k, { min, max }] of Object.entries(HANDLING_LIMITS)) {
    const v = s.handling?.[k];
    handling[k] = Number.isInteger(v) && v >= min && v <= max ? v : DEFAULT_HANDLING[k];
  }
  const keys = {};
  const used = new Set();
  for (const { id } of ACTIONS) {
    const list = Array.isArray(s.keys?.[id]) ? s.keys[id] : DEFAULT_KEYS[id];
    keys[id] = list.filter((c) => typeof c === 'string' && c.length < 32 && !RESERVED_KEYS.has(c) && !used.has(c)).slice(0, 2);
    for (const c of keys[id]) used.add(c);
  }
  const touch = {
    mirror: s.touch?.mirror === true,
    size: TOUCH_SIZES.includes(s.touch?.size) ? s.touch.size : 'medium',
  };
  const volume = Number.isInteger(s.volume) && s.volume >= 0 && s.volume <= 100 ? s.volume : DEFAULT_SETTINGS.volume;
  return { handling, keys, touch, volume, muted: s.muted === true };
}

/** KeyboardEvent.code -> engine bit (0 for pause) for a settings object. */
export function keymapOf(settings) {
  const map = new Map();
  for (const { id, bit } of ACTIONS) for (const code of settings.keys[id] || []) map.set(code, { id, bit });
  return map;
}

/** A short human name for a KeyboardEvent.code ("KeyZ" -> "Z", "ArrowLeft" -> "←"). */
export function keyName(code) {
  const arrows = { ArrowLeft: '←', ArrowRight: '→', ArrowUp: '↑', ArrowDown: '↓' };
  if (arrows[code]) return arrows[code];
  if (/^Key[A-Z]$/.test(code)) return code.slice(3);
  if (/^Digit\d$/.test(code)) return code.slice(5);
  if (code === 'Escape') return 'Esc';
  return code.replace(/(Left|Right)$/, ' $1').trim();
}
