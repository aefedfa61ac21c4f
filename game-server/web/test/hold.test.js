import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Game, INPUT } from '../js/engine/game.js';
import { tap } from './helpers.js';

test('hold stores the piece, brings the next one, and works once per piece', () => {
  const g = new Game({ ruleset: 'modern', seed: 'hold' });
  const first = g.active.type;
  const next = g.queue[0];
  tap(g, INPUT.HOLD);
  assert.equal(g.hold, first);
  assert.equal(g.active.type, next);
  tap(g, INPUT.HOLD);
  assert.equal(g.hold, first, 'second hold of the same piece is ignored');
  assert.equal(g.active.type, next);
  tap(g, INPUT.HARD);
  const after = g.active.type;
  tap(g, INPUT.CW);
  tap(g, INPUT.HOLD);
  assert.equal(g.active.type, first, 'held piece comes back');
  assert.equal(g.active.rot, 0, 'in spawn orientation');
  assert.equal(g.hold, after);
});

test('hold does not count as a new piece in the statistics', () => {
  const g = new Game({ ruleset: 'modern', seed: 'stats' });
  tap(g, INPUT.HOLD);
  tap(g, INPUT.HARD);
  const total = Object.values(g.stats).reduce((a, b) => a + b, 0);
  tap(g, INPUT.HOLD); // swaps back the held piece: no draw from the queue
  assert.equal(Object.values(g.stats).reduce((a, b) => a + b, 0), total);
});
