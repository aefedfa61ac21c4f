// Settings (issue 16): DAS, ARR and key bindings changed on the settings screen survive a reload and
// change the game: the solo game records the chosen handling in its input log, and a rebound key
// moves the piece while the old one no longer does.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, screenshotPath, snapshot, waitForSnapshot } from './harness.js';

let server;
let browser;
const errors = [];

before(async () => {
  server = await startServer({ TETRIS_RULESET: 'modern' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('settings: DAS, ARR and a key binding survive a reload and drive the next game', async () => {
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/settings`);
  await page.getByLabel('DAS (delay before auto-shift), frames').fill('6');
  await page.getByLabel('DAS (delay before auto-shift), frames').press('Tab');
  await page.getByLabel('ARR (auto-repeat rate), frames').fill('0');
  await page.getByLabel('ARR (auto-repeat rate), frames').press('Tab');
  // Move left: first key becomes J (instead of the left arrow).
  await page.locator('.key-btn[data-action="left"][data-slot="0"]').click();
  await page.keyboard.press('j');
  await page.getByText('J saved.').waitFor();
  // Ctrl cannot be bound.
  await page.locator('.key-btn[data-action="cw"][data-slot="1"]').click();
  await page.keyboard.press('Control');
  await page.getByText('belongs to the browser').waitFor();

  await page.reload();
  const s = await waitForSnapshot(page, (x) => x.screen === 'settings', 'the settings screen');
  assert.deepEqual({ das: s.settings.handling.das, arr: s.settings.handling.arr }, { das: 6, arr: 0 });
  assert.deepEqual(s.settings.keys.left, ['KeyJ']);
  assert.ok(!s.settings.keys.cw.includes('ControlLeft'));
  assert.equal(await page.getByLabel('DAS (delay before auto-shift), frames').inputValue(), '6');
  await page.screenshot({ path: screenshotPath('settings') });

  // The next game plays with them.
  await page.getByRole('link', { name: 'Solo' }).click();
  await page.getByRole('button', { name: 'Start game' }).click();
  const g0 = await waitForSnapshot(page, (x) => x.screen === 'solo' && x.active, 'the game to run');
  assert.deepEqual(g0.handling, { das: 6, arr: 0, sdr: 600 });
  await page.keyboard.press('ArrowLeft');
  await page.waitForTimeout(150);
  assert.equal((await snapshot(page)).active.x, g0.active.x, 'the old key does nothing');
  await page.keyboard.down('j');
  await page.waitForTimeout(400); // past DAS (100 ms), ARR 0: straight to the wall
  await page.keyboard.up('j');
  const moved = await snapshot(page);
  const minX = Math.min(...moved.activeCells.map(([x]) => x));
  assert.equal(minX, 0, `the piece slid to the left wall (cells ${JSON.stringify(moved.activeCells)})`);
  assert.deepEqual(errors, []);
});
