// HTTP API client (PROTOCOL.md section 2). Errors become ApiError with the server's stable code.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function request(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? { Accept: 'application/json' } : { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server.');
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = data && data.error;
    throw new ApiError(res.status, err?.code || 'http_error', err?.message || `The server answered ${res.status}.`);
  }
  return data;
}

/** Defaults used until /api/config answers (and if it never does). */
export const DEFAULT_CONFIG = {
  title: 'Tetris', ruleset: 'classic', solo: true, duo: true, soloModes: ['marathon', 'sprint', 'blitz'], startLevelMin: 0, startLevelMax: 9,
  scoreboardSize: 10, protocol: 1,
  limits: { nameMaxChars: 16, maxMessageBytes: 4096, messagesPerSecond: 60, messageBurst: 120, maxInputLogChars: 200000 },
};

export const api = {
  config: () => request('GET', '/api/config'),
  /** `mode`: marathon (the server's `solo`), sprint or blitz. */
  newSoloGame: (startLevel, mode = 'marathon') => request('POST', '/api/games', { mode: mode === 'marathon' ? 'solo' : mode, startLevel }),
  submitScore: (body) => request('POST', '/api/scores', body),
  scores: () => request('GET', '/api/scores'),
};
