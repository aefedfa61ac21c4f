import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../js/engine/rng.js';
import { BagRandomizer, NesRandomizer } from '../js/engine/randomizer.js';
import { PIECES } from '../js/engine/pieces.js';

test('7-bag: every aligned group of 7 pieces is a permutation of the seven', () => {
  for (const seed of [1, 2, 3, 99, 123456]) {
    const bag = new BagRandomizer(new Rng(seed));
    for (let g = 0; g < 200; g++) {
      const group = Array.from({ length: 7 }, () => bag.next());
      assert.deepEqual(group.slice().sort(), PIECES.slice().sort(), `seed ${seed} bag ${g}`);
    }
  }
});

test('7-bag: never more than 12 pieces between two of the same kind', () => {
  const bag = new BagRandomizer(new Rng(5));
  const last = {};
  for (let i = 0; i < 7000; i++) {
    const p = bag.next();
    if (p in last) assert.ok(i - last[p] - 1 <= 12, `gap ${i - last[p] - 1} for ${p}`);
    last[p] = i;
  }
});

test('7-bag: bags are not all in the same order', () => {
  const bag = new BagRandomizer(new Rng(11));
  const orders = new Set();
  for (let g = 0; g < 50; g++) orders.add(Array.from({ length: 7 }, () => bag.next()).join(''));
  assert.ok(orders.size > 40, `only ${orders.size} distinct bag orders`);
});

test('NES randomizer: repeats are rare (about 1 in 28) and every piece appears evenly', () => {
  const r = new NesRandomizer(new Rng(77));
  const counts = Object.fromEntries(PIECES.map((p) => [p, 0]));
  let prev = null;
  let repeats = 0;
  const n = 28000;
  for (let i = 0; i < n; i++) {
    const p = r.next();
    counts[p]++;
    if (p === prev) repeats++;
    prev = p;
  }
  assert.ok(repeats > n / 28 * 0.7 && repeats < n / 28 * 1.3, `repeats ${repeats}`);
  for (const p of PIECES) assert.ok(Math.abs(counts[p] - n / 7) < n / 7 * 0.1, `${p}: ${counts[p]}`);
});
