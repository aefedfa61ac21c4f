// Rules version 2 (issue 16): no input is lost after a line clear in modern, keys pressed while no
// piece is active act at spawn, a 180-degree rotation, and the player's handling (DAS, ARR,
// soft-drop speed). Version 1 keeps its old behaviour so its games still replay.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Game, INPUT, HEIGHT } from '../js/engine/game.js';
import { normalizeHandling, rulesFor, DEFAULT_HANDLING } from '../js/engine/rules.js';
import { setBottom, tap, hold } from './helpers.js';

/** A modern game whose next lock of a vertical I in column 9 clears `rows` lines. */
function clearReady(version, rows = 1) {
  const g = new Game({ ruleset: 'modern', seed: 'v2-clear', version });
  setBottom(g, Array(rows).fill('#########.'));
  g.active = { type: 'I', rot: 1, x: 7, y: 2 }; // rot 1 fills column x + 2
  g.lowestY = 2;
  return g;
}

test('v2 modern: a line clear spawns the next piece in the same frame (no clear delay)', () => {
  const g = clearReady(2);
  tap(g, INPUT.HARD);
  assert.equal(g.lines, 1);
  assert.ok(g.active, 'the next piece is already active');
  assert.equal(rulesFor('modern', 2).lineClearDelay, 0);
});

test('v2 modern: a hard drop pressed 60 ms (4 frames) after a clear lands', () => {
  const g = clearReady(2);
  g.step(INPUT.HARD);
  hold(g, 0, 3);
  const pieces = g.pieces;
  g.step(INPUT.HARD); // the 4th frame after the clearing lock
  g.step(0);
  assert.equal(g.pieces, pieces + 1, 'the hard drop locked the piece and the next one spawned');
});

test('v1 modern (old games): the same hard drop pressed during the clear delay is ignored', () => {
  const g = clearReady(1);
  g.step(INPUT.HARD);
  hold(g, 0, 3);
  const pieces = g.pieces;
  g.step(INPUT.HARD);
  hold(g, 0, 20);
  assert.equal(g.pieces, pieces + 1, 'only the spawn after the delay, no hard drop');
  assert.ok(g.active && g.active.y < HEIGHT - 4, 'the new piece is still near the top');
});

/** A v2 modern game with a clear delay put back (as a server could configure): shows the buffer. */
function delayedClear() {
  const g = clearReady(2);
  g.rules = { ...g.rules, lineClearDelay: 15 };
  g.step(INPUT.HARD);
  g.step(0);
  assert.equal(g.active, null, 'the clear delay is running');
  return g;
}

test('v2: a rotation pressed and held during the delay rotates the piece as it spawns (IRS)', () => {
  const g = delayedClear();
  hold(g, INPUT.CW, 20);
  assert.ok(g.active);
  assert.equal(g.active.rot, 1);
});

test('v2: a hold tapped during the delay holds the piece as it spawns (IHS)', () => {
  const g = delayedClear();
  const coming = g.queue[0];
  tap(g, INPUT.HOLD);
  hold(g, 0, 20);
  assert.equal(g.hold, coming, 'the piece that spawned went straight to hold');
});

test('v2: a hard drop tapped during the delay drops the piece as it spawns', () => {
  const g = delayedClear();
  const pieces = g.pieces;
  tap(g, INPUT.HARD);
  hold(g, 0, 20);
  assert.equal(g.pieces, pieces + 2, 'spawned, dropped, and the one after it spawned');
});

test('v2: the 180 button turns a piece half way; version 1 ignores the bit', () => {
  const g2 = new Game({ ruleset: 'modern', seed: 'r180', version: 2 });
  tap(g2, INPUT.ROT180);
  assert.equal(g2.active.rot, 2);
  const g1 = new Game({ ruleset: 'modern', seed: 'r180', version: 1 });
  tap(g1, INPUT.ROT180);
  assert.equal(g1.active.rot, 0);
});

test('v2: DAS and ARR come from the handling; ARR 0 slides to the wall at once', () => {
  const g = new Game({ ruleset: 'modern', seed: 'das', handling: { das: 5, arr: 0 } });
  g.active = { type: 'O', rot: 0, x: 4, y: 2 };
  g.step(INPUT.RIGHT);
  assert.equal(g.active.x, 5, 'the press moves once');
  hold(g, INPUT.RIGHT, 4);
  assert.equal(g.active.x, 5, 'DAS not charged yet');
  g.step(INPUT.RIGHT);
  assert.equal(g.active.x, 8, 'charged: straight to the wall');
  const slow = new Game({ ruleset: 'modern', seed: 'das', handling: { das: 5, arr: 3 } });
  slow.active = { type: 'O', rot: 0, x: 0, y: 2 };
  hold(slow, INPUT.RIGHT, 1 + 5 + 3 * 2);
  assert.equal(slow.active.x, 1 + 3, 'one on press, one when DAS is charged, then one every 3 frames');
});

