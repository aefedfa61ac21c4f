// WCAG AA contrast (issue 16), checked over the colours Chromium actually renders: for every
// visible control and text element on the main screens, the text colour against the background
// behind it (the nearest opaque background, every stop of a gradient) must reach 4.5:1, or 3:1 for
// large text (24 px, or 18.66 px bold). Disabled controls are exempt, as WCAG says.

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

/** Runs in the page: [{what, ratio, need}] for every element that fails. */
function auditContrast() {
  const parse = (c) => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return { r, g, b, a };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (x, y) => {
    const [hi, lo] = [lum(x), lum(y)].sort((a, b) => b - a);
    return (hi + 0.05) / (lo + 0.05);
  };
  const blend = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a), b: top.b * top.a + under.b * (1 - top.a), a: 1,
  });
  /** Every colour the background behind `el` may have (several for a gradient). */
  const backgrounds = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const st = getComputedStyle(e);
      const grad = st.backgroundImage.match(/rgba?\([^)]+\)/g);
      if (grad) {
        const stops = grad.map(parse);
        return stops.map((s) => layers.reduceRight((acc, l) => blend(l, acc), s));
      }
      const bg = parse(st.backgroundColor);
      if (bg && bg.a > 0) {
        if (bg.a >= 1) return [layers.reduceRight((acc, l) => blend(l, acc), bg)];
        layers.push(bg);
      }
    }
    return [layers.reduceRight((acc, l) => blend(l, acc), { r: 255, g: 255, b: 255, a: 1 })];
  };
  const failures = [];
  const seen = new Set();
  for (const el of document.querySelectorAll('button, a, label, input, select, output, p, h1, h2, h3, th, td, kbd, .stat-label, .stat-value, .player-name, .callout')) {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || el.disabled || getComputedStyle(el).visibility === 'hidden') continue;
    if (el.tagName === 'INPUT' && ['range', 'checkbox', 'radio'].includes(el.type)) continue; // no text
    const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim()) || el.tagName === 'INPUT';
    if (!hasText) continue;
    const st = getComputedStyle(el);
    const fg = parse(st.color);
    const size = parseFloat(st.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
    const need = large ? 3 : 4.5;
    const opacity = [...(function* up(e) { for (; e; e = e.parentElement) yield Number(getComputedStyle(e).opacity); }(el))].reduce((a, b) => a * b, 1);
    for (const bg of backgrounds(el)) {
      const text = blend({ ...fg, a: fg.a * opacity }, bg);
      const got = ratio(text, bg);
      const what = `${el.tagName.toLowerCase()}.${el.className || ''} "${(el.textContent || el.value || '').trim().slice(0, 30)}"`;
      if (got < need && !seen.has(what)) {
        seen.add(what);
        failures.push({ what, ratio: Math.round(got * 100) / 100, need });
      }
    }
  }
  return { failures, checked: document.querySelectorAll('button, a, label').length };
}

const SCREENS = [
  { path: '/', ready: async () => {} },
  { path: '/solo', ready: async (page) => page.getByRole('button', { name: 'Start game' }).waitFor() },
  { path: '/solo', name: '/solo (playing, paused)', ready: async (page) => {
    await page.getByRole('button', { name: 'Start game' }).click();
    await waitForSnapshot(page, (s) => s.screen === 'solo' && s.active, 'the game');
    await page.keyboard.press('p');
    await page.getByRole('button', { name: 'Resume' }).waitFor();
  } },
  { path: '/duo', ready: async (page) => page.getByRole('button', { name: 'Create a private room' }).waitFor() },
  { path: '/scores', ready: async () => {} },
  { path: '/settings', ready: async (page) => page.getByRole('heading', { name: 'Settings' }).waitFor() },
];

for (const screen of SCREENS) {
  test(`contrast: every text and control on ${screen.name || screen.path} reaches WCAG AA`, async () => {
    const page = await newPage(browser, errors);
    await page.goto(`${server.base}${screen.path}`);
    await screen.ready(page);
    await page.waitForTimeout(100);
    const { failures, checked } = await page.evaluate(auditContrast);
    assert.ok(checked > 0, 'something was checked');
    assert.deepEqual(failures, [], `low contrast:\n${failures.map((f) => `${f.what}: ${f.ratio}:1 < ${f.need}:1`).join('\n')}`);
    await page.context().close();
    assert.deepEqual(errors, []);
  });
}
