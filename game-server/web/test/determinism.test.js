import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Game, INPUT_MASK_ALL } from '../js/engine/game.js';
import { InputRecorder, replay, summary, validateLog } from '../js/engine/replay.js';
import { lcg } from './helpers.js';
import { plan, nextMask } from './bot.js';

/** Plays `frames` frames of pseudo-random button mashing, recording the log. */
function mash(ruleset, seed, startLevel, frames, inputSeed, garbageEvery = 0) {
  const g = new Game({ ruleset, seed, startLevel });
  const rec = new InputRecorder({ ruleset, seed, startLevel });
  const rand = lcg(inputSeed);
  let mask = 0;
  while (g.frame < frames && !g.over) {
    if (rand() % 4 === 0) mask = rand() & INPUT_MASK_ALL;
    if (garbageEvery && g.frame % garbageEvery === garbageEvery - 1) {
      const lines = 1 + (g.frame % 3);
      const hole = rand() % 10;
      rec.addGarbage(g.frame, lines, hole);
      g.addGarbage(lines, hole);
    }
    rec.input(g.frame, mask);
    g.step(mask);
  }
  return { game: g, log: rec.toLog(g.frame) };
}

function fingerprint(g) {
  return { ...summary(g), board: Array.from(g.board).join(''), queue: g.queue.join(''), hold: g.hold, stats: g.stats };
}

for (const ruleset of ['classic', 'modern']) {
  test(`${ruleset}: same seed and inputs give the same game; a different seed does not`, () => {
    const a = mash(ruleset, 'same', 3, 4000, 9);
    const b = mash(ruleset, 'same', 3, 4000, 9);
    assert.deepEqual(fingerprint(a.game), fingerprint(b.game));
    const c = mash(ruleset, 'other', 3, 4000, 9);
    assert.notDeepEqual(fingerprint(c.game), fingerprint(a.game));
  });

  test(`${ruleset}: replaying the recorded log reproduces the live game`, () => {
    const live = mash(ruleset, 12345, 0, 6000, 4, ruleset === 'modern' ? 240 : 0);
    validateLog(live.log);
    assert.deepEqual(fingerprint(replay(live.log)), fingerprint(live.game));
    // Through JSON, as it travels over the network.
    assert.deepEqual(fingerprint(replay(JSON.parse(JSON.stringify(live.log)))), fingerprint(live.game));
  });
}

test('a bot-played game clears lines and replays to the same score', () => {
  const g = new Game({ ruleset: 'modern', seed: 'bot', startLevel: 0 });
  const rec = new InputRecorder({ ruleset: 'modern', seed: 'bot', startLevel: 0 });
  let target = null;
  let mask = 0;
  let piece = -1;
  while (g.frame < 5000 && !g.over) {
    if (g.active && g.pieces !== piece) {
      piece = g.pieces;
      target = plan(g);
    }
    mask = g.active && target ? nextMask(g, target, mask) : 0;
    rec.input(g.frame, mask);
    g.step(mask);
  }
  assert.ok(g.lines >= 10, `only ${g.lines} lines`);
  assert.deepEqual(summary(replay(rec.toLog(g.frame))), summary(g));
});

test('validateLog rejects malformed logs', () => {
  const ok = { v: 1, ruleset: 'classic', seed: 1, startLevel: 0, frames: 10, inputs: [[0, 4]], garbage: [] };
  validateLog(ok);
  assert.throws(() => validateLog({ ...ok, v: 3 }), /version/);
  assert.throws(() => validateLog({ ...ok, inputs: [[0, 128]] }), /mask/, 'version 1 has no 180 button');
  validateLog({ ...ok, v: 2, inputs: [[0, 128]] });
  assert.throws(() => validateLog({ ...ok, v: 2, handling: { das: 8 } }), /handling/, 'classic logs carry no handling');
  assert.throws(() => validateLog({ ...ok, inputs: [[5, 1], [3, 1]] }), /order/);
  assert.throws(() => validateLog({ ...ok, inputs: [[0, 999]] }), /mask/);
  assert.throws(() => validateLog({ ...ok, frames: -1 }), /frames/);
  assert.throws(() => validateLog({ ...ok, garbage: [[1, 2]] }), /hole/);
  assert.throws(() => validateLog({ ...ok, garbage: [[1, 2, 10]] }), /hole/);
});
