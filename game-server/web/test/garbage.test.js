import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Game, INPUT, HEIGHT, WIDTH } from '../js/engine/game.js';
import { gameWith, setBottom, rowString, untilActive, eventsOf } from './helpers.js';

function drop(g, piece) {
  g.active = { ...piece };
  g.lowestY = piece.y;
  g.step(INPUT.HARD);
  g.step(0);
}

test('garbage waits for a lock without a clear, then rises with one hole per batch', () => {
  const g = gameWith('modern', { type: 'O', rot: 0, x: 0, y: 5 });
  g.addGarbage(3, 6);
  assert.equal(rowString(g, HEIGHT - 1), '..........', 'nothing before a lock');
  drop(g, { type: 'O', rot: 0, x: 0, y: 5 });
  const [ev] = eventsOf(g, 'garbage');
  assert.deepEqual(ev, { type: 'garbage', lines: 3, hole: 6 });
  for (let y = HEIGHT - 3; y < HEIGHT; y++) {
    const row = rowString(g, y);
    assert.equal(row, '######.###');
  }
  // The O pushed up by three rows.
  assert.equal(g.cell(0, HEIGHT - 4), 4);
  assert.equal(g.cell(0, HEIGHT - 5), 4);
});

test('clearing lines cancels waiting garbage (oldest first) before any is sent', () => {
  const g = gameWith('modern', { type: 'I', rot: 1, x: 7, y: 10 });
  setBottom(g, Array(4).fill('#########.'));
  g.addGarbage(1, 0);
  g.addGarbage(2, 5);
  drop(g, { type: 'I', rot: 1, x: 7, y: HEIGHT - 4 }); // tetris: 4 attack, 3 cancel, 1 sent
  const events = g.drainEvents();
  assert.deepEqual(events.find((e) => e.type === 'attack'), { type: 'attack', lines: 1 });
  assert.deepEqual(g.pendingGarbage, []);
  untilActive(g);
  assert.equal(rowString(g, HEIGHT - 1), '..........', 'no garbage came in');
  g.addGarbage(3, 0);
  drop(g, { type: 'I', rot: 1, x: 7, y: HEIGHT - 4 }); // no clear: the 3 rows rise
  assert.equal(rowString(g, HEIGHT - 1), '.#########');
});

test('garbage pushing blocks out of the top ends the game', () => {
  const g = gameWith('modern', { type: 'O', rot: 0, x: 0, y: 5 });
  for (let x = 0; x < WIDTH - 1; x++) g.board[1 * WIDTH + x] = 8; // a block near the very top
  g.addGarbage(2, 3);
  drop(g, { type: 'O', rot: 0, x: 0, y: 10 });
  assert.equal(g.over, true);
  assert.equal(eventsOf(g, 'gameover')[0].reason, 'top out');
});

test('pending garbage is capped, and classic ignores garbage', () => {
  const g = new Game({ ruleset: 'modern', seed: 1 });
  g.addGarbage(15, 0);
  g.addGarbage(15, 1);
  assert.equal(g.pendingLines(), 20);
  assert.throws(() => g.addGarbage(1, 10), /hole/);
  const c = new Game({ ruleset: 'classic', seed: 1 });
  c.addGarbage(4, 0);
  assert.deepEqual(c.pendingGarbage, []);
});
