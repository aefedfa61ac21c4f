import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beats, loadBest, recordBest } from '../js/personal-best.js';

function memory() {
  const m = new Map();
  return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => m.set(k, String(v)) };
}

test('sprint bests are the fastest finished runs; other modes keep the highest score', () => {
  assert.equal(beats('sprint', { score: 0, timeMs: 90000, finished: false }, null), false, 'an unfinished sprint is no best');
  assert.equal(beats('sprint', { score: 0, timeMs: 50000, finished: true }, { score: 9, timeMs: 60000 }), true);
  assert.equal(beats('sprint', { score: 0, timeMs: 70000, finished: true }, { score: 9, timeMs: 60000 }), false);
  assert.equal(beats('blitz', { score: 10, timeMs: 1 }, { score: 9, timeMs: 1 }), true);
  const store = memory();
  assert.equal(recordBest('modern', 'marathon', { score: 500, timeMs: 1000, finished: false }, store), true);
  assert.equal(recordBest('modern', 'marathon', { score: 400, timeMs: 1000, finished: false }, store), false);
  assert.equal(loadBest('modern', 'marathon', store).score, 500);
  assert.equal(loadBest('classic', 'marathon', store), null, 'each rule set keeps its own');
});
