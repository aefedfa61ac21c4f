// Score board: best score per player for solo and duo, live over the WebSocket.

import { h, replaceChildren } from '../dom.js';
import { api } from '../net/api.js';

/** A score table for one mode; `fill(rows)` redraws it and flashes rows that changed. */
export function scoreTable(mode, caption, headingId) {
  const body = h('tbody');
  let previous = [];
  const el = h('section', { class: 'card', 'aria-labelledby': headingId },
    h('h2', { id: headingId, text: caption }),
    h('table', { 'data-board': mode },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num', text: '#' }), h('th', { scope: 'col', text: 'Name' }),
        h('th', { scope: 'col', class: 'num', text: 'Score' }), h('th', { scope: 'col', class: 'num', text: 'Lines' }),
        h('th', { scope: 'col', class: 'num', text: 'Level' }))),
      body));
  function fill(rows) {
    const list = Array.isArray(rows) ? rows : [];
    const before = new Map(previous.map((r) => [r.name, r.score]));
    previous = list;
    if (!list.length) {
      replaceChildren(body, h('tr', {}, h('td', { colspan: 5, class: 'muted', text: 'No scores yet.' })));
      return;
    }
    replaceChildren(body, list.map((r) => h('tr', { class: before.get(r.name) === r.score ? null : 'flash' },
      h('td', { class: 'num', text: r.rank }), h('td', { class: 'name', text: r.name }),
      h('td', { class: 'num', text: r.score }), h('td', { class: 'num', text: r.lines }), h('td', { class: 'num', text: r.level }))));
  }
  return { el, fill, rows: () => previous };
}

export function mountScores(root, app) {
  const { connection } = app;
  const solo = scoreTable('solo', 'Solo', 'solo-h');
  const duo = scoreTable('duo', 'Duo', 'duo-h');
  const status = h('p', { class: 'muted', role: 'status', text: 'Loading…' });

  function show(data, live) {
    solo.fill(data?.solo);
    duo.fill(data?.duo);
    status.textContent = live ? 'Live: updates appear as scores come in.' : '';
  }

  replaceChildren(root, h('h1', { text: 'Score board' }), status, h('div', { class: 'boards' }, solo.el, duo.el));

  api.scores().then((d) => show(d, connection.ready)).catch((e) => { status.textContent = e.message; });
  const offScores = connection.on('scores', (m) => show(m, true));
  const offClose = connection.on('close', () => { status.textContent = 'Reconnecting for live updates…'; });
  connection.setWatchScores(true);
  app.setDebug(() => ({ screen: 'scores', live: connection.ready, solo: solo.rows(), duo: duo.rows() }));
  return () => {
    offScores();
    offClose();
    connection.setWatchScores(false);
  };
}
