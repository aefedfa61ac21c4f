// Solo: pick a mode (marathon, sprint 40 lines, blitz 2 minutes) and, for marathon, a start level;
// play, pause, restart at once (R), game over or goal, submit the score with a name, try again.

import { h, setText, replaceChildren } from '../dom.js';
import { Game } from '../engine/game.js';
import { RULESETS, RULES_VERSION } from '../engine/rules.js';
import { InputRecorder } from '../engine/replay.js';
import { Controls } from '../input/controls.js';
import { FrameLoop } from '../loop.js';
import { api } from '../net/api.js';
import { loadSettings } from '../settings.js';
import { BoardPanel, describeClear } from './board-panel.js';
import { levelPicker, touchPad, keyHelp, nameField, muteButton } from './widgets.js';
import { Sound, buttonSound } from '../audio.js';
import { trapFocus } from './dialog.js';
import { formatTime } from './scores.js';
import { loadBest, recordBest } from '../personal-best.js';
import { minimalInputs } from '../engine/finesse.js';

const MODE_LABELS = { marathon: 'Marathon', sprint: 'Sprint 40L', blitz: 'Blitz 2:00' };
const MODE_ABOUT = {
  marathon: 'Play until you top out; the level rises every 10 lines.',
  sprint: 'Clear 40 lines as fast as you can. Ranked by time.',
  blitz: 'Score as much as you can in 2 minutes.',
};

