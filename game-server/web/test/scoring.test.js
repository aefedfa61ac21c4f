import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INPUT, HEIGHT } from '../js/engine/game.js';
import { classicLevel, modernLevel } from '../js/engine/rules.js';
import { gameWith, setBottom, untilActive, eventsOf, hold } from './helpers.js';

const WELL = '#########.';

/** Classic: a vertical I dropped into a right-side well over `n` nearly full rows; returns the game after the lock. */
function classicClear(n, level) {
  const g = gameWith('classic', { type: 'I', rot: 1, x: 9, y: HEIGHT - 2 }, level);
  setBottom(g, Array(n).fill(WELL));
  g.drainEvents();
  hold(g, 0, 60); // the piece rests on the floor; the next gravity step locks it
  return g;
}

test('classic scoring is (level + 1) x {40, 100, 300, 1200}', () => {
  for (const level of [0, 5, 9, 18]) {
    [40, 100, 300, 1200].forEach((base, i) => {
      const g = classicClear(i + 1, level);
      const clears = eventsOf(g, 'clear');
      assert.equal(clears.length, 1);
      assert.equal(clears[0].lines, i + 1);
      assert.equal(g.score, base * (level + 1), `level ${level}, ${i + 1} lines`);
      assert.equal(g.lines, i + 1);
    });
  }
});

test('classic: cleared rows are removed and the stack above falls', () => {
  const g = gameWith('classic', { type: 'I', rot: 1, x: 9, y: HEIGHT - 2 });
  setBottom(g, ['#.........', WELL, WELL]);
  hold(g, 0, 60);
  untilActive(g);
  assert.equal(g.cell(0, HEIGHT - 1), 8, 'the partial row fell to the bottom');
  assert.equal(g.cell(9, HEIGHT - 1), 1, 'the I cell above the cleared rows fell too');
  assert.equal(g.cell(1, HEIGHT - 1), 0);
  assert.equal(g.cell(0, HEIGHT - 2), 0);
});

test('classic soft drop scores one point per cell and locks at the bottom', () => {
  const g = gameWith('classic', { type: 'T', rot: 0, x: 4, y: HEIGHT - 10 });
  hold(g, INPUT.DOWN, 16); // 8 cells at one cell per 2 frames
  assert.equal(g.active.y, HEIGHT - 2);
  assert.equal(g.score, 8);
  hold(g, INPUT.DOWN, 2);
  assert.equal(g.active, null);
  assert.equal(eventsOf(g, 'lock').length, 1);
});

/** Modern: place a piece and hard drop it. */
function drop(g, piece) {
  g.active = { ...piece };
  g.lowestY = piece.y;
  g.lastKick = -1;
  g.step(INPUT.HARD);
  g.step(0);
}

test('modern line clears score 100/300/500/800 x (level + 1) and hard drop 2 per cell', () => {
  [100, 300, 500, 800].forEach((base, i) => {
    const g = gameWith('modern', { type: 'I', rot: 1, x: 7, y: HEIGHT - 4 }, 2);
    setBottom(g, Array(i + 1).fill(WELL));
    drop(g, { type: 'I', rot: 1, x: 7, y: HEIGHT - 8 });
    assert.equal(g.lines, i + 1);
    assert.equal(g.score, base * 3 + 2 * 4);
  });
});

test('modern back-to-back tetris earns 1.5x and a combo bonus; a single breaks back-to-back', () => {
  const g = gameWith('modern', { type: 'I', rot: 1, x: 7, y: HEIGHT - 4 });
  setBottom(g, Array(4).fill(WELL));
  drop(g, { type: 'I', rot: 1, x: 7, y: HEIGHT - 4 });
  assert.equal(g.score, 800);
  untilActive(g);
  setBottom(g, Array(4).fill(WELL));
  drop(g, { type: 'I', rot: 1, x: 7, y: HEIGHT - 4 });
  const [second] = eventsOf(g, 'clear').slice(-1);
  assert.equal(second.b2b, true);
  assert.equal(second.combo, 1);
  assert.equal(g.score, 800 + 1200 + 50);
  untilActive(g);
  setBottom(g, [WELL]);
  drop(g, { type: 'I', rot: 1, x: 7, y: HEIGHT - 4 });
  assert.equal(g.b2b, false);
  assert.equal(g.score, 800 + 1250 + 100 + 100, 'single with combo 2');
});

test('modern combo resets after a lock without a clear', () => {
  const g = gameWith('modern', { type: 'O', rot: 0, x: 0, y: 5 });
  setBottom(g, ['#########.']);
  drop(g, { type: 'O', rot: 0, x: 0, y: 5 });
  assert.equal(g.combo, -1);
  untilActive(g);
  drop(g, { type: 'I', rot: 1, x: 7, y: 5 });
  assert.equal(g.combo, 0);
  untilActive(g);
  drop(g, { type: 'O', rot: 0, x: 4, y: 5 });
  assert.equal(g.combo, -1);
});

test('T-spin double: 3-corner rule, 1200 x (level + 1), 4 garbage lines', () => {
  const g = gameWith('modern', { type: 'T', rot: 1, x: 2, y: HEIGHT - 3 }, 1);
  setBottom(g, ['###.......', '##...#####', '###.######']);
  g.drainEvents();
  g.step(INPUT.CW); // R -> 2 with test 0: the T points down into the slot
  g.step(0);
  assert.equal(g.active.rot, 2);
  g.step(INPUT.HARD);
  const events = g.drainEvents();
  const clear = events.find((e) => e.type === 'clear');
  assert.equal(clear.tspin, 'full');
  assert.equal(clear.lines, 2);
  assert.equal(g.score, 1200 * 2);
  assert.deepEqual(events.find((e) => e.type === 'attack'), { type: 'attack', lines: 4 });
});

