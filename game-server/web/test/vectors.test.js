// Shared test vectors: seed + input log -> final state. A server-side port of the rules must
// reproduce every `expect` block from the `log` block (see vectors/README.md).
//
// The vectors are golden files: this test checks the engine against them. After an intended rule
// change, regenerate them with `UPDATE_VECTORS=1 node --test game-server/web/test/vectors.test.js`
// and review the diff.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { Game, inputMaskFor, HIDDEN, HEIGHT, WIDTH } from '../js/engine/game.js';
import { InputRecorder, replay } from '../js/engine/replay.js';
import { RULES_VERSION, RULES_VERSIONS } from '../js/engine/rules.js';
import { plan, nextMask } from './bot.js';
import { lcg } from './helpers.js';

const DIR = new URL('./vectors/', import.meta.url);

/**
 * Cases per rules version. Version 1's files were recorded before version 2 existed and are never
 * regenerated from here: they prove that games played under the old rules still replay exactly.
 */
const CASES = {
  1: [
    { name: 'classic-level0-bot', ruleset: 'classic', seed: 'vector-classic-0', startLevel: 0, frames: 9000, driver: 'bot' },
    { name: 'classic-level9-bot', ruleset: 'classic', seed: 'vector-classic-9', startLevel: 9, frames: 9000, driver: 'bot' },
    { name: 'classic-level18-mash', ruleset: 'classic', seed: 3141592653, startLevel: 18, frames: 20000, driver: 'mash' },
    { name: 'modern-level0-bot-garbage', ruleset: 'modern', seed: 'vector-modern-0', startLevel: 0, frames: 9000, driver: 'bot', garbageEvery: 500 },
    { name: 'modern-level5-mash', ruleset: 'modern', seed: 'vector-modern-5', startLevel: 5, frames: 8000, driver: 'mash' },
    { name: 'modern-level29-bot', ruleset: 'modern', seed: 7, startLevel: 29, frames: 6000, driver: 'bot' },
  ],
  2: [
    { name: 'classic-level0-bot', ruleset: 'classic', seed: 'vector-classic-0', startLevel: 0, frames: 9000, driver: 'bot' },
    { name: 'classic-level18-mash', ruleset: 'classic', seed: 3141592653, startLevel: 18, frames: 20000, driver: 'mash' },
    { name: 'modern-level0-bot-garbage', ruleset: 'modern', seed: 'vector-modern-0', startLevel: 0, frames: 9000, driver: 'bot', garbageEvery: 500 },
    { name: 'modern-level5-mash', ruleset: 'modern', seed: 'vector-modern-5', startLevel: 5, frames: 8000, driver: 'mash' },
    { name: 'modern-level29-bot', ruleset: 'modern', seed: 7, startLevel: 29, frames: 6000, driver: 'bot' },
    { name: 'modern-level3-fast-handling-mash', ruleset: 'modern', seed: 'vector-modern-fast', startLevel: 3, frames: 8000, driver: 'mash', handling: { das: 6, arr: 0, sdr: 1200 } },
    { name: 'modern-level1-slow-handling-bot', ruleset: 'modern', seed: 'vector-modern-slow', startLevel: 1, frames: 9000, driver: 'bot', handling: { das: 14, arr: 4, sdr: 30 }, garbageEvery: 700 },
    { name: 'modern-sprint-bot', ruleset: 'modern', seed: 'vector-sprint', startLevel: 0, frames: 30000, driver: 'bot', mode: 'sprint' },
    { name: 'classic-blitz-bot', ruleset: 'classic', seed: 'vector-blitz', startLevel: 0, frames: 9000, driver: 'bot', mode: 'blitz' },
  ],
};

/** Plays a case and returns its recorded log. */
function play(c, version) {
  const g = new Game({ ...c, version });
  const rec = new InputRecorder({ ...c, version });
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
      mask = rand() & inputMaskFor(version);
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

const fileOf = (version, name) => new URL(`v${version}/${name}.json`, DIR);
const load = (version, name) => JSON.parse(readFileSync(fileOf(version, name), 'utf8'));

// Only the current version is ever regenerated: older versions' files are history.
if (process.env.UPDATE_VECTORS === '1') {
  for (const c of CASES[RULES_VERSION]) {
    const log = play(c, RULES_VERSION);
    const vector = { name: c.name, log, expect: expectation(replay(log)) };
    writeFileSync(fileOf(RULES_VERSION, c.name), `${JSON.stringify(vector)}\n`);
  }
}

test('every rules version has its vector directory, and every case its file', () => {
  assert.deepEqual(Object.keys(CASES).map(Number), RULES_VERSIONS);
  for (const [version, cases] of Object.entries(CASES)) {
    const files = readdirSync(new URL(`v${version}/`, DIR)).filter((f) => f.endsWith('.json')).sort();
    assert.deepEqual(files, cases.map((c) => `${c.name}.json`).sort(), `vectors/v${version}`);
  }
});

for (const [v, cases] of Object.entries(CASES)) {
  const version = Number(v);
  for (const c of cases) {
    test(`vector v${version}/${c.name}: replay matches the recorded final state`, () => {
      const vector = load(version, c.name);
      assert.equal(vector.log.v, version);
      assert.deepEqual(expectation(replay(vector.log)), vector.expect);
    });

    test(`vector v${version}/${c.name}: the recorded log is what the driver plays today under version ${version}`, () => {
      assert.deepEqual(play(c, version), load(version, c.name).log);
    });
  }
}

test('the vectors exercise line clears, level-ups, garbage, game over, handling and the 180 button', () => {
  for (const version of RULES_VERSIONS) {
    const all = CASES[version].map((c) => load(version, c.name));
    assert.ok(all.some((v) => v.expect.lines >= 10 && v.log.ruleset === 'classic'), `v${version} classic lines`);
    assert.ok(all.some((v) => v.expect.lines >= 10 && v.log.ruleset === 'modern'), `v${version} modern lines`);
    assert.ok(all.some((v) => v.expect.level > v.log.startLevel), `v${version} level-up`);
    assert.ok(all.some((v) => v.log.garbage.length > 0), `v${version} garbage`);
    assert.ok(all.some((v) => v.expect.over), `v${version} game over`);
  }
  const current = CASES[RULES_VERSION].map((c) => load(RULES_VERSION, c.name));
  assert.ok(current.some((v) => v.log.handling?.arr === 0), 'instant ARR');
  assert.ok(current.some((v) => v.log.inputs.some(([, m]) => m & 128)), 'the 180 button');
  const sprint = load(RULES_VERSION, 'modern-sprint-bot');
  assert.ok(sprint.expect.over && sprint.expect.lines >= 40 && sprint.expect.lines < 44, `sprint ends at 40 lines (${sprint.expect.lines})`);
  const blitz = load(RULES_VERSION, 'classic-blitz-bot');
  assert.equal(blitz.expect.frames, 7200, 'blitz ends at 2 minutes');
});
