// Accessibility details (issue 16): the pause dialog holds keyboard focus, the leave dialog too,
// and the name field shows how many characters are left instead of cutting silently.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, waitForSnapshot } from './harness.js';

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

test('the solo pause dialog traps focus: Tab and Shift+Tab stay on its buttons', async () => {
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/solo`);
  await page.getByRole('button', { name: 'Start game' }).click();
  await waitForSnapshot(page, (s) => s.screen === 'solo' && s.active, 'the game');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Resume' }).waitFor();
  const focused = () => page.evaluate(() => ({
    label: document.activeElement?.getAttribute('aria-label'),
    inside: Boolean(document.activeElement?.closest('.overlay')),
  }));
  assert.deepEqual(await focused(), { label: 'Resume', inside: true }, 'focus starts on Resume');
  const seen = [];
  for (let i = 0; i < 5; i++) {
    await page.keyboard.press('Tab');
    const f = await focused();
    assert.ok(f.inside, `Tab ${i + 1} left the dialog (focus on ${f.label})`);
    seen.push(f.label);
  }
  assert.deepEqual([...new Set(seen)].sort(), ['Quit to menu', 'Resume']);
  await page.keyboard.press('Shift+Tab');
  assert.ok((await focused()).inside, 'Shift+Tab stays inside too');
  // Enter on Resume resumes: the game runs again.
  await page.getByRole('button', { name: 'Resume' }).focus();
  await page.keyboard.press('Enter');
  await waitForSnapshot(page, (s) => !s.paused, 'resumed by keyboard');
  assert.deepEqual(errors, []);
});

test('the name field counts characters and says when the limit is reached', async () => {
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/duo`);
  const name = page.getByRole('textbox', { name: 'Your name' });
  const counter = page.locator('#duo-name-count');
  await name.fill('');
  assert.equal(await counter.textContent(), '0/16');
  await name.pressSequentially('ada');
  assert.equal(await counter.textContent(), '3/16');
  await name.fill('');
  await name.pressSequentially('abcdefghijklmnopqrst'); // 20 typed, the field holds 16
  assert.equal(await name.inputValue(), 'abcdefghijklmnop');
  assert.equal(await counter.textContent(), '16/16 (limit)');
  assert.equal(await name.getAttribute('aria-describedby'), 'duo-name-count', 'screen readers hear the count');
  assert.deepEqual(errors, []);
});
