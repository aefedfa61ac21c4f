// Home menu: Play solo, Play duo, Score board.

import { h, replaceChildren } from '../dom.js';

export function mountHome(root, app) {
  const { config } = app;
  const link = (href, text, label, enabled = true) => enabled
    ? h('a', { class: 'btn primary', href, 'data-link': true, 'aria-label': label }, text)
    : h('button', { class: 'btn', disabled: true, 'aria-label': `${label} (turned off on this server)` }, text);
  replaceChildren(root, h('section', { class: 'menu stack center', 'aria-labelledby': 'home-h' },
    h('h1', { id: 'home-h', text: config.title || 'Tetris' }),
    h('p', { class: 'muted', text: config.ruleset === 'modern'
      ? 'Modern rules: 7-bag, SRS rotation, hold, hard drop, ghost piece.'
      : 'Classic rules: NES gravity and scoring.' }),
    link('/solo', 'Play solo', 'Play solo', config.solo),
    link('/duo', 'Play duo', 'Play duo', config.duo),
    link('/scores', 'Score board', 'Score board')));
  app.setDebug(() => ({ screen: 'home' }));
  return null;
}
