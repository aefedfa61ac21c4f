// The field fits the screen (issue 16): at five viewports (portrait and landscape phones with touch,
// two laptops, a large screen), in solo and in duo, the whole board with its buffer row, every
// control the player needs and (duo) the opponent's board are inside the viewport, with no scrolling.
// Screenshots of each go to artifacts/browser/layout-*.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, screenshotPath, waitForSnapshot } from './harness.js';

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

const PHONE = { isMobile: true, hasTouch: true };
export const VIEWPORTS = [
  { name: 'phone-portrait', width: 390, height: 844, options: PHONE, touch: true },
  { name: 'phone-landscape', width: 844, height: 390, options: PHONE, touch: true },
  { name: 'laptop-1366x650', width: 1366, height: 650, options: {}, touch: false },
  { name: 'laptop-1280x800', width: 1280, height: 800, options: {}, touch: false },
  { name: 'desktop-1920x1080', width: 1920, height: 1080, options: {}, touch: false },
];

/** Every element matching `selector` is visible and wholly inside the viewport; returns their count. */
async function assertInside(page, selector, vp, what) {
  const boxes = await page.locator(selector).evaluateAll((els) => els.map((el) => {
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    return { left: r.left, top: r.top, right: r.right, bottom: r.bottom, shown: r.width > 0 && r.height > 0 && style.visibility !== 'hidden', label: el.getAttribute('aria-label') || el.className };
  }));
  assert.ok(boxes.length > 0, `${vp.name}: no ${what} (${selector})`);
  for (const b of boxes) {
    assert.ok(b.shown, `${vp.name}: ${what} "${b.label}" is not shown`);
    assert.ok(b.left >= 0 && b.top >= 0 && b.right <= vp.width + 0.5 && b.bottom <= vp.height + 0.5,
      `${vp.name}: ${what} "${b.label}" at ${JSON.stringify(b)} is outside ${vp.width}x${vp.height}`);
  }
  return boxes.length;
}

async function assertFits(page, vp, duo) {
  await assertInside(page, '.game:not(.opponent) canvas.board', vp, 'own board');
  const cell = await page.locator('.game:not(.opponent) canvas.board').evaluate((c) => c.getBoundingClientRect().height / 21);
  assert.ok(cell >= (vp.height >= 600 ? 20 : 14), `${vp.name}: cells of ${cell.toFixed(1)} px are too small`);
  if (vp.touch) {
    const n = await assertInside(page, '.touch button', vp, 'touch button');
    assert.ok(n >= 8, `${vp.name}: only ${n} touch buttons`);
    // Big enough for a thumb (WCAG 2.5.8 asks 24 px at least; 40 px is what a game needs).
    const sizes = await page.locator('.touch button').evaluateAll((els) => els.map((el) => [el.getAttribute('aria-label'), el.getBoundingClientRect().width, el.getBoundingClientRect().height]));
    for (const [label, w, hgt] of sizes) assert.ok(w >= 40 && hgt >= 40, `${vp.name}: touch button ${label} is ${w.toFixed(0)}x${hgt.toFixed(0)} px`);
  } else {
    await assertInside(page, '.controls .pause-btn', vp, 'pause button');
    await assertInside(page, '.controls .help', vp, 'key help');
  }
  if (duo) {
    await assertInside(page, '.opponent canvas.board', vp, "opponent's board");
    await assertInside(page, '.controls button[aria-label="Leave the match"]', vp, 'leave button');
  }
  const scroll = await page.evaluate(() => ({ h: document.documentElement.scrollHeight, w: document.documentElement.scrollWidth }));
  assert.ok(scroll.h <= vp.height + 1 && scroll.w <= vp.width + 1, `${vp.name}: the page scrolls (${scroll.w}x${scroll.h})`);
}

for (const vp of VIEWPORTS) {
  test(`layout ${vp.name}: solo board, buffer row and controls fit without scrolling`, async () => {
    const page = await newPage(browser, errors, { width: vp.width, height: vp.height }, vp.options);
    await page.goto(`${server.base}/solo`);
    await page.getByRole('button', { name: 'Start game' }).click();
    await waitForSnapshot(page, (s) => s.screen === 'solo' && s.active, 'the game to run');
    await assertFits(page, vp, false);
    await page.screenshot({ path: screenshotPath(`layout-solo-${vp.name}`) });
    await page.context().close();
    assert.deepEqual(errors, []);
  });

  test(`layout ${vp.name}: duo boards (own and opponent) and controls fit without scrolling`, async () => {
    const page = await newPage(browser, errors, { width: vp.width, height: vp.height }, vp.options);
    const other = await newPage(browser, errors);
    await page.goto(`${server.base}/duo`);
    await page.getByRole('textbox', { name: 'Your name' }).fill('viewport');
    await page.getByRole('button', { name: 'Create a private room' }).click();
    const code = (await page.locator('#room-code-display').textContent()).trim();
    await other.goto(`${server.base}/duo?room=${code}`);
    await other.getByRole('textbox', { name: 'Your name' }).fill('rival');
    await other.getByRole('button', { name: 'Join the room with this code' }).click();
    await waitForSnapshot(page, (s) => s.phase === 'playing' && s.me && s.me.frozen.length === 0, 'the match to run');
    await assertFits(page, vp, true);
    await page.screenshot({ path: screenshotPath(`layout-duo-${vp.name}`) });
    await page.context().close();
    await other.context().close();
    assert.deepEqual(errors, []);
  });
}
