import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng, seedToState } from '../js/engine/rng.js';

test('seedToState hashes strings with FNV-1a and keeps integers', () => {
  assert.equal(seedToState(''), 0x811c9dc5);
  assert.equal(seedToState('a'), 0xe40c292c);
  assert.equal(seedToState(42), 42);
  assert.equal(seedToState(-1), 0xffffffff);
});

test('Rng is a pure function of its state', () => {
  const a = new Rng(7);
  const b = new Rng(7);
  const xs = Array.from({ length: 100 }, () => a.nextU32());
  const ys = Array.from({ length: 100 }, () => b.nextU32());
  assert.deepEqual(xs, ys);
  assert.ok(xs.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, (() => { const c = new Rng(8); return () => c.nextU32(); })()));
});

test('Rng first outputs are frozen (a port must produce the same numbers)', () => {
  const r = new Rng(0);
  assert.deepEqual([r.nextU32(), r.nextU32(), r.nextU32()], FIRST_THREE_FROM_ZERO);
});

test('Rng.int stays in range and covers it', () => {
  const r = new Rng(seedToState('range'));
  const seen = new Set();
  for (let i = 0; i < 1000; i++) {
    const v = r.int(7);
    assert.ok(v >= 0 && v < 7);
    seen.add(v);
  }
  assert.equal(seen.size, 7);
});

// Computed once (and cross-checked with an independent Python transcription) and kept as an anchor.
const FIRST_THREE_FROM_ZERO = [2462723854, 1020716019, 454327756]; // also checked with a Python transcription
