// Keeps the running duo game's input log in sessionStorage, so that a page reload within the
// reconnect grace period can rebuild the board by replaying it (the engine is deterministic).

const LOG_KEY = 'tetris.duo.log';

/** Saves the log of `gameId` played by `name`. */
export function saveLog(gameId, name, log) {
  try {
    sessionStorage.setItem(LOG_KEY, JSON.stringify({ gameId, name, log }));
  } catch {
    // Without storage a reload cannot restore the board; the match itself still works.
  }
}

/** The saved {gameId, name, log} for `gameId`, or null. */
export function savedLog(gameId) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(LOG_KEY) || 'null');
    return saved && saved.gameId === gameId && saved.log ? saved : null;
  } catch {
    return null;
  }
}

export function clearSavedLog() {
  try {
    sessionStorage.removeItem(LOG_KEY);
  } catch {
    // Nothing to clear.
  }
}
