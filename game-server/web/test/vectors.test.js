// Shared test vectors: seed + input log -> final state. A server-side port of the rules must
// reproduce every `expect` block from the `log` block (see vectors/README.md).
//
// The vectors are golden files: this test checks the engine against them. After an intended rule
// change, regenerate them with `UPDATE_VECTORS=1 node --test game-server/web/test/vectors.test.js`
// and review the diff.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { Game, INPUT_MASK_ALL, HIDDEN, HEIGHT, WIDTH } from '../js/engine/game.js';
import { InputRecorder, replay } from '../js/engine/replay.js';
import { plan, nextMask } from './bot.js';
import { lcg } from './helpers.js';

const DIR = new URL('./vectors/', import.meta.url);

const CASES = [
  { name: 'classic-level0-bot', ruleset: 'classic', seed: 'vector-classic-0', startLevel: 0, frames: 9000, driver: 'bot' },
  { name: 'classic-level9-bot', ruleset: 'classic', seed: 'vector-classic-9', startLevel: 9, frames: 9000, driver: 'bot' },
  { name: 'classic-level18-mash', ruleset: 'classic', seed: 3141592653, startLevel: 18, frames: 20000, driver: 'mash' },
  { name: 'modern-level0-bot-garbage', ruleset: 'modern', seed: 'vector-modern-0', startLevel: 0, frames: 9000, driver: 'bot', garbageEvery: 500 },
  { name: 'modern-level5-mash', ruleset: 'modern', seed: 'vector-modern-5', startLevel: 5, frames: 8000, driver: 'mash' },
  { name: 'modern-level29-bot', ruleset: 'modern', seed: 7, startLevel: 29, frames: 6000, driver: 'bot' },
];

/** Plays a case and returns its recorded log. */
function play(c) {
  const g = new Game(c);
  const rec = new InputRecorder(c);
  const rand = lcg(c.frames);
  let mask = 0;
  let target = null;
  let piece = -1;
  while (g.frame < c.frames && !g.over) {
    if (c.garbageEvery && g.frame % c.garbageEvery === c.garbageEvery - 1) {
      const n = 1 + (Math.floor(g.frame / c.garbageEvery) % 4);
      const hole = (g.frame * 7) % 10;
      rec.addGarbage(g.frame, n, hole);
      g.addGarbage(n, hole);
    }
    if (c.driver === 'bot') {
      if (g.active && g.pieces !== piece) {
        piece = g.pieces;
        target = plan(g);
      }
      mask = g.active && target ? nextMask(g, target, mask) : 0;
    } else if (rand() % 5 === 0) {
      mask = rand() & INPUT_MASK_ALL;
    }
    rec.input(g.frame, mask);
    g.step(mask);
  }
  return rec.toLog(g.frame);
}

/** The final state a port must reproduce. */
function expectation(g) {
  const rows = [];
  for (let y = HIDDEN; y < HEIGHT; y++) rows.push(Array.from(g.board.subarray(y * WIDTH, (y + 1) * WIDTH)).join(''));
  return {
    score: g.score, lines: g.lines, level: g.level, frames: g.frame, over: g.over, pieces: g.pieces,
    stats: g.stats, hold: g.hold, next: g.queue.slice(0, 5).join(''), board: rows,
  };
}

if (process.env.UPDATE_VECTORS === '1') {
  for (const c of CASES) {
    const log = play(c);
    const vector = { name: c.name, log, expect: expectation(replay(log)) };
    writeFileSync(new URL(`${c.name}.json`, DIR), `${JSON.stringify(vector)}\n`);
  }
}

test('every case has a vector file and nothing else is in the directory', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
  assert.deepEqual(files, CASES.map((c) => `${c.name}.json`).sort());
});

for (const c of CASES) {
  test(`vector ${c.name}: replay matches the recorded final state`, () => {
    const vector = JSON.parse(readFileSync(new URL(`${c.name}.json`, DIR), 'utf8'));
    assert.deepEqual(expectation(replay(vector.log)), vector.expect);
  });

  test(`vector ${c.name}: the recorded log is what the driver plays today`, () => {
    const vector = JSON.parse(readFileSync(new URL(`${c.name}.json`, DIR), 'utf8'));
    assert.deepEqual(play(c), vector.log);
  });
}

test('the vectors exercise line clears, level-ups, garbage and game over', () => {
  const all = CASES.map((c) => JSON.parse(readFileSync(new URL(`${c.name}.json`, DIR), 'utf8')));
  assert.ok(all.some((v) => v.expect.lines >= 10 && v.log.ruleset === 'classic'));
  assert.ok(all.some((v) => v.expect.lines >= 10 && v.log.ruleset === 'modern'));
  assert.ok(all.some((v) => v.expect.level > v.log.startLevel));
  assert.ok(all.some((v) => v.log.garbage.length > 0));
  assert.ok(all.some((v) => v.expect.over));
});
