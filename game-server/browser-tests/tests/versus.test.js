// Duo as versus Tetris (issue 16): the garbage meter shows incoming lines before they rise and
// drains when an attack cancels them; sending shows "+N"; leaving a running match asks first (Leave
// button, a nav link, Back); quick match has no pause.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, screenshotPath, snapshot, waitForSnapshot } from './harness.js';
import { playUntil } from './browser-bot.js';

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

const playing = (s) => s.phase === 'playing' && s.me && s.me.frozen.length === 0;

async function privateMatch() {
  const alice = await newPage(browser, errors);
  const bob = await newPage(browser, errors);
  // Through the home page, so Back has an in-app page to go to.
  await alice.goto(`${server.base}/`);
  await alice.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Duo' }).click();
  await alice.getByRole('textbox', { name: 'Your name' }).fill('alice');
  await alice.getByRole('button', { name: 'Create a private room' }).click();
  const code = (await alice.locator('#room-code-display').textContent()).trim();
  await bob.goto(`${server.base}/duo?room=${code}`);
  await bob.getByRole('textbox', { name: 'Your name' }).fill('bob');
  await bob.getByRole('button', { name: 'Join the room with this code' }).click();
  await waitForSnapshot(alice, playing, 'alice playing');
  await waitForSnapshot(bob, playing, 'bob playing');
  return { alice, bob };
}

const meterOf = (page, own = true) => page.locator(`${own ? '.game:not(.opponent)' : '.game.opponent'} .garbage-meter`);

test('garbage meter: pending lines show on both screens before they rise, "+N" on send, then the meter empties as they rise', async () => {
  const { alice, bob } = await privateMatch();
  // Bob holds his piece still (no key presses) while Alice attacks.
  const a = await playUntil(alice, (s) => s.sentGarbage >= 1, 80, { preferMulti: true });
  assert.ok(a.sentGarbage >= 1, `alice sent ${a.sentGarbage}`);
  assert.match(await alice.locator('.game:not(.opponent) .sent-flash').textContent(), /^\+\d+$/, 'alice sees +N');
  const b = await waitForSnapshot(bob, (s) => s.me.pendingGarbage > 0, 'bob to have garbage waiting', 10000);
  assert.equal(b.me.board.filter((c) => c === 8).length, 0, 'nothing has risen yet');
  assert.equal(Number(await meterOf(bob).getAttribute('data-pending')), b.me.pendingGarbage, "bob's meter shows the waiting lines");
  const fill = await meterOf(bob).locator('.meter-fill').evaluate((el) => el.getBoundingClientRect().height);
  assert.ok(fill > 0, 'the meter is filled');
  // Alice's view of Bob shows the same pending lines (relayed in `state`).
  await alice.waitForFunction((n) => document.querySelector('.game.opponent .garbage-meter')?.dataset.pending === String(n), b.me.pendingGarbage, { timeout: 5000 });
  await bob.screenshot({ path: screenshotPath('versus-garbage-meter') });
  // Bob drops a piece that clears nothing: the lines rise and the meter drains to 0.
  await bob.keyboard.press('Space');
  const risen = await waitForSnapshot(bob, (s) => s.me.pendingGarbage === 0 && s.me.board.includes(8), 'the garbage to rise', 5000);
  assert.ok(risen.me.board.includes(8));
  await bob.waitForFunction(() => document.querySelector('.game:not(.opponent) .garbage-meter').dataset.pending === '0', null, { timeout: 2000 });
  await alice.context().close();
  await bob.context().close();
  assert.deepEqual(errors, []);
});

test('garbage meter drains when an attack cancels waiting lines (the real panel and engine in Chromium)', async () => {
  const page = await newPage(browser, errors);
  await page.goto(`${server.base}/`);
  const result = await page.evaluate(async () => {
    const { Game, INPUT } = await import('/js/engine/game.js');
    const { BoardPanel } = await import('/js/screens/board-panel.js');
    const panel = new BoardPanel({ ruleset: 'modern', label: 'Test board', meter: true });
    document.body.prepend(panel.el);
    panel.attach();
    const g = new Game({ ruleset: 'modern', seed: 'cancel' });
    g.addGarbage(3, 4);
    // Two rows full but for column 9, and a vertical I over it: a double (1 attack line).
    for (const y of [22, 23]) for (let x = 0; x < 9; x++) g.board[y * 10 + x] = 8;
    g.active = { type: 'I', rot: 1, x: 7, y: 0 };
    g.lowestY = 0;
    panel.renderGame(g);
    const meter = panel.el.querySelector('.garbage-meter');
    const before = { pending: meter.dataset.pending, height: meter.firstChild.style.height };
    g.step(INPUT.HARD);
    panel.renderGame(g);
    return { before, after: { pending: meter.dataset.pending, height: meter.firstChild.style.height }, engine: g.pendingLines(), lines: g.lines };
  });
  assert.equal(result.lines, 2, 'a double was cleared');
  assert.equal(result.before.pending, '3');
  assert.equal(result.after.pending, '2', 'the double (1 line of attack) cancelled one waiting line');
  assert.equal(result.engine, 2);
  assert.ok(parseFloat(result.after.height) < parseFloat(result.before.height), `${result.before.height} -> ${result.after.height}`);
  await page.context().close();
  assert.deepEqual(errors, []);
});

