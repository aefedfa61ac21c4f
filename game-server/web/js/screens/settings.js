// Settings: handling (DAS, ARR, soft drop) with presets, key bindings, touch layout, sound volume.
// Saved in localStorage at every change (settings.js); the next game uses them.

import { h, setText, replaceChildren } from '../dom.js';
import { FRAME_MS } from '../loop.js';
import { HANDLING_LIMITS } from '../engine/rules.js';
import {
  ACTIONS, PRESETS, RESERVED_KEYS, DEFAULT_SETTINGS, loadSettings, saveSettings, keyName,
} from '../settings.js';

const HANDLING_FIELDS = [
  { key: 'das', label: 'DAS (delay before auto-shift), frames', unit: (v) => `${Math.round(v * FRAME_MS)} ms` },
  { key: 'arr', label: 'ARR (auto-repeat rate), frames', unit: (v) => (v === 0 ? 'instant' : `${Math.round(v * FRAME_MS)} ms`) },
  { key: 'sdr', label: 'Soft drop speed, cells per second', unit: (v) => (v >= 1200 ? 'instant' : `${v}/s`) },
];

export function mountSettings(root, app) {
  let settings = loadSettings();
  let capture = null; // {action, index, button} while waiting for a key
  const status = h('p', { class: 'ok-text', role: 'status', 'aria-live': 'polite' });
  const save = (text = 'Saved.') => {
    settings = saveSettings(settings);
    setText(status, text);
  };

  function render() {
    const handling = HANDLING_FIELDS.map(({ key, label, unit }) => {
      const { min, max } = HANDLING_LIMITS[key];
      const out = h('output', { for: `set-${key}`, text: unit(settings.handling[key]) });
      const input = h('input', {
        type: 'number', id: `set-${key}`, min, max, step: 1, value: settings.handling[key], inputmode: 'numeric',
        onchange: () => {
          const v = Number(input.value);
          if (Number.isInteger(v) && v >= min && v <= max) {
            settings.handling[key] = v;
            save();
            setText(out, unit(v));
          } else {
            setText(status, `${label}: ${min} to ${max}.`);
            input.value = settings.handling[key];
          }
        },
      });
      return h('label', { for: `set-${key}` }, label, h('div', { class: 'row' }, input, out));
    });
    const presets = h('div', { class: 'row', role: 'group', 'aria-label': 'Handling presets' },
      Object.entries(PRESETS).map(([name, values]) => h('button', {
        type: 'button', class: 'btn small', 'data-preset': name, onclick: () => { settings.handling = { ...values }; save(`Preset “${name}” saved.`); render(); },
      }, name[0].toUpperCase() + name.slice(1))));

    const keyRows = ACTIONS.map(({ id, label }) => {
      const list = settings.keys[id] || [];
      const buttons = [0, 1].map((i) => h('button', {
        type: 'button', class: 'btn small key-btn', 'data-action': id, 'data-slot': i,
        'aria-label': `${label}: ${list[i] ? keyName(list[i]) : 'none'}. Press to change`,
        onclick: (e) => startCapture(id, i, e.currentTarget),
      }, list[i] ? keyName(list[i]) : '—'));
      return h('tr', {}, h('th', { scope: 'row', text: label }), h('td', {}, buttons));
    });

    const mirror = h('input', { type: 'checkbox', id: 'set-mirror', checked: settings.touch.mirror, onchange: () => { settings.touch.mirror = mirror.checked; save(); } });
    const size = h('select', { id: 'set-size', onchange: () => { settings.touch.size = size.value; save(); } },
      ['small', 'medium', 'large'].map((v) => h('option', { value: v, selected: settings.touch.size === v }, v)));
    const volume = h('input', { type: 'range', id: 'set-volume', min: 0, max: 100, step: 5, value: settings.volume, onchange: () => { settings.volume = Number(volume.value); save(); } });
    const muted = h('input', { type: 'checkbox', id: 'set-muted', checked: settings.muted, onchange: () => { settings.muted = muted.checked; save(); } });

    replaceChildren(root, h('section', { class: 'card settings stack', 'aria-labelledby': 'settings-h' },
      h('h2', { id: 'settings-h', text: 'Settings' }),
      h('p', { class: 'muted', text: 'Saved in this browser. Handling applies to modern rules (classic keeps the NES timings).' }),
      h('h3', { text: 'Handling' }), presets, handling,
      h('h3', { text: 'Keys' }),
      h('p', { class: 'muted', text: 'Press a key button, then the key. Escape cancels. Ctrl, Alt, Meta and Tab are kept for the browser.' }),
      h('table', { class: 'keys' }, h('tbody', {}, keyRows)),
      h('h3', { text: 'Touch' }),
      h('label', { class: 'check', for: 'set-mirror' }, mirror, 'Left-handed (movement on the right)'),
      h('label', { for: 'set-size' }, 'Button size', size),
      h('h3', { text: 'Sound' }),
      h('label', { for: 'set-volume' }, 'Volume', volume),
      h('label', { class: 'check', for: 'set-muted' }, muted, 'Mute'),
      h('div', { class: 'row' }, h('button', {
        type: 'button', class: 'btn', onclick: () => { settings = JSON.parse(JSON.stringify(DEFAULT_SETTINGS)); save('Defaults restored.'); render(); },
      }, 'Restore defaults')),
      status));
  }

  function startCapture(action, index, button) {
    capture = { action, index };
    setText(button, 'Press a key…');
    setText(status, '');
  }

  const onKey = (e) => {
    if (!capture) return;
    e.preventDefault();
    e.stopPropagation();
    const { action, index } = capture;
    capture = null;
    if (e.code === 'Escape' && action !== 'pause') {
      render();
      return;
    }
    if (RESERVED_KEYS.has(e.code) || e.ctrlKey || e.metaKey || e.altKey) {
      setText(status, `${keyName(e.code)} belongs to the browser; choose another key.`);
      render();
      return;
    }
    // A key does one thing: take it away from any other action first.
    for (const a of ACTIONS) settings.keys[a.id] = settings.keys[a.id].filter((c) => c !== e.code);
    const list = settings.keys[action].slice();
    list[index] = e.code;
    settings.keys[action] = list.filter(Boolean);
    save(`${keyName(e.code)} saved.`);
    render();
  };
  window.addEventListener('keydown', onKey, true);
  app.setDebug(() => ({ screen: 'settings', settings: JSON.parse(JSON.stringify(settings)) }));
  render();
  return () => window.removeEventListener('keydown', onKey, true);
}
