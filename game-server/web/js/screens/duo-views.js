// The duo screen's static views: the lobby form and the waiting room.

import { h } from '../dom.js';
import { levelPicker, nameField } from './widgets.js';

const CODE_RE = /^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/;

/**
 * The lobby. `actions` has create(name, level), join(name, code), quick(name, level).
 * Returns {el, status(text)}.
 */
export function lobbyView(config, initialCode, actions) {
  const field = nameField(config.limits.nameMaxChars, 'duo-name');
  const picker = levelPicker(config.startLevelMin, config.startLevelMax, config.startLevelMin);
  const code = h('input', {
    type: 'text', id: 'room-code', class: 'code', maxlength: 6, autocomplete: 'off', spellcheck: 'false',
    placeholder: 'CODE', 'aria-label': 'Room code', value: initialCode || '',
  });
  const status = h('p', { class: 'error-text', role: 'alert' });
  const named = (fn) => () => {
    const { name, error } = field.read();
    if (error) {
      status.textContent = error;
      field.input.focus();
      return;
    }
    status.textContent = '';
    fn(name);
  };
  const join = named((name) => {
    const c = code.value.trim().toUpperCase();
    if (!CODE_RE.test(c)) {
      status.textContent = 'A room code is 6 letters and digits.';
      code.focus();
      return;
    }
    actions.join(name, c);
  });
  code.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') join();
  });
  const el = h('section', { class: 'card menu stack', 'aria-labelledby': 'duo-h' },
    h('h2', { id: 'duo-h', text: 'Duo' }),
    h('label', { for: 'duo-name' }, 'Name', field.input, field.counter),
    picker.el,
    h('button', { type: 'button', class: 'btn primary', id: 'create-room', 'aria-label': 'Create a private room',
      onclick: named((name) => actions.create(name, picker.get())) }, 'Create private room'),
    h('div', { class: 'row' }, code,
      h('button', { type: 'button', class: 'btn', id: 'join-room', 'aria-label': 'Join the room with this code', onclick: join }, 'Join')),
    h('button', { type: 'button', class: 'btn', id: 'quick-match', 'aria-label': 'Quick match with the next player',
      onclick: named((name) => actions.quick(name, picker.get())) }, 'Quick match'),
    status);
  return { el, status: (text) => { status.textContent = text; }, focus: () => (initialCode ? code : field.input).focus() };
}

/** The waiting room: code to share (or the quick-match queue), and a leave button. */
export function waitingView({ code, queued }, onLeave) {
  const children = [h('h2', { text: queued ? 'Looking for an opponent…' : 'Waiting for an opponent…' })];
  if (code) {
    const link = `${location.origin}/duo?room=${code}`;
    const copied = h('span', { class: 'muted', role: 'status' });
    children.push(
      h('p', { class: 'muted', text: 'Share this code:' }),
      h('div', { class: 'code-big', id: 'room-code-display', 'aria-label': `Room code ${code.split('').join(' ')}`, text: code }),
      h('div', { class: 'row center' },
        h('input', { type: 'text', readonly: true, value: link, 'aria-label': 'Invite link' }),
        h('button', {
          type: 'button', class: 'btn small', 'aria-label': 'Copy invite link',
          onclick: () => navigator.clipboard?.writeText(link).then(() => { copied.textContent = 'Copied.'; }, () => { copied.textContent = 'Copy it by hand.'; }),
        }, 'Copy'), copied));
  }
  children.push(h('button', { type: 'button', class: 'btn', 'aria-label': 'Leave the room', onclick: onLeave }, 'Leave'));
  return h('section', { class: 'card menu stack center', 'aria-live': 'polite' }, children);
}

const END_REASONS = {
  topped_out: { won: 'Your opponent topped out.', lost: 'You topped out.' },
  opponent_left: 'Your opponent left the room.',
  opponent_disconnected: 'Your opponent did not come back in time.',
  server_shutdown: 'The server is shutting down.',
};
/** What `room_closed` reasons mean for the player who is left. */
export const CLOSE_REASONS = {
  opponent_left: 'Your opponent left: the room is closed.',
  opponent_disconnected: 'Your opponent lost the connection and did not come back in time: the room is closed.',
  server_shutdown: 'The server is shutting down: the room is closed.',
  waiting_timeout: 'Nobody joined within 10 minutes: the room is closed.',
  rematch_timeout: 'No rematch within 10 minutes: the room is closed.',
};

/** The sentence under the result of a `match_end`. */
export function endReason(reason, you) {
  const text = END_REASONS[reason];
  return typeof text === 'string' ? text : text?.[you] || '';
}
