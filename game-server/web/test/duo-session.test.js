import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Game, INPUT } from '../js/engine/game.js';
import { FIRST_TO, SetTally, matchStats } from '../js/screens/duo-session.js';
import { tap } from './helpers.js';

test('a set is won by the first to win three matches, then starts over', () => {
  assert.equal(FIRST_TO, 3);
  const t = new SetTally('K7QX2M');
  assert.deepEqual(t.record(0, 0), { mine: 1, theirs: 0, done: false, won: false });
  assert.deepEqual(t.record(1, 0), { mine: 1, theirs: 1, done: false, won: false });
  t.record(0, 0);
  assert.deepEqual(t.record(0, 0), { mine: 3, theirs: 1, done: true, won: true });
  const other = new SetTally('K7QX2M');
  for (let i = 0; i < 3; i++) other.record(0, 1);
  assert.equal(other.done, true);
  assert.equal(other.record(0, 1).won, false, 'seat 1 lost the set');
});

test('match stats count locked pieces per second and attack per minute', () => {
  const g = new Game({ ruleset: 'modern', seed: 'stats' });
  for (let i = 0; i < 6; i++) tap(g, INPUT.HARD); // 6 pieces locked in 12 frames
  for (let i = 0; i < 348; i++) g.step(0); // 6 s in all
  const s = matchStats(g, 3, 2);
  assert.equal(s.pps, '1.00');
  assert.equal(s.apm, '30.0', '3 lines in 6 s');
  assert.deepEqual([s.sent, s.combo], [3, 2]);
});