test('v2: soft drop speed is cells per second from the handling', () => {
  const fast = new Game({ ruleset: 'modern', seed: 'sdr', handling: { sdr: 1200 } });
  hold(fast, INPUT.DOWN, 2);
  assert.equal(fast.dropDistance(), 0, '20 cells a frame: on the floor after 2 frames');
  const slow = new Game({ ruleset: 'modern', seed: 'sdr', handling: { sdr: 30 } });
  const y = slow.active.y;
  hold(slow, INPUT.DOWN, 10);
  assert.equal(slow.active.y, y + 5, '30 cells/s is one cell every 2 frames');
});

test('handling is validated and classic keeps the NES timings whatever is asked', () => {
  assert.deepEqual(normalizeHandling({}), DEFAULT_HANDLING);
  assert.throws(() => normalizeHandling({ das: 0 }), /handling\.das/);
  assert.throws(() => normalizeHandling({ arr: 1.5 }), /handling\.arr/);
  assert.throws(() => normalizeHandling({ sdr: 5000 }), /handling\.sdr/);
  const classic = new Game({ ruleset: 'classic', seed: 1, handling: { das: 3, arr: 0 } });
  assert.equal(classic.rules.dasDelay, 16);
  assert.equal(classic.rules.dasRepeat, 6);
  assert.throws(() => new Game({ ruleset: 'modern', seed: 1, version: 3 }), /rules version/);
});

test('v2 sprint: the lock that reaches 40 lines ends the game with reason goal, and it replays', async () => {
  const { InputRecorder, replay, summary } = await import('../js/engine/replay.js');
  const g = new Game({ ruleset: 'modern', seed: 'sprint', mode: 'sprint' });
  const rec = new InputRecorder({ ruleset: 'modern', seed: 'sprint', startLevel: 0, mode: 'sprint' });
  g.lines = 39;
  setBottom(g, ['#########.']);
  g.active = { type: 'I', rot: 1, x: 7, y: 2 };
  g.lowestY = 2;
  g.drainEvents();
  g.step(INPUT.HARD);
  assert.equal(g.lines, 40);
  assert.equal(g.over, true);
  assert.deepEqual(g.drainEvents().filter((e) => e.type === 'gameover'), [{ type: 'gameover', reason: 'goal' }]);
  assert.equal(rec.toLog(0).mode, 'sprint');
  const marathon = new Game({ ruleset: 'modern', seed: 'sprint' });
  marathon.lines = 45;
  assert.equal(marathon.over, false, 'marathon has no goal');
  // A short real sprint log replays to the same end.
  const real = new Game({ ruleset: 'modern', seed: 's2', mode: 'sprint' });
  const rec2 = new InputRecorder({ ruleset: 'modern', seed: 's2', startLevel: 0, mode: 'sprint' });
  for (let i = 0; i < 50 && !real.over; i++) {
    rec2.input(real.frame, INPUT.HARD);
    real.step(INPUT.HARD);
    if (real.over) break;
    rec2.input(real.frame, 0);
    real.step(0);
  }
  assert.deepEqual(summary(replay(rec2.toLog(real.frame))), summary(real));
});

test('v2 blitz: the game ends after 7200 frames (2 minutes); version 1 has no modes', () => {
  const g = new Game({ ruleset: 'modern', seed: 'blitz', mode: 'blitz' });
  const idle = (n) => {
    for (let i = 0; i < n; i++) {
      g.board.fill(0); // no stack: only the clock can end this game
      g.step(0);
    }
  };
  idle(7199);
  assert.equal(g.over, false);
  idle(5);
  assert.equal(g.over, true);
  assert.equal(g.frame, 7200, 'exactly 2 minutes were played');
  assert.throws(() => new Game({ ruleset: 'modern', seed: 1, version: 1, mode: 'blitz' }), /version 2/);
  assert.throws(() => new Game({ ruleset: 'modern', seed: 1, mode: 'ultra' }), /mode/);
});
