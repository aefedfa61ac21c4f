// Duo: lobby (private room by code, quick match), the match itself (own board, opponent board,
// garbage, mirrored pause), the result, rematch, and reconnection within the grace period.
//
// The server is the referee: it replays each player's input log as it streams in (`inputs`),
// sends the garbage each replay produces, decides the winner from the replays and records both
// scores on the duo board itself; it relays boards and mirrors pause. This module keeps the local
// engine in step with those messages.

import { h, setText, replaceChildren } from '../dom.js';
import { Game } from '../engine/game.js';
import { RULESETS, RULES_VERSION } from '../engine/rules.js';
import { InputRecorder, replay } from '../engine/replay.js';
import { Controls } from '../input/controls.js';
import { FrameLoop } from '../loop.js';
import { api } from '../net/api.js';
import { loadSettings } from '../settings.js';
import { stateMessage } from '../net/wire.js';
import { BoardPanel, describeClear } from './board-panel.js';
import { touchPad, keyHelp, muteButton } from './widgets.js';
import { Sound, buttonSound } from '../audio.js';
import { confirmDialog, trapFocus } from './dialog.js';
import { debugGame } from './solo.js';
import { lobbyView, waitingView, endReason, CLOSE_REASONS } from './duo-views.js';
import { scoreTable } from './scores.js';
import { saveLog as saveLogFor, savedLog, clearSavedLog } from './duo-storage.js';
import { FIRST_TO, SetTally, matchStats as statsOf } from './duo-session.js';

const STATE_EVERY_FRAMES = 6; // ~10 board updates per second, well inside the rate limit
const MIN_STATE_GAP = 3;
const IN_MATCH_MESSAGES = new Set(['state', 'inputs', 'game_over', 'pause', 'unpause']);
/** Input entries per `inputs` message (each is a few bytes; messages stay far below 4 KiB). */
const MAX_INPUTS_PER_MESSAGE = 200;
/** Frames of play after which `inputs` go out even without a new entry, so gravity counts too. */
const INPUTS_EVERY_FRAMES = 30;
/** Quick match has no pause: a tab hidden this long counts as away and concedes (PROTOCOL.md). */
const AWAY_FORFEIT_MS = 10000;
/** A private room pauses both sides once a tab has been hidden this long. */
const HIDE_PAUSE_MS = 700;

