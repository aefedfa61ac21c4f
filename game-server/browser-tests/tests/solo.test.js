// Solo, through the real UI: start at the top level, play a real game to game over with the
// keyboard (soft drop held), submit a name, and see it on the score board (pushed live).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, screenshotPath, snapshot, waitForSnapshot } from './harness.js';
import { replay, summary } from '../../web/js/engine/replay.js';

let server;
let browser;
const errors = [];

before(async () => {
  server = await startServer({ TETRIS_RULESET: 'classic', TETRIS_TITLE: 'Tetris <Test>' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('solo classic: play to game over, submit a name, see it live on the score board', async () => {
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/`);
  await page.getByRole('heading', { name: 'Tetris <Test>' }).waitFor();
  assert.equal(await page.title(), 'Tetris <Test>', 'the title is text, not markup');
  await page.screenshot({ path: screenshotPath('01-home') });

  // A second page watches the score board before the score exists.
  const board = await newPage(browser, errors);
  await board.goto(`${server.base}/scores`);
  await board.getByText('Live: updates appear').waitFor();

  await page.getByRole('link', { name: 'Play solo' }).click();
  const levels = page.locator('[data-level]');
  assert.equal(await levels.count(), 10, 'levels 0..9 from the server config');
  await page.getByRole('button', { name: 'Start at level 9' }).click();
  await page.getByRole('button', { name: 'Start game' }).click();
  await waitForSnapshot(page, (s) => s.screen === 'solo' && s.frame > 0, 'the game to run');

  // Move the first piece to the left wall, then hold soft drop for the rest of the game.
  await page.keyboard.down('ArrowLeft');
  await page.waitForTimeout(500);
  await page.keyboard.up('ArrowLeft');
  const early = await snapshot(page);
  assert.equal(early.level, 9);
  // Pause freezes the game; resume continues it.
  await page.keyboard.press('p');
  await page.getByRole('heading', { name: 'Paused' }).waitFor();
  const paused = await snapshot(page);
  await page.waitForTimeout(300);
  assert.equal((await snapshot(page)).frame, paused.frame, 'no frames while paused');
  await page.getByRole('button', { name: 'Resume' }).click();
  await waitForSnapshot(page, (s) => s.frame > paused.frame, 'the game to resume');

  await page.keyboard.down('ArrowDown');
  await waitForSnapshot(page, (s) => s.pieces >= 6, 'a few pieces to fall', 60000);
  await page.screenshot({ path: screenshotPath('02-solo-playing') });
  const over = await waitForSnapshot(page, (s) => s.over, 'game over', 120000);
  await page.keyboard.up('ArrowDown');
  assert.ok(over.pieces >= 8, `a real game: ${over.pieces} pieces`);
  assert.ok(over.score > 0, 'soft drop scored points');
  assert.equal(await page.locator('[data-stat="score"]').first().textContent(), String(over.score));
  await page.getByRole('heading', { name: 'Game over' }).waitFor();

  const name = '<b>Ada</b>';
  await page.getByRole('textbox', { name: 'Your name' }).fill(name);
  await page.screenshot({ path: screenshotPath('03-solo-game-over') });
  const submitted = page.waitForRequest((r) => r.url().endsWith('/api/scores') && r.method() === 'POST');
  await page.getByRole('button', { name: 'Submit score' }).click();
  await page.getByText(`Saved for ${name}.`).waitFor();

  // The submission carries the input log, and replaying it outside the browser gives the same game.
  const body = JSON.parse((await submitted).postData());
  assert.equal(body.name, name);
  assert.deepEqual([body.score, body.lines, body.level, body.pieces], [over.score, over.lines, over.level, over.pieces]);
  const log = JSON.parse(body.inputLog);
  assert.equal(log.ruleset, 'classic');
  assert.equal(log.startLevel, 9);
  const replayed = replay(log);
  assert.deepEqual(summary(replayed), { score: over.score, lines: over.lines, level: over.level, frames: over.frame, over: true });
  assert.equal(replayed.pieces, over.pieces);
  assert.equal(body.durationMs, Math.round((over.frame * 1000) / 60));

  // Pushed to the open score board without a reload, as text.
  const row = board.locator('table[data-board="solo"] tbody tr', { hasText: name });
  await row.waitFor({ timeout: 10000 });
  assert.equal(await row.locator('td.name').textContent(), name);
  assert.equal(await row.locator('td').nth(2).textContent(), String(over.score));
  assert.equal(await board.locator('table b').count(), 0, 'no markup from a name');
  await board.screenshot({ path: screenshotPath('04-scoreboard-live') });

  // And the score board page itself, reached from the game-over overlay.
  await page.getByRole('link', { name: 'Score board' }).last().click();
  await page.locator('table[data-board="solo"] td.name', { hasText: name }).waitFor();

  // Back in the game-over screen, "Try again" starts a fresh game at the same level.
  await page.goBack();
  await page.getByRole('button', { name: 'Start game' }).waitFor();
  await page.getByRole('button', { name: 'Start at level 9' }).click();
  await page.getByRole('button', { name: 'Start game' }).click();
  await waitForSnapshot(page, (s) => s.screen === 'solo' && s.frame > 0, 'the second game');
  await page.keyboard.down('ArrowDown');
  await waitForSnapshot(page, (s) => s.over, 'second game over', 120000);
  await page.keyboard.up('ArrowDown');
  await page.getByRole('button', { name: 'Try again at the same level' }).click();
  const fresh = await waitForSnapshot(page, (s) => s.screen === 'solo' && !s.over && s.frame > 0, 'a fresh game');
  assert.equal(fresh.level, 9);
  assert.equal(fresh.lines, 0);
  assert.deepEqual(errors, []);
});

test('solo at phone width: board and touch controls fit the screen, touch buttons move the piece', async () => {
  const page = await newPage(browser, errors, { width: 390, height: 844 });
  await page.goto(`${server.base}/solo`);
  await page.getByRole('button', { name: 'Start at level 0' }).click();
  await page.getByRole('button', { name: 'Start game' }).click();
  const s0 = await waitForSnapshot(page, (s) => s.screen === 'solo' && s.frame > 0 && s.active, 'the game to run');
  const board = await page.locator('canvas.board').boundingBox();
  const pad = await page.getByRole('group', { name: 'Touch controls' }).boundingBox();
  assert.ok(board.x >= 0 && board.x + board.width <= 390, 'board within the width');
  assert.ok(pad.y + pad.height <= 844, `touch pad visible without scrolling (bottom ${pad.y + pad.height})`);
  assert.ok(board.y + board.height <= pad.y, 'board above the pad');

  await page.getByRole('button', { name: 'Move left' }).click();
  await waitForSnapshot(page, (s) => s.active && s.active.x === s0.active.x - 1, 'touch move left');
  // The O piece has one orientation; any other piece turns.
  const s1 = await waitForSnapshot(page, (s) => s.active && s.active.type !== 'O', 'a piece that rotates', 60000);
  await page.getByRole('button', { name: 'Rotate clockwise' }).click();
  await waitForSnapshot(page, (s) => s.active && s.pieces === s1.pieces && s.active.rot !== s1.active.rot, 'touch rotate');
  await page.screenshot({ path: screenshotPath('11-solo-phone') });
  await page.getByRole('button', { name: 'Pause' }).first().click();
  await page.getByRole('heading', { name: 'Paused' }).waitFor();
  assert.deepEqual(errors, []);
});
