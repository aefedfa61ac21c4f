// Seeded pseudo-random numbers for the rules engine.
//
// The engine must replay bit-for-bit from a seed, in the browser and in a future Rust port, so the
// generator is tiny and uses only 32-bit integer operations: a Weyl sequence (add a fixed odd
// constant) passed through the 32-bit avalanche finalizer known from MurmurHash3. Every step is
// `wrapping_add` / `wrapping_mul` / shifts in Rust.

const WEYL = 0x9e3779b9;

/** Hashes a seed given as a string (or number) into a 32-bit unsigned state with FNV-1a over UTF-16 code units. */
export function seedToState(seed) {
  if (typeof seed === 'number' && Number.isInteger(seed)) return seed >>> 0;
  const text = String(seed);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** A deterministic 32-bit generator; `state` is exposed so tests can compare generators. */
export class Rng {
  constructor(state) {
    this.state = state >>> 0;
  }

  /** The next unsigned 32-bit value. */
  nextU32() {
    this.state = (this.state + WEYL) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** An integer in [0, n) (plain modulo: the bias for n <= 10 is below 1e-8 and is part of the spec). */
  int(n) {
    return this.nextU32() % n;
  }
}
