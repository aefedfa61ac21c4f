import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Game, INPUT, WIDTH, HIDDEN } from '../js/engine/game.js';

for (const ruleset of ['classic', 'modern']) {
  test(`${ruleset}: a spawn that overlaps the stack is game over, and the game then stops`, () => {
    const g = new Game({ ruleset, seed: 'over' });
    // Fill the spawn area (rows with one hole, so nothing clears) except where the falling piece is.
    g.active = { type: 'O', rot: 0, x: ruleset === 'modern' ? 4 : 5, y: HIDDEN + 10 };
    for (let y = HIDDEN - 2; y < HIDDEN + 10; y++) for (let x = 0; x < 3; x++) g.board[y * WIDTH + x] = 8;
    for (let y = HIDDEN - 2; y < HIDDEN + 3; y++) for (let x = 0; x < WIDTH - 1; x++) g.board[y * WIDTH + x] = 8;
    for (let i = 0; i < 200 && !g.over; i++) g.step(ruleset === 'modern' ? INPUT.HARD * (i % 2) : INPUT.DOWN);
    assert.equal(g.over, true);
    const frame = g.frame;
    const score = g.score;
    g.step(INPUT.HARD);
    assert.equal(g.frame, frame);
    assert.equal(g.score, score);
  });
}

test('stacking pieces in the middle tops out in a real game', () => {
  const g = new Game({ ruleset: 'modern', seed: 'stack' });
  let i = 0;
  while (!g.over && i < 5000) g.step(i++ % 2 ? INPUT.HARD : 0);
  assert.equal(g.over, true);
  assert.ok(g.pieces > 8 && g.pieces < 40, `${g.pieces} pieces`);
});
