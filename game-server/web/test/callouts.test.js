// Action text and the engine facts behind it (issue 16): T-spin names, "B2B xN" chains, combos and
// perfect clears.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Game, INPUT } from '../js/engine/game.js';
import { describeClear } from '../js/screens/callouts.js';
import { setBottom, eventsOf } from './helpers.js';

test('describeClear names what players read at a glance', () => {
  const e = (o) => ({ lines: 0, tspin: 'none', b2b: false, b2bChain: 0, combo: 0, perfect: false, ...o });
  assert.equal(describeClear(e({ lines: 1 })), '');
  assert.equal(describeClear(e({ lines: 4 })), 'TETRIS');
  assert.equal(describeClear(e({ lines: 2, tspin: 'full' })), 'T-SPIN DOUBLE');
  assert.equal(describeClear(e({ lines: 1, tspin: 'mini' })), 'MINI T-SPIN SINGLE');
  assert.equal(describeClear(e({ lines: 4, b2b: true, b2bChain: 1 })), 'B2B TETRIS');
  assert.equal(describeClear(e({ lines: 4, b2b: true, b2bChain: 3 })), 'B2B x3 TETRIS');
  assert.equal(describeClear(e({ lines: 1, combo: 2 })), 'COMBO 2');
  assert.equal(describeClear(e({ lines: 2, perfect: true })), 'PERFECT CLEAR · DOUBLE');
});

/** Drops a vertical I into column 9 over `rows` rows that are full but for it. */
function tetrisReady(g, rows, extra = []) {
  setBottom(g, [...extra, ...Array(rows).fill('#########.')]);
  g.active = { type: 'I', rot: 1, x: 7, y: 2 };
  g.lowestY = 2;
  g.drainEvents();
}

test('consecutive Tetrises count the back-to-back chain; a single breaks it', () => {
  const g = new Game({ ruleset: 'modern', seed: 'b2b' });
  const chains = [];
  for (let i = 0; i < 3; i++) {
    tetrisReady(g, 4, ['#.........']);
    g.step(INPUT.HARD);
    g.step(0);
    chains.push(eventsOf(g, 'clear')[0].b2bChain);
  }
  assert.deepEqual(chains, [0, 1, 2]);
  tetrisReady(g, 1, ['#.........']);
  g.step(INPUT.HARD);
  assert.equal(eventsOf(g, 'clear')[0].b2bChain, 0);
});

test('a clear that empties the board is a perfect clear; one that leaves a block is not', () => {
  const g = new Game({ ruleset: 'modern', seed: 'pc' });
  tetrisReady(g, 4);
  g.step(INPUT.HARD);
  assert.equal(eventsOf(g, 'clear')[0].perfect, true);
  g.step(0);
  tetrisReady(g, 4, ['#.........']);
  g.step(INPUT.HARD);
  assert.equal(eventsOf(g, 'clear')[0].perfect, false);
});
