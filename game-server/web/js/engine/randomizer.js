// Piece generators. Both draw only from a seeded Rng, so a seed fixes the whole piece sequence.

import { PIECES } from './pieces.js';

/** Modern: the 7-bag. Each bag is the seven pieces shuffled (Fisher-Yates, from the end). */
export class BagRandomizer {
  constructor(rng) {
    this.rng = rng;
    this.bag = [];
  }

  next() {
    if (this.bag.length === 0) {
      const bag = PIECES.slice();
      for (let i = bag.length - 1; i > 0; i--) {
        const j = this.rng.int(i + 1);
        [bag[i], bag[j]] = [bag[j], bag[i]];
      }
      // Drawn from the end, so reverse once to hand pieces out in shuffled order.
      this.bag = bag.reverse();
    }
    return this.bag.pop();
  }
}

/**
 * Classic: the NES rule. Roll one of 8 values; if it is the 8th ("reroll") or repeats the previous
 * piece, roll again among the 7 pieces and take that result whatever it is.
 */
export class NesRandomizer {
  constructor(rng) {
    this.rng = rng;
    this.prev = -1;
  }

  next() {
    let roll = this.rng.int(8);
    if (roll === 7 || roll === this.prev) roll = this.rng.int(7);
    this.prev = roll;
    return PIECES[roll];
  }
}
