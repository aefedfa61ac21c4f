import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INPUT, HEIGHT } from '../js/engine/game.js';
import { NES_FRAMES_PER_CELL, nesFramesPerCell, MODERN_GRAVITY, CELL_UNITS } from '../js/engine/rules.js';
import { gameWith, hold } from './helpers.js';

test('NES gravity table (frames per cell by level)', () => {
  const expected = { 0: 48, 1: 43, 2: 38, 3: 33, 4: 28, 5: 23, 6: 18, 7: 13, 8: 8, 9: 6, 10: 5, 12: 5, 13: 4, 15: 4, 16: 3, 18: 3, 19: 2, 28: 2, 29: 1, 40: 1 };
  for (const [level, frames] of Object.entries(expected)) assert.equal(nesFramesPerCell(Number(level)), frames, `level ${level}`);
  assert.equal(NES_FRAMES_PER_CELL.length, 29);
});

/** Frames until the active piece first moves down by itself. */
function framesToFall(ruleset, level) {
  const g = gameWith(ruleset, { type: 'T', rot: 0, x: 4, y: 6 }, level);
  const y0 = g.active.y;
  for (let f = 1; f < 200; f++) {
    g.step(0);
    if (g.active.y !== y0) return f;
  }
  return -1;
}

test('a classic piece falls one cell after exactly the table\'s frames', () => {
  for (const level of [0, 1, 8, 9, 13, 19, 29]) assert.equal(framesToFall('classic', level), nesFramesPerCell(level), `level ${level}`);
});

test('modern gravity rises with the level and reaches 20G', () => {
  for (let i = 1; i < MODERN_GRAVITY.length; i++) assert.ok(MODERN_GRAVITY[i] >= MODERN_GRAVITY[i - 1]);
  assert.equal(MODERN_GRAVITY.at(-1), 20 * CELL_UNITS);
  assert.equal(framesToFall('modern', 0), Math.ceil(CELL_UNITS / MODERN_GRAVITY[0]));
  const g = gameWith('modern', { type: 'T', rot: 0, x: 4, y: 6 }, 20);
  g.step(0);
  assert.equal(g.active.y, HEIGHT - 2, '20G lands in one frame');
});

test('classic DAS: move on press, again after 16 frames, then every 6', () => {
  const g = gameWith('classic', { type: 'T', rot: 0, x: 1, y: 6 }, 0);
  const xs = [];
  for (let f = 1; f <= 30; f++) {
    g.step(INPUT.RIGHT);
    xs.push(g.active.x);
  }
  assert.equal(xs[0], 2);
  assert.equal(xs[15], 2);
  assert.equal(xs[16], 3);
  assert.equal(xs[21], 3);
  assert.equal(xs[22], 4);
  assert.equal(xs[28], 5);
});

test('modern DAS is 10 frames then 2-frame repeat, and stops at the wall', () => {
  const g = gameWith('modern', { type: 'T', rot: 0, x: 3, y: 6 }, 0);
  g.step(INPUT.LEFT);
  assert.equal(g.active.x, 2);
  hold(g, INPUT.LEFT, 9);
  assert.equal(g.active.x, 2, 'no repeat before 10 frames');
  hold(g, INPUT.LEFT, 1);
  assert.equal(g.active.x, 1);
  hold(g, INPUT.LEFT, 1);
  assert.equal(g.active.x, 1);
  hold(g, INPUT.LEFT, 1);
  assert.equal(g.active.x, 0);
  hold(g, INPUT.LEFT, 20);
  assert.equal(g.active.x, 0);
});

test('modern lock delay: 30 frames on the ground, reset by moves at most 15 times', () => {
  const g = gameWith('modern', { type: 'T', rot: 0, x: 3, y: HEIGHT - 2 }, 0);
  hold(g, 0, 29);
  assert.ok(g.active, 'still active after 29 grounded frames');
  g.step(0);
  assert.equal(g.active?.type === 'T' && g.active.y === HEIGHT - 2, false, 'locked on frame 30');

  const h = gameWith('modern', { type: 'T', rot: 0, x: 3, y: HEIGHT - 2 }, 0);
  let frames = 0;
  // Wiggle left/right every 20 frames: each move resets the timer until resets run out.
  while (h.active && h.active.type === 'T' && h.active.y === HEIGHT - 2 && frames < 2000) {
    const mask = frames % 20 === 0 ? ((frames / 20) % 2 ? INPUT.RIGHT : INPUT.LEFT) : 0;
    h.step(mask);
    frames++;
  }
  assert.ok(frames > 15 * 20 && frames <= 15 * 20 + 31, `locked after ${frames} frames`);
});
