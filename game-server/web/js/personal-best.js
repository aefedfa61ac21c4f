// Personal bests kept in this browser, per rule set and solo mode (offline games count too; the
// server's boards keep the ranked ones). Sprint keeps the fastest finished run, the others the
// highest score.

const key = (ruleset, mode) => `tetris.best.${ruleset}.${mode}`;

/** Whether `run` ({score, timeMs, finished}) beats `best` (same shape, or null) in `mode`. */
export function beats(mode, run, best) {
  if (mode === 'sprint') return run.finished && (!best || run.timeMs < best.timeMs);
  return !best || run.score > best.score;
}

/** The stored best for `ruleset` and `mode`, or null. */
export function loadBest(ruleset, mode, storage = globalThis.localStorage) {
  try {
    const v = JSON.parse(storage?.getItem(key(ruleset, mode)) || 'null');
    return v && Number.isFinite(v.score) && Number.isFinite(v.timeMs) ? v : null;
  } catch {
    return null;
  }
}

/** Stores `run` if it beats the best; returns true when it did. */
export function recordBest(ruleset, mode, run, storage = globalThis.localStorage) {
  if (!beats(mode, run, loadBest(ruleset, mode, storage))) return false;
  try {
    storage?.setItem(key(ruleset, mode), JSON.stringify({ score: run.score, timeMs: run.timeMs, finished: run.finished }));
  } catch {
    return false;
  }
  return true;
}
