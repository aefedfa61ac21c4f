// Scoring of one lock: points, back-to-back, combo and the garbage it sends. Pure functions over
// plain values, so the rules read in one place and a port can mirror them line by line.

import { CLASSIC_LINE_POINTS, MODERN_POINTS, ATTACK } from './rules.js';

/**
 * The outcome of a lock that cleared `lines` rows with T-spin kind `tspin` ('none'|'mini'|'full'),
 * given the state before it. Returns {points, attack, b2bBonus, b2b, combo} (b2b/combo: the new state).
 * @param {{ruleset: 'classic'|'modern', level: number, b2b: boolean, combo: number}} before
 */
export function scoreLock(before, lines, tspin) {
  const { level, b2b, combo } = before;
  if (before.ruleset === 'classic') {
    return { points: CLASSIC_LINE_POINTS[lines] * (level + 1), attack: 0, b2bBonus: false, b2b, combo };
  }
  let base;
  if (tspin === 'full') base = MODERN_POINTS.tspin[lines];
  else if (tspin === 'mini') base = MODERN_POINTS.mini[Math.min(lines, 2)];
  else base = MODERN_POINTS.lines[lines];
  if (lines === 0) return { points: base * (level + 1), attack: 0, b2bBonus: false, b2b, combo: -1 };

  // Tetrises and line-clearing T-spins are "difficult"; two in a row earn back-to-back.
  const difficult = lines === 4 || tspin !== 'none';
  const b2bBonus = difficult && b2b;
  if (b2bBonus) base = (base * 3) / 2;
  const nextCombo = combo + 1;
  base += MODERN_POINTS.comboStep * nextCombo;

  let attack;
  if (tspin === 'full') attack = ATTACK.tspin[lines];
  else if (tspin === 'mini') attack = ATTACK.mini[Math.min(lines, 2)];
  else attack = ATTACK.lines[lines];
  if (b2bBonus) attack += ATTACK.backToBack;
  attack += ATTACK.combo[Math.min(nextCombo, ATTACK.combo.length - 1)];
  return { points: base * (level + 1), attack, b2bBonus, b2b: difficult, combo: nextCombo };
}

/**
 * Cancels waiting garbage (oldest first) with an outgoing attack. Mutates `pending` ([{lines, hole}])
 * and returns the lines left to send.
 */
export function cancelGarbage(pending, attack) {
  let left = attack;
  while (left > 0 && pending.length) {
    if (pending[0].lines <= left) left -= pending.shift().lines;
    else {
      pending[0].lines -= left;
      left = 0;
    }
  }
  return left;
}