test('the same slot filled without a final rotation is not a T-spin', () => {
  const g = gameWith('modern', { type: 'T', rot: 2, x: 2, y: HEIGHT - 3 }, 1);
  setBottom(g, ['###.......', '##...#####', '###.######']);
  g.lastKick = -1;
  g.step(INPUT.HARD);
  const clear = g.drainEvents().find((e) => e.type === 'clear');
  assert.equal(clear.tspin, 'none');
  assert.equal(g.score, 300 * 2);
});

test('NES level rule: first level-up at min(10s+10, max(100, 10s-50)) lines, then every 10', () => {
  assert.equal(classicLevel(0, 9), 0);
  assert.equal(classicLevel(0, 10), 1);
  assert.equal(classicLevel(0, 25), 2);
  assert.equal(classicLevel(5, 59), 5);
  assert.equal(classicLevel(5, 60), 6);
  assert.equal(classicLevel(5, 70), 7);
  assert.equal(classicLevel(9, 99), 9);
  assert.equal(classicLevel(9, 100), 10);
  assert.equal(classicLevel(15, 100), 16);
  assert.equal(classicLevel(18, 129), 18);
  assert.equal(classicLevel(18, 130), 19);
  assert.equal(classicLevel(18, 140), 20);
  assert.equal(modernLevel(3, 9), 3);
  assert.equal(modernLevel(3, 10), 4);
});

test('a game levels up after enough clears and scores the clear at the old level', () => {
  const g = gameWith('classic', { type: 'I', rot: 1, x: 9, y: HEIGHT - 2 });
  let expected = 0;
  for (let i = 0; i < 3; i++) {
    setBottom(g, Array(4).fill(WELL));
    g.active = { type: 'I', rot: 1, x: 9, y: HEIGHT - 2 };
    expected += 1200 * (g.level + 1);
    hold(g, 0, 60);
    untilActive(g);
  }
  assert.equal(g.lines, 12);
  assert.equal(g.level, 1);
  assert.equal(g.score, expected);
  assert.equal(expected, 1200 + 1200 + 1200 * 1, 'the third tetris started at level 0 (lines 8 -> 12)');
});

test('a T-spin that clears nothing is announced but scores nothing (keeps scores within the server bound)', () => {
  const g = gameWith('modern', { type: 'T', rot: 1, x: 2, y: HEIGHT - 3 }, 4);
  setBottom(g, ['###.......', '##...####.', '###.#####.']);
  g.drainEvents();
  g.step(INPUT.CW);
  g.step(0);
  g.step(INPUT.HARD);
  const clear = g.drainEvents().find((e) => e.type === 'clear');
  assert.equal(clear.tspin, 'full');
  assert.equal(clear.lines, 0);
  assert.equal(g.score, 0);
  assert.equal(g.lines, 0);
});

test('scoreLock table: T-spins, minis, back-to-back and combo attack (modern)', async () => {
  const { scoreLock } = await import('../js/engine/scoring.js');
  const fresh = { ruleset: 'modern', level: 0, b2b: false, combo: -1 };
  assert.deepEqual(scoreLock(fresh, 1, 'full'), { points: 800, attack: 2, b2bBonus: false, b2b: true, combo: 0 });
  assert.deepEqual(scoreLock({ ...fresh, b2b: true }, 1, 'full'), { points: 1200, attack: 3, b2bBonus: true, b2b: true, combo: 0 });
  assert.deepEqual(scoreLock(fresh, 1, 'mini'), { points: 200, attack: 0, b2bBonus: false, b2b: true, combo: 0 });
  assert.deepEqual(scoreLock({ ...fresh, level: 2 }, 3, 'full'), { points: 4800, attack: 6, b2bBonus: false, b2b: true, combo: 0 });
  // Fourth consecutive clear (combo 3): single 100 + 150 combo, 1 combo garbage line.
  assert.deepEqual(scoreLock({ ...fresh, combo: 2, b2b: true }, 1, 'none'), { points: 250, attack: 1, b2bBonus: false, b2b: false, combo: 3 });
  assert.deepEqual(scoreLock({ ...fresh, combo: 5, b2b: true }, 0, 'none'), { points: 0, attack: 0, b2bBonus: false, b2b: true, combo: -1 });
  assert.deepEqual(scoreLock({ ruleset: 'classic', level: 3, b2b: false, combo: -1 }, 4, 'none').points, 4800);
});

test('a T rotated in the air and hard-dropped into a slot is not a T-spin', () => {
  // Pointing right, the T can fall into this slot with three corners filled (a mini T-spin shape).
  const board = ['..#.......', '###..#####', '###.######'];
  const g = gameWith('modern', { type: 'T', rot: 0, x: 2, y: HEIGHT - 10 }, 0);
  setBottom(g, board);
  g.step(INPUT.CW); // rotated high above the slot
  g.step(0);
  assert.deepEqual([g.active.rot, g.lastKick], [1, 0]);
  g.step(INPUT.HARD);
  const clear = g.drainEvents().find((e) => e.type === 'clear');
  assert.deepEqual([clear.lines, clear.tspin], [2, 'none']);

  // Control: in the same final position right after a rotation (no fall), it is a mini T-spin.
  const r = gameWith('modern', { type: 'T', rot: 1, x: 2, y: HEIGHT - 3 }, 0);
  setBottom(r, board);
  r.lastKick = 0;
  r.step(INPUT.HARD);
  const mini = r.drainEvents().find((e) => e.type === 'clear');
  assert.deepEqual([mini.lines, mini.tspin], [2, 'mini']);
});
