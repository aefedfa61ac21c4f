// Drives a player through real key presses, choosing placements with the unit tests' bot from the
// client's read-only debug snapshot. The engine is never touched from outside.

import { scratchGame, plan } from '../../web/test/bot.js';
import { snapshot } from './harness.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The local player's part of a snapshot: `s.me` in duo, the snapshot itself in solo. */
export function mine(s) {
  if (s?.me) return s.me;
  if (s?.screen === 'solo') return { ...s, frozen: s.paused ? ['pause'] : [] };
  return null;
}

/** Presses `key` and waits until `changed(me)` or a short timeout; returns the new snapshot. */
async function pressUntil(page, key, changed) {
  await page.keyboard.press(key);
  for (let i = 0; i < 40; i++) {
    const s = await snapshot(page);
    const me = mine(s);
    if (!me?.active || changed(me)) return s;
    await sleep(15);
  }
  return snapshot(page);
}

/**
 * Places pieces until `done(snapshot)` holds or `maxPieces` pieces were placed; returns the last
 * snapshot. `options.preferMulti` makes the bot build for doubles or better.
 */
export async function playUntil(page, done, maxPieces = 60, options = {}) {
  let s = await snapshot(page);
  for (let n = 0; n < maxPieces && !done(s); n++) {
    while (!mine(s)?.active || mine(s).frozen.length) {
      if (mine(s)?.over || done(s)) return s;
      await sleep(20);
      s = await snapshot(page);
    }
    let me = mine(s);
    const piece = me.pieces;
    const target = plan(scratchGame(me.ruleset, me.board, me.active), options);
    const same = () => me.active && me.pieces === piece;
    for (let tries = 0; tries < 4 && same() && me.active.rot !== target.rot; tries++) {
      const rot = me.active.rot;
      // Modern has all three turns (default keys: Up clockwise, Z counter-clockwise, A 180), so
      // every orientation is one press away: fewer presses, fewer chances for gravity to get in.
      const turn = (target.rot - rot + 4) % 4;
      const key = me.ruleset !== 'modern' || turn === 1 ? 'ArrowUp' : turn === 3 ? 'z' : 'a';
      s = await pressUntil(page, key, (m) => m.active.rot !== rot);
      me = mine(s);
    }
    for (let tries = 0; tries < 12 && same() && me.active.x !== target.x; tries++) {
      const x = me.active.x;
      s = await pressUntil(page, me.active.x < target.x ? 'ArrowRight' : 'ArrowLeft', (m) => m.active.x !== x);
      me = mine(s);
    }
    if (me.ruleset === 'modern') {
      s = await pressUntil(page, 'Space', (m) => m.pieces !== piece);
    } else {
      // Classic has no hard drop: hold soft drop until the next piece appears.
      await page.keyboard.down('ArrowDown');
      for (let i = 0; i < 200 && same() && !me.over; i++) {
        await sleep(20);
        s = await snapshot(page);
        me = mine(s);
      }
      await page.keyboard.up('ArrowDown');
    }
  }
  return s;
}