export function mountDuo(root, app) {
  const { config, connection } = app;
  if (!config.duo) {
    replaceChildren(root, h('p', { class: 'card menu center', role: 'alert', text: 'Duo games are turned off on this server.' }));
    app.setDebug(() => ({ screen: 'duo-disabled' }));
    return null;
  }
  const params = new URLSearchParams(location.search);
  let lobby = null;
  let room = null; // {code, seat, opponent, name}
  let match = null; // the current match, see startMatch
  let phase = 'lobby';
  let myName = '';
  let quick = false; // this room came from quick match: no pause
  let tally = null; // SetTally: the running set score in this room
  const offs = [];
  // The lobby shows the duo board, kept live over the socket.
  const duoBoard = scoreTable('duo', 'Duo best scores', 'duo-board-h');
  duoBoard.fill([]);
  api.scores().then((d) => duoBoard.fill(d?.duo)).catch(() => {});
  offs.push(connection.on('scores', (m) => duoBoard.fill(m.duo)));
  connection.setWatchScores(true);
  offs.push(() => connection.setWatchScores(false));

  // ---- lobby and waiting room ----------------------------------------------------------------

  function showLobby(message = '') {
    stopMatch();
    phase = 'lobby';
    room = null;
    quick = false;
    lobby = lobbyView(config, (params.get('room') || '').toUpperCase(), {
      create: (name, startLevel) => { myName = name; busy(); connection.send({ type: 'create_room', name, startLevel }); },
      join: (name, code) => { myName = name; busy(); connection.send({ type: 'join_room', name, code }); },
      quick: (name, startLevel) => { myName = name; quick = true; busy(); connection.send({ type: 'quick_match', name, startLevel }); },
    });
    replaceChildren(root, lobby.el, h('div', { class: 'menu' }, duoBoard.el));
    lobby.status(message);
    lobby.focus();
  }

  function busy() {
    lobby?.status('Connecting…');
  }

  function showWaiting(code, queued) {
    stopMatch();
    phase = 'waiting';
    replaceChildren(root, waitingView({ code, queued }, leave));
  }

  /** Leaving a running match loses it: ask first. */
  async function confirmLeave() {
    const m = match;
    if (!m || m.ended || phase !== 'playing') return true;
    m.controls.enabled = false;
    const ok = await confirmDialog({
      title: 'Leave the match?', text: 'Leaving now counts as a loss: your opponent wins.', yes: 'Leave and lose', no: 'Keep playing',
    });
    m.controls.enabled = true;
    m.controls.clearTaps();
    return ok;
  }

  async function leaveAsked() {
    if (await confirmLeave()) leave();
  }

  function leave() {
    connection.send({ type: 'leave_room' });
    connection.resumeToken = null;
    clearSavedLog();
    showLobby();
  }

  // ---- the match -----------------------------------------------------------------------------

  function startMatch(info, restoredLog = null) {
    stopMatch();
    phase = 'playing';
    const { seed, startLevel, ruleset } = info;
    // The version the server issued the match under (match_start / resumed `rules`).
    const version = info.rules ?? RULES_VERSION;
    const rules = RULESETS[ruleset];
    const settings = loadSettings();
    const handling = ruleset === 'modern' ? settings.handling : undefined;
    const game = restoredLog ? replay(restoredLog) : new Game({ ruleset, seed, startLevel, handling, version });
    const recorder = restoredLog ? InputRecorder.fromLog(restoredLog) : new InputRecorder({ ruleset, seed, startLevel, handling, version });
    const me = new BoardPanel({ ruleset, label: 'Your board', name: myName || 'You', meter: true });
    const them = new BoardPanel({ ruleset, label: 'Opponent board', name: info.opponent, compact: true, meter: true });
    const m = {
      game, recorder, me, them, rules, gameId: info.gameId, number: info.match, seat: info.seat,
      frozen: new Set(), ended: false, reported: false, lastSent: '', opponentState: null,
      sentGarbage: 0, receivedGarbage: 0, lastSentFrame: 0, quick, maxCombo: 0,
      // What the server has of our log: a resumed seat continues from the server's counts.
      sent: { inputs: info.replayed?.[0] ?? 0, garbage: info.replayed?.[1] ?? 0, frame: -1, first: !restoredLog },
      handling: version >= 2 ? handling : undefined,
    };
    m.sound = new Sound(settings);
    m.controls = new Controls({
      onPause: () => requestPause(m), settings, onAction: (bit) => { const n = buttonSound(bit); if (n) m.sound.play(n); },
    });
    m.loop = new FrameLoop(() => frame(m), () => { me.renderGame(game); });
    const pauseBtn = m.quick ? null : h('button', { type: 'button', class: 'btn small pause-btn', 'aria-label': 'Pause both players', onclick: () => requestPause(m) }, 'Pause');
    const leaveBtn = h('button', { type: 'button', class: 'btn small', 'aria-label': 'Leave the match', onclick: leaveAsked }, 'Leave');
    const set = tally && !tally.done && tally.code === (room?.code || info.code) && room
      ? ` · set ${tally.wins[room.seat]}-${tally.wins[1 - room.seat]}` : '';
    m.info = h('p', { class: 'muted center match-info', text: `Room ${room?.code || info.code} · match ${info.match} · ${myName || 'You'} vs ${info.opponent}${set}` });
    // One grid (css "game layout"): both boards always on screen, the opponent's as a mini-board on phones.
    replaceChildren(root, h('div', { class: 'play duo' }, m.info, me.el, them.el, h('div', { class: 'controls' },
      touchPad(m.controls, rules, m.quick ? null : () => requestPause(m), settings),
      h('div', { class: 'actions' }, pauseBtn, leaveBtn, muteButton(m.sound), keyHelp(rules, settings)))));
    me.attach();
    them.attach();
    match = m;
    app.setLeaveGuard(async (go) => {
      if (await confirmLeave()) go();
    });
    me.renderGame(game);
    them.renderState(info.opponentState || null);
    saveLog(m);
    sendState(m, true);
    if (restoredLog) resumeIfFree(m);
    else countdown(m, 3);
  }

  function countdown(m, n) {
    m.frozen.add('countdown');
    m.me.showOverlay(h('h2', { 'data-countdown': n, text: n > 0 ? String(n) : 'Go!' }));
    if (n > 0) {
      m.countdownTimer = setTimeout(() => countdown(m, n - 1), 600);
      return;
    }
    m.countdownTimer = setTimeout(() => {
      m.frozen.delete('countdown');
      if (match === m && !m.ended) m.me.hideOverlay();
      resumeIfFree(m);
    }, 300);
  }

  function freeze(m, reason, overlay) {
    m.frozen.add(reason);
    m.loop.stop();
    m.controls.releaseAll();
    if (overlay) m.me.showOverlay(...overlay);
  }

  function unfreeze(m, reason) {
    m.frozen.delete(reason);
    if (!m.frozen.size && !m.ended && !m.game.over) m.me.hideOverlay();
    resumeIfFree(m);
  }

  function resumeIfFree(m) {
    if (match === m && !m.frozen.size && !m.ended && !m.game.over && !m.loop.running) {
      m.controls.clearTaps();
      m.loop.start();
    }
  }

  function frame(m) {
    const { game } = m;
    const mask = m.controls.sample();
    m.recorder.input(game.frame, mask);
    game.step(mask);
    let locked = false;
    for (const e of game.drainEvents()) {
      m.sound.event(e);
      if (e.type === 'clear') {
        const text = describeClear(e);
        if (text) m.me.announce(text);
        m.maxCombo = Math.max(m.maxCombo, e.combo);
      } else if (e.type === 'attack') {
        // Shown at once; the server sends the same lines once it has replayed this lock.
        m.sentGarbage += e.lines;
        m.me.flashSent(e.lines);
      } else if (e.type === 'lock') {
        locked = true;
      }
    }
    if (locked) saveLog(m);
    // A lock is worth showing at once, but never more than every MIN_STATE_GAP frames (hard-drop
    // spam must stay far below the server's message rate limit).
    const due = game.frame - m.lastSentFrame >= (locked ? MIN_STATE_GAP : STATE_EVERY_FRAMES);
    if (due || game.over) sendState(m, game.over);
    if (game.over && !m.reported) {
      m.reported = true;
      m.loop.stop();
      m.controls.releaseAll();
      sendInputs(m, true);
      connection.send({ type: 'game_over', score: game.score, lines: game.lines, level: game.level });
      const classicWait = !m.rules.garbage && m.opponentOut === undefined;
      m.me.showOverlay(h('h2', { text: 'Topped out' }), h('p', {
        class: 'muted',
        text: classicWait ? `Your opponent plays on: they win only by passing your ${game.score} points.` : 'Waiting for the result…',
      }));
    }
  }

  /**
   * Sends the log entries the server has not seen (`inputs`), in chunks that stay far below the
   * message size bound. Without new entries, only every INPUTS_EVERY_FRAMES frames (or `force`).
   */
  function sendInputs(m, force = false) {
    const { inputs, garbage } = m.recorder;
    for (;;) {
      const end = Math.min(inputs.length, m.sent.inputs + MAX_INPUTS_PER_MESSAGE);
      const frame = end < inputs.length ? inputs[end][0] : m.game.frame;
      let gEnd = m.sent.garbage;
      while (gEnd < garbage.length && garbage[gEnd][0] <= frame) gEnd++;
      const fresh = end > m.sent.inputs || gEnd > m.sent.garbage;
      if (!fresh && frame === m.sent.frame) return;
      if (!fresh && !force && frame - m.sent.frame < INPUTS_EVERY_FRAMES) return;
      const msg = { type: 'inputs', frame, inputs: inputs.slice(m.sent.inputs, end), garbage: garbage.slice(m.sent.garbage, gEnd) };
      if (m.sent.first && m.handling) msg.handling = m.handling;
      connection.sendIfOpen(msg);
      m.sent = { inputs: end, garbage: gEnd, frame, first: false };
      if (end === inputs.length) return;
    }
  }

  function sendState(m, force) {
    sendInputs(m, force);
    m.lastSentFrame = m.game.frame;
    const msg = stateMessage(m.game);
    const json = JSON.stringify(msg);
    if (!force && json === m.lastSent) return;
    m.lastSent = json;
    connection.sendIfOpen(msg);
  }

  function requestPause(m) {
    if (m.ended || m.game.over) return;
    if (m.quick) {
      m.me.announce('NO PAUSE IN QUICK MATCH');
      return;
    }
    connection.send({ type: m.frozen.has('pause') ? 'unpause' : 'pause' });
  }

  function endMatch(msg) {
    const m = match;
    if (!m || m.ended) return;
    m.ended = true;
    app.setLeaveGuard(null);
    m.releaseFocus?.();
    m.loop.stop();
    m.controls.releaseAll();
    clearTimeout(m.countdownTimer);
    m.me.renderGame(m.game);
    const title = msg.you === 'won' ? 'You win!' : msg.you === 'lost' ? 'You lose' : 'Match over';
    const reasonText = endReason(msg.reason, msg.you);
    // The result is the server's: its replays of both players' inputs.
    const seat = m.seat ?? 0;
    const scores = msg.scores || [m.game.score, 0];
    const sent = msg.garbageSent || [m.sentGarbage, 0];
    m.saveStatus = h('p', { class: 'muted', role: 'status', 'data-save': 'done', text: 'The server recorded both scores on the duo board.' });
    const result = h('div', { 'data-server-result': JSON.stringify({ winner: msg.winner, scores, garbageSent: sent }) },
      `Score ${scores[seat]} · opponent ${scores[1 - seat]}${m.rules.garbage ? ` · sent ${sent[seat]} lines` : ''}`);
    m.rematchStatus = h('p', { class: 'muted', role: 'status' });
    const rematch = h('button', { type: 'button', class: 'btn primary', id: 'rematch', 'aria-label': 'Ask for a rematch',
      onclick: () => { connection.send({ type: 'rematch' }); rematch.disabled = true; setText(m.rematchStatus, 'Waiting for your opponent…'); } }, 'Rematch');
    const canRematch = msg.reason === 'topped_out' || msg.reason === 'score';
    m.me.showOverlay(h('h2', { 'data-result': msg.you, text: title }), h('p', { text: reasonText }),
      result, h('div', { text: `Lines ${m.game.lines}` }), matchStats(m), setScore(msg), m.saveStatus,
      canRematch ? rematch : null, m.rematchStatus,
      h('button', { type: 'button', class: 'btn', 'aria-label': 'Leave the room', onclick: leave }, 'Leave'));
    phase = 'ended';
    clearSavedLog();
  }

  /** Post-match numbers: lines sent, pieces per second, attack per minute, best combo. */
  function matchStats(m) {
    const stats = statsOf(m.game, m.sentGarbage, m.maxCombo);
    const el = h('div', { class: 'muted match-stats', 'data-stats': JSON.stringify(stats) },
      m.rules.garbage ? `Sent ${stats.sent} lines · ${stats.pps} PPS · ${stats.apm} APM · best combo ${stats.combo}` : `${stats.pps} PPS`);
    return el;
  }

  /** Counts this result into the room's set (first to FIRST_TO wins) and shows the running score. */
  function setScore(msg) {
    if (!room || msg.winner === null || msg.winner === undefined) return null;
    if (!tally || tally.code !== room.code || tally.done) tally = new SetTally(room.code);
    const { mine, theirs, done, won } = tally.record(msg.winner, room.seat);
    const text = done
      ? `${won ? 'You win the set' : 'Your opponent wins the set'} ${mine}-${theirs}`
      : `Set ${mine}-${theirs} (first to ${FIRST_TO})`;
    return h('p', { class: 'set-score', 'data-set': `${mine}-${theirs}`, text });
  }

  function stopMatch() {
    if (!match) return;
    app.setLeaveGuard(null);
    match.releaseFocus?.();
    match.sound.detach();
    match.loop.stop();
    match.controls.detach();
    match.me.detach();
    match.them.detach();
    clearTimeout(match.countdownTimer);
    match = null;
  }

  // A page reload mid-match replays the saved log, so the local game continues where it was.
  function saveLog(m) {
    saveLogFor(m.gameId, myName, m.recorder.toLog(m.game.frame));
  }

  function closed(text) {
    stopMatch();
    phase = 'closed';
    connection.resumeToken = null;
    clearSavedLog();
    replaceChildren(root, h('section', { class: 'card menu stack center', role: 'alert' },
      h('h2', { text: 'Room closed' }), h('p', { 'data-closed': 'true', text }),
      h('button', { type: 'button', class: 'btn primary', 'aria-label': 'Back to the duo lobby', onclick: () => showLobby() }, 'Back to lobby')));
  }

  // ---- messages ------------------------------------------------------------------------------

  const handlers = {
    room_joined(msg) {
      room = { code: msg.code, seat: msg.seat };
      if (Array.isArray(msg.players) && msg.players.length < 2) showWaiting(msg.code, false);
    },
    queued() {
      quick = true;
      showWaiting(null, true);
    },
    opponent_joined(msg) {
      if (phase === 'waiting') root.prepend(h('p', { class: 'ok-text center', text: `${msg.name} joined.` }));
    },
    match_start(msg) {
      room = { ...(room || {}), code: msg.code, seat: msg.seat };
      startMatch(msg);
    },
    opponent_state(msg) {
      if (!match) return;
      match.opponentState = msg;
      match.them.renderState(msg);
    },
    garbage(msg) {
      if (!match || match.ended || match.game.over) return;
      match.receivedGarbage += msg.lines;
      match.sound.play('garbage');
      match.recorder.addGarbage(match.game.frame, msg.lines, msg.hole);
      match.game.addGarbage(msg.lines, msg.hole);
    },
    paused(msg) {
      if (!match || match.ended) return;
      saveLog(match);
      const m = match;
      clearTimeout(m.countdownTimer);
      m.frozen.delete('countdown');
      const resume = h('button', { type: 'button', class: 'btn primary', 'aria-label': 'Resume both players', onclick: () => requestPause(m) }, 'Resume');
      const leaveBtn = h('button', { type: 'button', class: 'btn', 'aria-label': 'Leave the match', onclick: leaveAsked }, 'Leave');
      const who = msg.by === 'you' ? 'You paused the match.' : 'Your opponent paused the match; they can resume (you can after 30 s).';
      freeze(m, 'pause', [h('h2', { text: 'Paused' }), h('p', { class: 'muted', text: who }), resume, leaveBtn]);
      m.me.setPaused(true);
      m.releaseFocus?.();
      m.releaseFocus = trapFocus(m.me.overlay);
      resume.focus();
    },
    unpaused() {
      if (!match || match.ended) return;
      const m = match;
      m.releaseFocus?.();
      m.releaseFocus = null;
      m.frozen.delete('pause');
      m.me.setPaused(false);
      // Both players count down 3-2-1 before play resumes, so neither gets a head start.
      countdown(m, 3);
    },
    opponent_topped_out(msg) {
      if (!match || match.ended) return;
      match.opponentOut = msg.score;
      match.them.showOverlay(h('h2', { text: 'Out' }), h('p', { 'data-opponent-out': msg.score, text: `Final score ${msg.score}` }));
      match.me.announce(`BEAT ${msg.score} TO WIN`);
    },
    opponent_disconnected(msg) {
      if (!match || match.ended) return;
      freeze(match, 'opponent', [h('h2', { text: 'Opponent disconnected' }),
        h('p', { class: 'muted', text: `Waiting up to ${msg.graceSeconds} s for them to come back…` })]);
    },
    opponent_reconnected() {
      if (match) unfreeze(match, 'opponent');
    },
    match_end(msg) {
      endMatch(msg);
    },
    rematch_requested() {
      if (match?.rematchStatus) setText(match.rematchStatus, 'Your opponent wants a rematch.');
    },
    room_closed(msg) {
      if (msg.reason === 'left') {
        // Our own leave_room (e.g. out of the quick-match queue): the lobby is already showing.
        connection.resumeToken = null;
        return;
      }
      if (match && match.ended) {
        setText(match.rematchStatus, CLOSE_REASONS[msg.reason] || 'The room is closed.');
        match.me.overlay.querySelector('#rematch')?.setAttribute('disabled', '');
        connection.resumeToken = null;
        phase = 'closed';
        return;
      }
      closed(CLOSE_REASONS[msg.reason] || 'The room is closed.');
    },
    resumed(msg) {
      room = { code: msg.code, seat: msg.seat };
      if (msg.phase === 'waiting') {
        showWaiting(msg.code, false);
      } else if (msg.phase === 'playing') {
        if (match && match.gameId === msg.gameId) {
          unfreeze(match, 'connection');
          if (msg.paused) handlers.paused({ by: 'opponent' });
          return;
        }
        const saved = savedLog(msg.gameId);
        if (!saved) {
          // Nothing to continue from: this page never saw the match; concede cleanly.
          connection.send({ type: 'leave_room' });
          showLobby('Your previous match could not be restored in this tab.');
          return;
        }
        myName = saved.name || myName;
        try {
          startMatch({ ...msg, opponentState: msg.opponentState }, saved.log);
        } catch {
          connection.send({ type: 'leave_room' });
          showLobby('Your previous match could not be restored in this tab.');
          return;
        }
        if (msg.paused) handlers.paused({ by: 'opponent' });
      } else if (msg.phase === 'finished') {
        if (!match) showLobby('Your previous match has finished.');
      }
    },
    error(msg) {
      // A board, garbage or top-out sent just before the other side ended the match crosses
      // `match_end` on the wire; the server refuses it as not_playing. Nothing is wrong then.
      if (msg.code === 'not_playing' && IN_MATCH_MESSAGES.has(msg.ref)) return;
      if (msg.code === 'pause_not_allowed' && match) {
        match.me.announce(msg.message || 'No pause now.');
        return;
      }
      const text = msg.message || 'Something went wrong.';
      if (phase === 'lobby') lobby?.status(text);
      else if (msg.code === 'bad_resume_token' && match && !match.ended) closed('The connection was lost for too long: the match is over.');
      else if (msg.code !== 'rate_limited') app.banner(text, 'error');
    },
    close(ev) {
      if (ev.code === 4001) {
        closed('This seat was taken over by another tab or window.');
        return;
      }
      if (match && !match.ended && !match.game.over) {
        freeze(match, 'connection', [h('h2', { text: 'Connection lost' }), h('p', { class: 'muted', text: 'Reconnecting…' })]);
      }
    },
    open() {
      if (match && !match.ended && !connection.resumeToken) closed('The connection was lost and the match could not be resumed.');
    },
  };
  for (const [type, fn] of Object.entries(handlers)) offs.push(connection.on(type, fn));
  // A hidden tab cannot run its game (browsers stop animation frames). In a private room it pauses
  // both sides; in quick match (no pause) a tab hidden for AWAY_FORFEIT_MS counts as away and concedes.
  let awayTimer = 0;
  const onVisibility = () => {
    clearTimeout(awayTimer);
    const m = match;
    if (!document.hidden || !m || m.ended || m.game.over || phase !== 'playing') return;
    if (!m.quick) {
      // After a moment, so a reload (which hides the page too, then resumes the seat) never pauses:
      // the unloading page's timer dies with it.
      awayTimer = setTimeout(() => {
        if (match === m && !m.ended && document.hidden && !m.frozen.has('pause')) connection.send({ type: 'pause' });
      }, HIDE_PAUSE_MS);
      return;
    }
    awayTimer = setTimeout(() => {
      if (match !== m || m.ended || !document.hidden) return;
      m.reported = true;
      sendInputs(m, true);
      connection.send({ type: 'game_over', score: m.game.score, lines: m.game.lines, level: m.game.level });
    }, AWAY_FORFEIT_MS);
  };
  document.addEventListener('visibilitychange', onVisibility);
  offs.push(() => {
    document.removeEventListener('visibilitychange', onVisibility);
    clearTimeout(awayTimer);
  });
  // Closing or reloading the tab: keep the log up to this frame so a reload can resume exactly here.
  const onPageHide = () => {
    if (match && !match.ended) saveLog(match);
  };
  window.addEventListener('pagehide', onPageHide);
  offs.push(() => window.removeEventListener('pagehide', onPageHide));

  app.setDebug(() => ({
    screen: 'duo', phase, room: room ? { ...room } : null,
    me: match ? { ...debugGame(match.game), frozen: [...match.frozen] } : null,
    opponent: match?.opponentState ? { ...match.opponentState } : null,
    sentGarbage: match?.sentGarbage ?? 0, receivedGarbage: match?.receivedGarbage ?? 0,
    log: match ? match.recorder.toLog(match.game.frame) : null,
  }));

  showLobby();
  connection.connect();

  return () => {
    for (const off of offs) off();
    if (phase === 'waiting' || phase === 'playing' || phase === 'ended') {
      connection.send({ type: 'leave_room' });
      connection.resumeToken = null;
      clearSavedLog();
    }
    stopMatch();
  };
}
