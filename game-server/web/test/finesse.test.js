import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Game, INPUT } from '../js/engine/game.js';
import { minimalInputs } from '../js/engine/finesse.js';
import { tap, hold } from './helpers.js';

const modern = new Game({ ruleset: 'modern', seed: 'finesse' });

test('finesse counts the fewest presses from spawn, a slide to the wall being one', () => {
  assert.equal(minimalInputs(modern, 'T', 3, 0), 0, 'dropped where it spawned');
  assert.equal(minimalInputs(modern, 'T', 2, 0), 1, 'one tap left');
  assert.equal(minimalInputs(modern, 'T', 0, 0), 1, 'DAS to the left wall');
  assert.equal(minimalInputs(modern, 'T', 1, 0), 2, 'wall, then one tap back');
  assert.equal(minimalInputs(modern, 'T', 3, 2), 1, 'a 180 is one press in modern');
  assert.equal(minimalInputs(modern, 'T', 3, 3), 1, 'counter-clockwise is one press');
  // An I turned vertical and slid to the right wall: rotate + DAS.
  const g = new Game({ ruleset: 'modern', seed: 'i' });
  g.spawnPiece('I');
  tap(g, INPUT.CW);
  hold(g, INPUT.RIGHT, 30);
  assert.equal(minimalInputs(modern, 'I', g.active.x, g.active.rot), 2);
});

test('the lock event carries the presses the player used for that piece', () => {
  const g = new Game({ ruleset: 'modern', seed: 'count' });
  tap(g, INPUT.LEFT);
  tap(g, INPUT.LEFT);
  tap(g, INPUT.CW);
  g.drainEvents();
  tap(g, INPUT.HARD);
  const lock = g.drainEvents().find((e) => e.type === 'lock');
  assert.equal(lock.inputs, 3);
  assert.ok(minimalInputs(g, lock.piece, lock.x, lock.rot) <= 3);
});
