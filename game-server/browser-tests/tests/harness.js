// Shared setup for the browser tests: the real server binary on 127.0.0.1 with a free port and a
// temporary database, and headless Chromium (Debian's package) driven by playwright-core.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(HERE, '../../..');
export const ARTIFACTS = join(REPO, 'artifacts/browser');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The server binary: $TETRIS_SERVER_BIN, else $CARGO_TARGET_DIR (or the repo's target/) debug build. */
export function serverBinary() {
  if (process.env.TETRIS_SERVER_BIN) return process.env.TETRIS_SERVER_BIN;
  const target = process.env.CARGO_TARGET_DIR ? resolve(REPO, process.env.CARGO_TARGET_DIR) : join(REPO, 'target');
  return join(target, 'debug/tetris-game-server');
}

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/** Starts the server with extra TETRIS_* env; resolves once /readyz answers 200. */
export async function startServer(env = {}) {
  const bin = serverBinary();
  if (!existsSync(bin)) throw new Error(`server binary not found at ${bin}: build it with cargo build -p tetris-game-server`);
  const dir = mkdtempSync(join(tmpdir(), 'tetris-browser-'));
  const port = await freePort();
  const child = spawn(bin, [], {
    env: {
      PATH: process.env.PATH, TETRIS_ADDRESS: '127.0.0.1', TETRIS_PORT: String(port),
      TETRIS_DATABASE: join(dir, 'scores.db'), TETRIS_LOG_LEVEL: 'warn', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output}`);
    try {
      const res = await fetch(`${base}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready on ${base} within 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Launches headless Chromium (playwright gives every launch a fresh temporary profile). */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Containers often have a tiny /dev/shm; Chromium then crashes without this.
      '--disable-dev-shm-usage'],
  });
}

/**
 * A new page in a fresh context that fails the test on page errors and CSP violations. `options`
 * goes to the context too (e.g. `{isMobile: true, hasTouch: true}` for a phone).
 */
export async function newPage(browser, errors, viewport = { width: 1100, height: 900 }, options = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, ...options });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  // Everything must come from the game server itself: no CDN, no external fonts.
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.hostname !== '127.0.0.1' && url.protocol !== 'data:') errors.push(`external request: ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && !/WebSocket|Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return page;
}

export function screenshotPath(name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, `${name}.png`);
}

/** The client's read-only debug snapshot. */
export function snapshot(page) {
  return page.evaluate(() => window.__tetris.snapshot());
}

/** Polls `fn(snapshot)` until truthy; returns that snapshot. */
export async function waitForSnapshot(page, fn, what, timeout = 30000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await snapshot(page);
    if (fn(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last snapshot: ${JSON.stringify(summary(last))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function summary(s) {
  if (!s) return s;
  const out = { ...s };
  if (out.board) out.board = '[board]';
  if (out.me) out.me = { ...out.me, board: '[board]' };
  return out;
}
