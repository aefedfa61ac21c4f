// Score boards: best game per player for each mode (marathon, duo, sprint by time, blitz) of the
// server's ruleset, live over the WebSocket.

import { h, replaceChildren } from '../dom.js';
import { api } from '../net/api.js';

/** "1:02.35" for a time in milliseconds. */
export function formatTime(ms) {
  const t = Math.max(0, Math.round(ms / 10));
  const min = Math.floor(t / 6000);
  const sec = Math.floor((t % 6000) / 100);
  return `${min}:${String(sec).padStart(2, '0')}.${String(t % 100).padStart(2, '0')}`;
}

/**
 * A score table for one mode; `fill(rows)` redraws it and flashes rows that changed. `timed`
 * tables (sprint) lead with the time.
 */
export function scoreTable(mode, caption, headingId, timed = false) {
  const body = h('tbody');
  let previous = [];
  const cols = timed ? ['Time', 'Score', 'Lines'] : ['Score', 'Lines', 'Level'];
  const el = h('section', { class: 'card', 'aria-labelledby': headingId },
    h('h2', { id: headingId, text: caption }),
    h('table', { 'data-board': mode },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num', text: '#' }), h('th', { scope: 'col', text: 'Name' }),
        cols.map((c) => h('th', { scope: 'col', class: 'num', text: c })))),
      body));
  const key = (r) => `${r.score}/${r.timeMs ?? ''}`;
  function fill(rows) {
    const list = Array.isArray(rows) ? rows : [];
    const before = new Map(previous.map((r) => [r.name, key(r)]));
    previous = list;
    if (!list.length) {
      replaceChildren(body, h('tr', {}, h('td', { colspan: 5, class: 'muted', text: 'No scores yet.' })));
      return;
    }
    replaceChildren(body, list.map((r) => h('tr', { class: before.get(r.name) === key(r) ? null : 'flash' },
      h('td', { class: 'num', text: r.rank }), h('td', { class: 'name', text: r.name }),
      timed ? h('td', { class: 'num', 'data-time': r.timeMs, text: formatTime(r.timeMs ?? 0) }) : null,
      h('td', { class: 'num', text: r.score }), h('td', { class: 'num', text: r.lines }),
      timed ? null : h('td', { class: 'num', text: r.level }))));
  }
  return { el, fill, rows: () => previous };
}

export function mountScores(root, app) {
  const { connection, config } = app;
  const solo = scoreTable('solo', 'Marathon', 'solo-h');
  const duo = scoreTable('duo', 'Duo', 'duo-h');
  const sprint = scoreTable('sprint', 'Sprint 40 lines', 'sprint-h', true);
  const blitz = scoreTable('blitz', 'Blitz 2 minutes', 'blitz-h');
  const status = h('p', { class: 'muted', role: 'status', text: 'Loading…' });
  const rules = h('p', { class: 'muted', text: `${config.ruleset === 'modern' ? 'Modern' : 'Classic'} rules (each rule set has its own boards).` });

  function show(data, live) {
    solo.fill(data?.solo);
    duo.fill(data?.duo);
    sprint.fill(data?.sprint);
    blitz.fill(data?.blitz);
    status.textContent = live ? 'Live: updates appear as scores come in.' : '';
  }

  const offered = config.soloModes || [];
  replaceChildren(root, h('h1', { text: 'Score board' }), rules, status, h('div', { class: 'boards' }, solo.el, duo.el,
    offered.includes('sprint') ? sprint.el : null, offered.includes('blitz') ? blitz.el : null));

  api.scores().then((d) => show(d, connection.ready)).catch((e) => { status.textContent = e.message; });
  const offScores = connection.on('scores', (m) => show(m, true));
  const offClose = connection.on('close', () => { status.textContent = 'Reconnecting for live updates…'; });
  connection.setWatchScores(true);
  app.setDebug(() => ({ screen: 'scores', live: connection.ready, solo: solo.rows(), duo: duo.rows(), sprint: sprint.rows(), blitz: blitz.rows() }));
  return () => {
    offScores();
    offClose();
    connection.setWatchScores(false);
  };
}
