// Sprint and blitz (issue 16): a sprint played with real key presses ends at 40 lines, its time is
// submitted and shows on the sprint board (not the marathon one); R restarts at once; the timer
// and pieces per second are live; blitz counts down from 2:00.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, screenshotPath, snapshot, waitForSnapshot } from './harness.js';
import { playUntil } from './browser-bot.js';
import { replay, summary } from '../../web/js/engine/replay.js';

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

test('sprint: ends at 40 lines, the time goes to the sprint board, and the log replays', async () => {
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/solo`);
  await page.getByRole('button', { name: 'Sprint 40L mode' }).click();
  assert.equal(await page.getByRole('group', { name: 'Start level' }).isHidden(), true, 'no level choice in sprint');
  await page.getByRole('button', { name: 'Start game' }).click();
  const s0 = await waitForSnapshot(page, (s) => s.screen === 'solo' && s.active, 'the sprint to run');
  assert.equal(s0.mode, 'sprint');
  // R restarts at once: a new game (frame count starts again).
  await page.waitForTimeout(300);
  const before = await snapshot(page);
  await page.keyboard.press('r');
  await waitForSnapshot(page, (s) => s.screen === 'solo' && s.active && s.frame < before.frame, 'the restart');

  // The test bot is no champion: if it tops out before 40 lines, R and go again (at most 3 runs).
  let done = null;
  for (let run = 0; run < 3; run++) {
    await playUntil(page, (s) => s.over, 200);
    done = await waitForSnapshot(page, (s) => s.over, 'the end');
    if (done.endReason === 'goal') break;
    await page.locator('body').click({ position: { x: 5, y: 5 } }); // out of the name field
    await page.keyboard.press('r');
    await waitForSnapshot(page, (s) => s.screen === 'solo' && s.active && !s.over, 'another run');
  }
  assert.equal(done.endReason, 'goal', `the sprint reached its goal (lines ${done.lines})`);
  assert.ok(done.lines >= 40 && done.lines <= 43, `${done.lines} lines`);
  assert.equal(await page.locator('[data-end]').getAttribute('data-end'), 'goal');
  assert.equal(await page.locator('[data-pb]').count(), 1, 'the first finished sprint is a personal best');
  const shownTime = await page.locator('[data-final="time"]').textContent();
  assert.match(shownTime, /^\d+:\d\d\.\d\d$/);
  const pps = Number(await page.locator('[data-stat="pps"]').textContent());
  assert.ok(pps > 0, `pps ${pps}`);
  await page.screenshot({ path: screenshotPath('sprint-complete') });

  const submitted = page.waitForRequest((r) => r.url().endsWith('/api/scores') && r.method() === 'POST');
  await page.getByRole('textbox', { name: 'Your name' }).fill('sprinter');
  await page.getByRole('button', { name: 'Submit score' }).click();
  await page.getByText('Saved for sprinter.').waitFor({ timeout: 10000 });
  const body = JSON.parse((await submitted).postData());
  const log = JSON.parse(body.inputLog);
  assert.equal(log.mode, 'sprint');
  assert.deepEqual(summary(replay(log)), { score: done.score, lines: done.lines, level: done.level, frames: done.frame, over: true });

  await page.getByRole('link', { name: 'Score board' }).first().click();
  const row = page.locator('table[data-board="sprint"] tr', { hasText: 'sprinter' });
  await row.waitFor();
  assert.equal(await row.locator('td[data-time]').textContent(), shownTime, 'the board shows the time of the run');
  assert.equal(Number(await row.locator('td[data-time]').getAttribute('data-time')), body.durationMs);
  assert.equal(await page.locator('table[data-board="solo"] tr', { hasText: 'sprinter' }).count(), 0, 'not on the marathon board');
  await page.screenshot({ path: screenshotPath('sprint-board') });
  assert.deepEqual(errors, []);
});

test('blitz: the clock counts down from 2:00', async () => {
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/solo`);
  await page.getByRole('button', { name: 'Blitz 2:00 mode' }).click();
  await page.getByRole('button', { name: 'Start game' }).click();
  await waitForSnapshot(page, (s) => s.screen === 'solo' && s.active && s.frame > 60, 'a second of blitz');
  const label = await page.locator('[data-stat="time"]').evaluate((el) => el.previousElementSibling.textContent);
  assert.equal(label, 'Time left');
  const left = await page.locator('[data-stat="time"]').textContent();
  assert.match(left, /^1:5\d\.\d\d$/, `time left ${left}`);
  assert.deepEqual(errors, []);
});

test('finesse: a piece moved with extra presses counts faults; a clean drop counts none', async () => {
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/solo`);
  await page.getByRole('button', { name: 'Sprint 40L mode' }).click();
  await page.getByRole('button', { name: 'Start game' }).click();
  const s0 = await waitForSnapshot(page, (s) => s.screen === 'solo' && s.active, 'the sprint');
  await page.keyboard.press('Space'); // zero presses needed, zero used
  await waitForSnapshot(page, (s) => s.pieces > s0.pieces, 'the first lock');
  assert.equal((await snapshot(page)).faults, 0);
  const s1 = await snapshot(page);
  // Left then right: back where it started, 2 presses where 0 were needed.
  await page.keyboard.press('ArrowLeft');
  await waitForSnapshot(page, (s) => s.active.x === s1.active.x - 1, 'moved left');
  await page.keyboard.press('ArrowRight');
  await waitForSnapshot(page, (s) => s.active.x === s1.active.x, 'moved back');
  await page.keyboard.press('Space');
  const s2 = await waitForSnapshot(page, (s) => s.pieces > s1.pieces, 'the second lock');
  assert.equal(s2.faults, 2);
  assert.equal(await page.locator('[data-stat="finesse"]').textContent(), '2');
  assert.deepEqual(errors, []);
});
