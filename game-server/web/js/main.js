// Entry point: loads the server config, routes on location.pathname (/, /solo, /duo, /scores) and
// mounts one screen at a time. Links marked data-link navigate without reloading the page.

import { api, DEFAULT_CONFIG } from './net/api.js';
import { connection } from './net/socket.js';
import { mountHome } from './screens/home.js';
import { mountSolo } from './screens/solo.js';
import { mountDuo } from './screens/duo.js';
import { mountScores } from './screens/scores.js';
import { mountSettings } from './screens/settings.js';

const ROUTES = { '/': mountHome, '/solo': mountSolo, '/duo': mountDuo, '/scores': mountScores, '/settings': mountSettings };

const root = document.getElementById('app');
const banner = document.getElementById('banner');
let unmount = null;
let debug = () => ({ screen: 'none' });
// A screen with something to lose (a duo match) sets this: it gets the path, asks the player, and
// calls `go` only if they agree.
let leaveGuard = null;

const app = {
  config: DEFAULT_CONFIG,
  connection,
  navigate(path) {
    if (leaveGuard) {
      const guard = leaveGuard;
      guard(() => {
        if (leaveGuard === guard) leaveGuard = null;
        app.navigate(path);
      });
      return;
    }
    if (path !== location.pathname + location.search) history.pushState(null, '', path);
    route();
  },
  /** `fn(go)` is asked before the player leaves this screen by a link or Back; null to stop asking. */
  setLeaveGuard(fn) {
    leaveGuard = fn;
  },
  setDebug(fn) {
    debug = fn;
  },
  /** Shows a page-wide notice ('' hides it). */
  banner(text, kind = 'info') {
    banner.textContent = text;
    banner.className = kind === 'error' ? 'banner error' : 'banner';
    banner.hidden = !text;
  },
};

function route() {
  if (unmount) unmount();
  unmount = null;
  leaveGuard = null;
  debug = () => ({ screen: 'none' });
  const mount = ROUTES[location.pathname] || mountHome;
  // Game screens use the whole width (the board is sized from the viewport).
  document.body.classList.toggle('playing', location.pathname === '/solo' || location.pathname === '/duo');
  for (const a of document.querySelectorAll('.topnav a')) {
    if (a.getAttribute('href') === location.pathname) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  root.replaceChildren();
  shownPath = location.pathname + location.search;
  unmount = mount(root, app) || null;
}

document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[data-link]') : null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  app.navigate(url.pathname + url.search);
});
// Back during a guarded screen: stay (put the entry back) and ask; leave only if the player agrees.
let shownPath = location.pathname + location.search;
window.addEventListener('popstate', () => {
  const target = location.pathname + location.search;
  if (leaveGuard && target !== shownPath) {
    history.pushState(null, '', shownPath);
    app.navigate(target);
    return;
  }
  route();
});

connection.on('draining', (m) => app.banner(`The server is restarting: new games are paused, running matches may finish (up to ${m.seconds} s).`));
connection.on('open', (m) => {
  if (m.draining) app.banner('The server is restarting: new games are paused.');
});

// Read-only hook for tests and debugging: a snapshot of what the current screen shows.
Object.defineProperty(window, '__tetris', { value: Object.freeze({ snapshot: () => debug() }) });

async function start() {
  try {
    const cfg = await api.config();
    app.config = { ...DEFAULT_CONFIG, ...cfg, limits: { ...DEFAULT_CONFIG.limits, ...(cfg.limits || {}) } };
  } catch {
    app.banner('The server cannot be reached: offline practice only.', 'error');
  }
  const title = app.config.title || 'Tetris';
  document.title = title;
  document.getElementById('brand').textContent = title;
  route();
}

start();
