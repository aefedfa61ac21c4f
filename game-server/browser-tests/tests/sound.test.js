// Sound (issue 16): effects are synthesized with Web Audio when keys are pressed and pieces lock,
// and the mute button silences them, remembered across a reload.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, snapshot, waitForSnapshot } from './harness.js';

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

/** Counts oscillators and noise sources the page starts (the synthesized sounds). */
function countSources() {
  window.__sources = 0;
  for (const name of ['createOscillator', 'createBufferSource']) {
    const original = AudioContext.prototype[name];
    AudioContext.prototype[name] = function counted(...args) {
      window.__sources++;
      return original.apply(this, args);
    };
  }
}

async function startSolo(page) {
  await page.goto(`${server.base}/solo`);
  await page.getByRole('button', { name: 'Start game' }).click();
  return waitForSnapshot(page, (s) => s.screen === 'solo' && s.active, 'the game');
}

test('a hard drop sounds; muted, it does not, and mute survives a reload', async () => {
  const page = await newPage(browser, errors);
  await page.addInitScript(countSources);
  const s0 = await startSolo(page);
  await page.keyboard.press('Space');
  const s1 = await waitForSnapshot(page, (s) => s.pieces > s0.pieces, 'the drop');
  assert.ok(s1.sounds.includes('hard') && s1.sounds.includes('lock'), `sounds ${s1.sounds}`);
  await page.waitForTimeout(100);
  const loud = await page.evaluate(() => window.__sources);
  assert.ok(loud >= 2, `${loud} sound sources started`);

  await page.getByRole('button', { name: 'Mute sound' }).click();
  assert.equal(await page.getByRole('button', { name: 'Mute sound' }).getAttribute('aria-pressed'), 'true');
  const before = await page.evaluate(() => window.__sources);
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowLeft');
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.__sources), before, 'muted: nothing is synthesized');

  await page.reload();
  await startSolo(page);
  assert.equal(await page.getByRole('button', { name: 'Mute sound' }).getAttribute('aria-pressed'), 'true', 'still muted after a reload');
  await page.keyboard.press('Space');
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.__sources), 0);
  assert.ok((await snapshot(page)).sounds.includes('hard'), 'the event happened, silently');
  assert.deepEqual(errors, []);
});
