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

test('solo modern: a hard drop pressed 60 ms after a line clear lands (no input lost to a clear delay)', async () => {
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/solo`);
  await page.getByRole('button', { name: 'Start at level 2' }).click();
  await page.getByRole('button', { name: 'Start game' }).click();
  await waitForSnapshot(page, (s) => s.screen === 'solo' && s.active, 'the game to run');

  for (let attempt = 0; attempt < 3; attempt++) {
    const before = await snapshot(page);
    // Watch in the page, every display frame, for the frame the line count goes up.
    await page.evaluate((lines) => {
      window.__clearWatch = null;
      const look = () => {
        const s = window.__tetris.snapshot();
        if (s.lines > lines) {
          window.__clearWatch = { at: performance.now(), pieces: s.pieces, active: s.active };
          return;
        }
        requestAnimationFrame(look);
      };
      requestAnimationFrame(look);
    }, before.lines);
    await playUntil(page, (s) => s.lines > before.lines, 30);
    const watch = await page.evaluate(() => window.__clearWatch && { ...window.__clearWatch, since: performance.now() - window.__clearWatch.at });
    assert.ok(watch, 'the clear was seen');
    if (watch.since > 50) continue; // the bot took too long to notice; try the next clear
    assert.ok(watch.active, 'the next piece is active in the very frame of the clear');
    await page.waitForTimeout(60 - watch.since);
    await page.evaluate(() => {
      window.addEventListener('keydown', (e) => { if (e.code === 'Space') window.__pressedAfter = performance.now() - window.__clearWatch.at; }, { once: true, capture: true });
    });
    await page.keyboard.press('Space');
    const after = await waitForSnapshot(page, (s) => s.pieces > watch.pieces, 'the hard-dropped piece to lock', 500);
    const delay = await page.evaluate(() => window.__pressedAfter);
    assert.ok(delay >= 60 && delay < 150, `pressed ${delay.toFixed(0)} ms after the clear`);
    assert.equal(after.pieces, watch.pieces + 1, 'exactly the dropped piece locked and the next spawned');
    assert.deepEqual(errors, []);
    return;
  }
  assert.fail('the bot never reacted to a clear within 50 ms');
});