test('leaving a running match asks first: Leave, a nav link and Back', async () => {
  const { alice, bob } = await privateMatch();
  // The Leave button: "Keep playing" keeps the match.
  await alice.getByRole('button', { name: 'Leave the match' }).click();
  const dialog = alice.getByRole('alertdialog', { name: 'Leave the match?' });
  await dialog.waitFor();
  await alice.screenshot({ path: screenshotPath('versus-forfeit-confirm') });
  await dialog.getByRole('button', { name: 'Keep playing' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await snapshot(alice)).phase, 'playing');
  // A nav link asks too; Escape answers "keep playing".
  await alice.getByRole('link', { name: 'Solo' }).click();
  await dialog.waitFor();
  await alice.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal(new URL(alice.url()).pathname, '/duo');
  // Back asks; agreeing leaves, and Bob wins by opponent_left.
  await alice.goBack();
  await dialog.waitFor();
  assert.equal(new URL(alice.url()).pathname, '/duo', 'Back did not leave before the answer');
  await dialog.getByRole('button', { name: 'Leave and lose' }).click();
  await waitForSnapshot(bob, (s) => s.phase === 'ended' || s.phase === 'closed', 'bob to see the end', 10000);
  assert.equal(await bob.locator('[data-result]').getAttribute('data-result'), 'won');
  await alice.context().close();
  await bob.context().close();
  assert.deepEqual(errors, []);
});

test('quick match has no pause: no pause button, P does nothing', async () => {
  const a = await newPage(browser, errors);
  const b = await newPage(browser, errors);
  for (const [p, name] of [[a, 'qa'], [b, 'qb']]) {
    await p.goto(`${server.base}/duo`);
    await p.getByRole('textbox', { name: 'Your name' }).fill(name);
    await p.getByRole('button', { name: 'Quick match with the next player' }).click();
  }
  await waitForSnapshot(a, playing, 'a playing');
  await waitForSnapshot(b, playing, 'b playing');
  assert.equal(await a.getByRole('button', { name: 'Pause both players' }).count(), 0);
  await a.keyboard.press('p');
  await a.waitForTimeout(300);
  assert.deepEqual((await snapshot(b)).me.frozen, [], 'the opponent keeps playing');
  assert.deepEqual((await snapshot(a)).me.frozen, []);
  await a.context().close();
  await b.context().close();
  assert.deepEqual(errors, []);
});

test('after a match: stats (lines sent, PPS, APM, best combo) and the set score; a hidden tab pauses a private match', async () => {
  const { alice, bob } = await privateMatch();
  // Bob tops out by hard-dropping in place.
  for (let i = 0; i < 80; i++) {
    const s = await snapshot(bob);
    if (s.me.over || s.phase === 'ended') break;
    await bob.keyboard.press('Space');
    await bob.waitForTimeout(30);
  }
  await alice.locator('[data-result="won"]').waitFor({ timeout: 15000 });
  const stats = JSON.parse(await alice.locator('[data-stats]').getAttribute('data-stats'));
  assert.ok(Number(stats.pps) >= 0 && 'apm' in stats && 'combo' in stats && 'sent' in stats, JSON.stringify(stats));
  const bobStats = JSON.parse(await bob.locator('[data-stats]').getAttribute('data-stats'));
  assert.ok(Number(bobStats.pps) > 0, `bob placed pieces: ${JSON.stringify(bobStats)}`);
  assert.equal(await alice.locator('[data-set]').getAttribute('data-set'), '1-0');
  assert.equal(await bob.locator('[data-set]').getAttribute('data-set'), '0-1');
  await alice.screenshot({ path: screenshotPath('versus-result') });

  await alice.getByRole('button', { name: 'Ask for a rematch' }).click();
  await bob.getByRole('button', { name: 'Ask for a rematch' }).click();
  await waitForSnapshot(alice, (s) => playing(s) && s.me.frame > 0 && s.me.score === 0, 'the rematch');
  await waitForSnapshot(bob, playing, 'bob in the rematch');
  assert.match(await alice.locator('.match-info').textContent(), /set 1-0/);

  // Alice's tab goes to the background: after a moment both sides pause.
  await alice.evaluate(() => {
    Object.defineProperty(document, 'hidden', { value: true, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await waitForSnapshot(bob, (s) => s.me.frozen.includes('pause'), 'bob paused by alice hiding', 5000);
  await waitForSnapshot(alice, (s) => s.me.frozen.includes('pause'), 'alice paused', 5000);
  await alice.context().close();
  await bob.context().close();
  assert.deepEqual(errors, []);
});
