// Duo with the classic ruleset: no garbage, a race. One player's line clear shows on the other's
// screen; leaving ends the room for the other with a clear message.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, screenshotPath, snapshot, waitForSnapshot } from './harness.js';
import { playUntil } from './browser-bot.js';

let server;
let browser;
const errors = [];

before(async () => {
  server = await startServer({ TETRIS_RULESET: 'classic' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('duo classic: a line clear reaches the opponent, no garbage, leaving closes the room', async () => {
  const alice = await newPage(browser, errors);
  const bob = await newPage(browser, errors);
  await alice.goto(`${server.base}/duo`);
  await alice.getByRole('textbox', { name: 'Your name' }).fill('nes-alice');
  await alice.getByRole('button', { name: 'Create a private room' }).click();
  const code = (await alice.locator('#room-code-display').textContent()).trim();

  await bob.goto(`${server.base}/duo`);
  await bob.getByRole('textbox', { name: 'Your name' }).fill('nes-bob');
  await bob.getByRole('textbox', { name: 'Room code' }).fill(code.toLowerCase()); // codes are case-insensitive
  await bob.getByRole('button', { name: 'Join the room with this code' }).click();

  const playing = (s) => s.phase === 'playing' && s.me && s.me.frozen.length === 0;
  const a0 = await waitForSnapshot(alice, playing, 'alice playing');
  await waitForSnapshot(bob, playing, 'bob playing');
  assert.equal(a0.me.ruleset, 'classic');
  assert.equal(await alice.getByRole('button', { name: 'Hold' }).count(), 0, 'no hold in classic');

  const a1 = await playUntil(alice, (s) => s.me.lines >= 1, 40);
  assert.ok(a1.me.lines >= 1, `alice cleared ${a1.me.lines} lines`);
  await waitForSnapshot(bob, (s) => s.opponent && s.opponent.lines === a1.me.lines, 'bob to see the clear', 10000);
  const oppPanel = bob.locator('section[aria-label="Opponent board"]');
  assert.equal(await oppPanel.locator('[data-stat="lines"]').textContent(), String(a1.me.lines));
  assert.equal(a1.sentGarbage, 0, 'classic sends no garbage');
  assert.equal((await snapshot(bob)).receivedGarbage, 0);
  await bob.screenshot({ path: screenshotPath('12-duo-classic-bob') });

  await alice.getByRole('button', { name: 'Leave the match' }).click();
  await alice.getByRole('button', { name: 'Leave and lose' }).click();
  await bob.getByText('Your opponent left the room.').waitFor({ timeout: 10000 });
  await bob.getByText('Your opponent left: the room is closed.').waitFor({ timeout: 10000 });
  assert.equal((await snapshot(alice)).phase, 'lobby');
  assert.deepEqual(errors, []);
});

test('duo classic: topping out first does not lose by itself; the other plays on and the score decides', async () => {
  const alice = await newPage(browser, errors);
  const bob = await newPage(browser, errors);
  await alice.goto(`${server.base}/duo`);
  await alice.getByRole('textbox', { name: 'Your name' }).fill('first-out');
  await alice.getByRole('button', { name: 'Create a private room' }).click();
  const code = (await alice.locator('#room-code-display').textContent()).trim();
  await bob.goto(`${server.base}/duo?room=${code}`);
  await bob.getByRole('textbox', { name: 'Your name' }).fill('survivor');
  await bob.getByRole('button', { name: 'Join the room with this code' }).click();
  const playing = (s) => s.phase === 'playing' && s.me && s.me.frozen.length === 0;
  await waitForSnapshot(alice, playing, 'alice playing');
  await waitForSnapshot(bob, playing, 'bob playing');

  // Alice stacks pieces in the middle with soft drop until she tops out (no lines: 0 points + drops).
  const topOut = async (page) => {
    await page.keyboard.down('ArrowDown');
    await waitForSnapshot(page, (s) => s.me.over, 'a top-out', 60000);
    await page.keyboard.up('ArrowDown');
  };
  await topOut(alice);
  const aliceScore = (await snapshot(alice)).me.score;
  // Bob is told and plays on: no result yet.
  const out = bob.locator('[data-opponent-out]');
  await out.waitFor({ timeout: 10000 });
  assert.equal(Number(await out.getAttribute('data-opponent-out')), aliceScore);
  assert.equal((await snapshot(bob)).phase, 'playing', 'the survivor keeps playing');
  await alice.getByText('Your opponent plays on').waitFor();
  await bob.screenshot({ path: screenshotPath('duo-classic-opponent-out') });
  // Bob tops out too, with soft-drop points of his own: the higher score wins (reason score).
  await topOut(bob);
  const bobScore = (await snapshot(bob)).me.score;
  const [aliceResult, bobResult] = await Promise.all([alice, bob].map(async (p) => {
    const el = p.locator('[data-result]');
    await el.waitFor({ timeout: 10000 });
    return el.getAttribute('data-result');
  }));
  const bobWins = bobScore >= aliceScore; // a tie goes to the last one standing
  assert.deepEqual([aliceResult, bobResult], bobWins ? ['lost', 'won'] : ['won', 'lost'], `alice ${aliceScore}, bob ${bobScore}`);
  assert.deepEqual(errors, []);
});