export function mountSolo(root, app) {
  const { config } = app;
  let session = null; // the running game, if any
  let lastLevel = config.startLevelMin;
  const modes = config.soloModes?.length ? config.soloModes.filter((m) => MODE_LABELS[m]) : ['marathon'];
  let lastMode = modes[0];

  function showSetup(message = '') {
    stopSession();
    const picker = levelPicker(config.startLevelMin, config.startLevelMax, lastLevel);
    const error = h('p', { class: 'error-text', role: 'alert', text: message });
    const modeButtons = modes.map((m) => h('button', {
      type: 'button', class: 'btn', 'data-mode': m, 'aria-pressed': String(m === lastMode), 'aria-label': `${MODE_LABELS[m]} mode`,
      onclick: () => {
        lastMode = m;
        for (const b of modeButtons) b.setAttribute('aria-pressed', String(b.dataset.mode === m));
        picker.el.hidden = m !== 'marathon';
        setText(about, MODE_ABOUT[m]);
        setText(best, bestText(m));
      },
    }, MODE_LABELS[m]));
    const about = h('p', { class: 'muted', text: MODE_ABOUT[lastMode] });
    const best = h('p', { class: 'muted', 'data-best': '', text: bestText(lastMode) });
    picker.el.hidden = lastMode !== 'marathon';
    const start = h('button', {
      type: 'button', class: 'btn primary', id: 'start-solo', 'aria-label': 'Start game',
      onclick: () => {
        lastLevel = picker.get();
        newGame(start, error);
      },
    }, 'Start');
    replaceChildren(root, h('section', { class: 'card menu stack', 'aria-labelledby': 'solo-h' },
      h('h2', { id: 'solo-h', text: 'Solo' }),
      h('p', { class: 'muted', text: `${config.ruleset === 'modern' ? 'Modern' : 'Classic'} rules.` }),
      modes.length > 1 ? h('div', { class: 'modes', role: 'group', 'aria-label': 'Mode' }, modeButtons) : null, about, best,
      picker.el, start, error));
    start.focus();
  }

  /** "Your best: ..." for `mode` in this browser, or ''. */
  function bestText(mode) {
    const b = loadBest(config.ruleset, mode);
    if (!b) return '';
    return `Your best here: ${mode === 'sprint' ? formatTime(b.timeMs) : b.score}`;
  }

  /**
   * Asks the server for a game ticket in `lastMode` (at `lastLevel` for marathon, the lowest level
   * otherwise) and starts it (offline practice if unreachable).
   */
  async function newGame(button = null, errorEl = null) {
    if (button) button.disabled = true;
    try {
      startGame(await api.newSoloGame(lastMode === 'marathon' ? lastLevel : config.startLevelMin, lastMode));
    } catch (err) {
      if (err.code === 'network') {
        startGame(null);
        return;
      }
      if (button) button.disabled = false;
      if (errorEl) setText(errorEl, err.message);
      else showSetup(err.message);
    }
  }

  /**
   * `ticket` is the server's game ({gameId, seed, ruleset, startLevel, rules}) or null when offline.
   * The game is played under the rules version the server issued it with (`rules`), because that
   * is the version the server replays it under.
   */
  function startGame(ticket) {
    stopSession();
    const offline = !ticket;
    const seed = offline ? crypto.getRandomValues(new Uint32Array(1))[0] : ticket.seed;
    const ruleset = offline ? config.ruleset : ticket.ruleset;
    const mode = lastMode;
    const startLevel = offline ? (mode === 'marathon' ? lastLevel : config.startLevelMin) : ticket.startLevel;
    const settings = loadSettings();
    const handling = ruleset === 'modern' ? settings.handling : undefined;
    const version = offline ? RULES_VERSION : ticket.rules ?? RULES_VERSION;
    const game = new Game({ ruleset, seed, startLevel, handling, mode, version });
    const recorder = new InputRecorder({ ruleset, seed, startLevel, handling, mode, version });
    const panel = new BoardPanel({ ruleset, label: 'Your board', clock: true });
    const s = { game, recorder, panel, ticket, mode, paused: false, submitted: false, endReason: '', faults: 0 };
    // Instant restart (R): a new game of the same mode, no menu in between.
    s.sound = new Sound(settings);
    s.controls = new Controls({
      onPause: () => togglePause(s), onRestart: () => { if (session === s) newGame(); }, settings,
      onAction: (bit) => { const n = buttonSound(bit); if (n) s.sound.play(n); },
    });
    s.loop = new FrameLoop(() => frame(s), () => panel.renderGame(game));
    const pauseBtn = h('button', { type: 'button', class: 'btn small pause-btn', 'aria-label': 'Pause', onclick: () => togglePause(s) }, 'Pause');
    replaceChildren(root,
      offline ? h('p', { class: 'muted center', text: 'Offline practice: the server could not be reached, so this score cannot be submitted.' }) : null,
      h('div', { class: 'play solo' }, panel.el, h('div', { class: 'controls' },
        touchPad(s.controls, RULESETS[ruleset], () => togglePause(s), settings),
        h('div', { class: 'actions' }, pauseBtn, muteButton(s.sound), keyHelp(RULESETS[ruleset], settings)))));
    panel.attach();
    session = s;
    s.onVisibility = () => {
      if (document.hidden && !s.paused && !game.over) togglePause(s);
    };
    document.addEventListener('visibilitychange', s.onVisibility);
    s.loop.start();
  }

  function frame(s) {
    const mask = s.controls.sample();
    s.recorder.input(s.game.frame, mask);
    s.game.step(mask);
    for (const e of s.game.drainEvents()) {
      if (e.type === 'gameover') s.endReason = e.reason;
      if (e.type === 'lock') {
        const least = minimalInputs(s.game, e.piece, e.x, e.rot);
        if (least >= 0 && e.inputs > least) s.panel.setFinesse((s.faults += e.inputs - least));
      }
      if (!(e.type === 'gameover' && e.reason === 'goal')) s.sound.event(e);
      if (e.type === 'clear') {
        const text = describeClear(e);
        if (text) s.panel.announce(text);
      } else if (e.type === 'levelup') {
        s.panel.announce(`LEVEL ${e.level}`);
      }
    }
    if (s.game.over) gameOver(s);
  }

  function togglePause(s) {
    if (s.game.over || session !== s) return;
    s.paused = !s.paused;
    if (s.paused) {
      s.loop.stop();
      s.controls.releaseAll();
      const resume = h('button', { type: 'button', class: 'btn primary', 'aria-label': 'Resume', onclick: () => togglePause(s) }, 'Resume');
      s.panel.showOverlay(h('h2', { id: 'pause-h', text: 'Paused' }), resume,
        h('button', { type: 'button', class: 'btn', 'aria-label': 'Quit to menu', onclick: () => app.navigate('/') }, 'Quit'));
      s.panel.setPaused(true);
      s.releaseFocus = trapFocus(s.panel.overlay);
      resume.focus();
    } else {
      s.releaseFocus?.();
      s.releaseFocus = null;
      s.panel.hideOverlay();
      s.controls.clearTaps();
      s.loop.start();
    }
  }

  function gameOver(s) {
    s.loop.stop();
    s.controls.releaseAll();
    s.panel.renderGame(s.game);
    const { game } = s;
    const field = nameField(config.limits.nameMaxChars, 'score-name');
    const status = h('p', { class: 'error-text', role: 'status', 'aria-live': 'polite' });
    const submit = h('button', { type: 'submit', class: 'btn primary', id: 'submit-score', 'aria-label': 'Submit score' }, 'Submit');
    const form = h('form', { class: 'stack', onsubmit: (e) => { e.preventDefault(); submitScore(s, field, status, submit); } },
      h('label', { for: 'score-name' }, 'Name', field.input, field.counter), submit);
    if (!s.ticket) form.hidden = true;
    const again = h('button', { type: 'button', class: 'btn', id: 'try-again', 'aria-label': 'Try again at the same level', onclick: () => newGame(again) }, 'Try again');
    const levels = h('button', { type: 'button', class: 'btn small', 'aria-label': 'Choose another start level', onclick: () => showSetup() }, 'Change level');
    const goal = s.endReason === 'goal';
    const pb = recordBest(s.game.rules.name, s.mode, { score: s.game.score, timeMs: Math.round((s.game.frame * 1000) / 60), finished: goal });
    const title = goal ? (s.mode === 'sprint' ? 'Sprint complete!' : 'Time!') : 'Game over';
    const time = formatTime((game.frame * 1000) / 60);
    s.panel.showOverlay(
      h('h2', { 'data-end': goal ? 'goal' : 'over', text: title }),
      s.mode === 'sprint' && goal ? h('div', { class: 'big-time', 'data-final': 'time', text: time }) : null,
      pb ? h('div', { class: 'ok-text', 'data-pb': 'true', text: 'Personal best!' }) : null,
      h('div', { 'data-final': 'score', text: `Score ${game.score}` }),
      h('div', { class: 'muted', text: `Lines ${game.lines} · Level ${game.level}` }),
      h('div', { class: 'muted', 'data-final': 'finesse', text: `Finesse faults ${s.faults}` }),
      h('div', { class: 'muted', text: `${(Math.max(0, game.pieces - (game.active && !goal ? 1 : 0)) / Math.max(game.frame / 60, 1 / 60)).toFixed(2)} pieces per second · R to restart` }),
      form, status, again, levels,
      h('a', { href: '/scores', 'data-link': true, text: 'Score board' }));
    if (s.ticket) field.input.focus();
    else again.focus();
  }

  async function submitScore(s, field, status, button) {
    const { name, error } = field.read();
    status.className = 'error-text';
    if (error) {
      setText(status, error);
      return;
    }
    button.disabled = true;
    setText(status, 'Saving…');
    const { game } = s;
    let inputLog = JSON.stringify(s.recorder.toLog(game.frame));
    if (inputLog.length > config.limits.maxInputLogChars) inputLog = null;
    try {
      const res = await api.submitScore({
        gameId: s.ticket.gameId, name, score: game.score, lines: game.lines, level: game.level,
        pieces: game.pieces, durationMs: Math.round((game.frame * 1000) / 60), inputLog,
      });
      s.submitted = true;
      status.className = 'ok-text';
      const rank = res.rank ? ` Rank #${res.rank}.` : '';
      setText(status, `Saved for ${res.name}.${res.personalBest ? ' New personal best!' : ''}${rank}`);
      field.input.disabled = true;
    } catch (err) {
      button.disabled = err.code === 'already_submitted';
      setText(status, err.message);
    }
  }

  function stopSession() {
    if (!session) return;
    session.releaseFocus?.();
    session.sound.detach();
    session.loop.stop();
    session.controls.detach();
    session.panel.detach();
    document.removeEventListener('visibilitychange', session.onVisibility);
    session = null;
  }

  app.setDebug(() => (session
    ? { screen: 'solo', ...debugGame(session.game), paused: session.paused, mode: session.mode, endReason: session.endReason, faults: session.faults, sounds: session.sound.played.slice(-12) }
    : { screen: 'solo-setup' }));
  if (!config.solo) {
    replaceChildren(root, h('p', { class: 'card menu center', role: 'alert', text: 'Solo games are turned off on this server.' }));
    return null;
  }
  showSetup();
  return () => stopSession();
}

/** Read-only snapshot of a game for the test/debug hook. */
export function debugGame(game) {
  return {
    ruleset: game.rules.name,
    score: game.score, lines: game.lines, level: game.level, over: game.over, frame: game.frame,
    pieces: game.pieces, queue: game.queue.slice(), hold: game.hold, pendingGarbage: game.pendingLines(),
    board: Array.from(game.board), active: game.active ? { ...game.active } : null,
    activeCells: game.active ? game.cellsOf(game.active) : [], handling: game.rules.handling || null,
  };
}
