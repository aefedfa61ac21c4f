// Solo with the modern ruleset: a bot plays a real game through key presses (hold, hard drop,
// line clears with combos and back-to-back), then tops out; the server's plausibility rules accept
// the submitted score, and the submitted input log replays to the same result.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, screenshotPath, snapshot, waitForSnapshot } from './harness.js';
import { playUntil } from './browser-bot.js';
import { replay, summary } from '../../web/js/engine/replay.js';

let server;
let browser;
const errors = [];

before(async () => {
  server = await startServer({ TETRIS_RULESET: 'modern', TETRIS_START_LEVEL_MIN: '2', TETRIS_START_LEVEL_MAX: '6' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('solo modern: a real game with line clears is accepted by the server and replays exactly', async () => {
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/solo`);
  const levels = await page.locator('[data-level]').allTextContents();
  assert.deepEqual(levels, ['2', '3', '4', '5', '6'], 'the level range comes from the server config');
  await page.getByRole('button', { name: 'Start at level 3' }).click();
  await page.getByRole('button', { name: 'Start game' }).click();
  await waitForSnapshot(page, (s) => s.screen === 'solo' && s.active, 'the game to run');

  // Hold once (modern only), then let the bot clear lines.
  const first = await snapshot(page);
  await page.keyboard.press('c');
  await waitForSnapshot(page, (s) => s.hold === first.active.type, 'the piece in hold');
  const played = await playUntil(page, (s) => s.lines >= 10, 100);
  assert.ok(played.lines >= 10, `cleared ${played.lines} lines`);
  assert.ok(played.level >= 4, `levelled up to ${played.level}`);
  await page.screenshot({ path: screenshotPath('13-solo-modern') });

  // Top out by hard-dropping in place.
  for (let i = 0; i < 80 && !(await snapshot(page)).over; i++) {
    await page.keyboard.press('Space');
    await page.waitForTimeout(30);
  }
  const over = await waitForSnapshot(page, (s) => s.over, 'game over', 30000);

  const submitted = page.waitForRequest((r) => r.url().endsWith('/api/scores') && r.method() === 'POST');
  await page.getByRole('textbox', { name: 'Your name' }).fill('modern bot');
  await page.getByRole('button', { name: 'Submit score' }).click();
  await page.getByText('Saved for modern bot.').waitFor({ timeout: 10000 });
  const log = JSON.parse(JSON.parse((await submitted).postData()).inputLog);
  assert.deepEqual(summary(replay(log)), { score: over.score, lines: over.lines, level: over.level, frames: over.frame, over: true });
  assert.deepEqual(errors, []);
});
