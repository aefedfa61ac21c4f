// Duo, through the real UI in two browser contexts: a private room by code, a line clear by one
// player showing up on the other's screen (garbage computed by the server from the replayed inputs),
// mirrored pause, a top-out deciding the match, and the server's result on both screens and on the
// duo score board.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newPage, screenshotPath, snapshot, waitForSnapshot } from './harness.js';
import { playUntil } from './browser-bot.js';
import { replay, summary } from '../../web/js/engine/replay.js';

let server;
let browser;
const errors = [];

before(async () => {
  server = await startServer({ TETRIS_RULESET: 'modern', TETRIS_RECONNECT_GRACE_SECONDS: '5' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The opponent's visible board as rows, from the other page's relayed state. */
function rows(board) {
  return board.match(/.{10}/g);
}

test('duo modern: room by code, line clear and garbage reach the opponent, mirrored pause, top-out, rematch, reload resume, disconnect past grace', async () => {
  const alice = await newPage(browser, errors);
  const bob = await newPage(browser, errors, { width: 390, height: 844 }); // phone-sized

  await alice.goto(`${server.base}/duo`);
  await alice.getByRole('textbox', { name: 'Your name' }).fill('alice');
  await alice.screenshot({ path: screenshotPath('05a-duo-lobby') });
  await alice.getByRole('button', { name: 'Create a private room' }).click();
  const codeEl = alice.locator('#room-code-display');
  await codeEl.waitFor();
  const code = (await codeEl.textContent()).trim();
  assert.match(code, /^[A-Z0-9]{6}$/);
  await alice.screenshot({ path: screenshotPath('05-duo-waiting') });

  await bob.goto(`${server.base}/duo?room=${code}`);
  assert.equal(await bob.getByRole('textbox', { name: 'Room code' }).inputValue(), code, 'invite link fills the code');
  await bob.getByRole('textbox', { name: 'Your name' }).fill('bob');
  await bob.getByRole('button', { name: 'Join the room with this code' }).click();

  const playing = (s) => s.phase === 'playing' && s.me && s.me.frozen.length === 0;
  const a0 = await waitForSnapshot(alice, playing, 'alice playing');
  const b0 = await waitForSnapshot(bob, playing, 'bob playing');
  assert.deepEqual(a0.me.queue.slice(0, 5), b0.me.queue.slice(0, 5), 'same seed, same pieces');
  assert.equal(a0.me.active.type, b0.me.active.type);

  // Alice clears lines by playing (real key presses) until she has at least one.
  const a1 = await playUntil(alice, (s) => s.me.lines >= 1, 40);
  assert.ok(a1.me.lines >= 1, `alice cleared ${a1.me.lines} lines`);

  // Bob's screen shows Alice's lines and score, and her board.
  const b1 = await waitForSnapshot(bob, (s) => s.opponent && s.opponent.lines === a1.me.lines && s.opponent.score >= a1.me.score,
    'bob to see alice\'s line clear', 10000);
  const oppPanel = bob.locator('section[aria-label="Opponent board"]');
  assert.equal(await oppPanel.locator('[data-stat="lines"]').textContent(), String(b1.opponent.lines));
  assert.equal(await oppPanel.locator('[data-stat="score"]').textContent(), String(b1.opponent.score));
  const aNow = await snapshot(alice);
  const aliceVisible = aNow.me.board.slice(40).map((v) => '.IJLOSTZG'[v]).join('');
  const bSees = await waitForSnapshot(bob, (s) => s.opponent.board === aliceVisible || s.opponent.board === b1.opponent.board, 'board relay');
  assert.equal(rows(bSees.opponent.board).length, 20);
  assert.ok(bSees.opponent.board.replace(/\./g, '').length > 0, 'the relayed board has blocks');
  // No server error reached either page so far (errors are shown in the banner).
  assert.equal(await alice.locator('#banner').isHidden(), true, await alice.locator('#banner').textContent());
  assert.equal(await bob.locator('#banner').isHidden(), true, await bob.locator('#banner').textContent());
  await alice.screenshot({ path: screenshotPath('06-duo-alice') });
  await bob.screenshot({ path: screenshotPath('07-duo-bob-sees-alice'), fullPage: true });

  // Garbage: Alice builds for a double or better; the lines she sends reach Bob's game.
  // The bot plans for a multi-line clear but plays in real time; allow it enough pieces to get one.
  const a2 = await playUntil(alice, (s) => s.sentGarbage >= 1, 150, { preferMulti: true });
  assert.ok(a2.sentGarbage >= 1, `alice sent ${a2.sentGarbage} garbage lines`);
  const b2 = await waitForSnapshot(bob, (s) => s.receivedGarbage >= a2.sentGarbage, 'bob to receive the garbage', 10000);
  assert.ok(b2.me.pendingGarbage > 0 || b2.me.board.includes(8), 'garbage is queued or already on the board');

  // Pause is mirrored: Alice pauses, Bob's game freezes; Bob resumes for both.
  await alice.keyboard.press('p');
  await waitForSnapshot(bob, (s) => s.me.frozen.includes('pause'), 'bob paused by alice');
  const frozenAt = (await snapshot(bob)).me.frame;
  await bob.waitForTimeout(300);
  assert.equal((await snapshot(bob)).me.frame, frozenAt, 'no frames while paused');
  // Only the player who paused may resume at first (PROTOCOL.md "Pause rules").
  await alice.getByRole('button', { name: 'Resume both players' }).click();
  await waitForSnapshot(alice, playing, 'alice resumed');
  await waitForSnapshot(bob, playing, 'bob resumed');

  // Duo results come from the server: no page submits a duo score.
  const submits = [];
  for (const page of [alice, bob]) page.on('request', (r) => { if (r.url().endsWith('/api/scores') && r.method() === 'POST') submits.push(r.url()); });
  // Bob tops out by hard-dropping in the middle with the on-screen (touch) button; Alice wins.
  const hardDrop = bob.getByRole('button', { name: 'Hard drop' });
  assert.ok(await hardDrop.isVisible(), 'touch controls are shown at phone width');
  const pad = await bob.getByRole('group', { name: 'Touch controls' }).boundingBox();
  const ownBoard = await bob.locator('section[aria-label="Your board"] canvas.board').boundingBox();
  assert.ok(pad.y + pad.height <= 844, `on a phone the pad is on screen without scrolling (bottom ${pad.y + pad.height})`);
  assert.ok(ownBoard.y + ownBoard.height <= pad.y, 'own board above the pad');
  for (let i = 0; i < 60; i++) {
    const s = await snapshot(bob);
    if (s.me.over || s.phase === 'ended') break;
    await hardDrop.click();
    await bob.waitForTimeout(40);
  }
  await alice.locator('[data-result="won"]').waitFor({ timeout: 15000 });
  await bob.locator('[data-result="lost"]').waitFor({ timeout: 15000 });
  await alice.locator('[data-save="done"]').waitFor({ timeout: 10000 });
  await bob.locator('[data-save="done"]').waitFor({ timeout: 10000 });
  // Both screens show the server's result, from its replays of both input streams: the same
  // winner and scores, which are the ones each page's own engine reached, and alice's garbage.
  const bobEnd = await snapshot(bob);
  const aliceEnd = await snapshot(alice);
  const result = async (page) => JSON.parse(await page.locator('[data-server-result]').getAttribute('data-server-result'));
  const [seenByAlice, seenByBob] = [await result(alice), await result(bob)];
  assert.deepEqual(seenByAlice, seenByBob, 'both screens show the same server result');
  assert.equal(seenByBob.winner, aliceEnd.room.seat, 'alice won');
  assert.equal(seenByBob.scores[bobEnd.room.seat], bobEnd.me.score, "the server's replay of bob's inputs reached bob's score");
  assert.equal(seenByBob.scores[aliceEnd.room.seat], aliceEnd.me.score, "and alice's");
  assert.ok(seenByBob.garbageSent[aliceEnd.room.seat] >= a2.sentGarbage, 'the garbage alice sent, counted by the server');
  assert.deepEqual(submits, [], 'no client submitted a duo score');
  // Bob's log (with the garbage the server sent him, and its holes) replays to his final game.
  const log = bobEnd.log;
  assert.ok(log.garbage.length >= 1, 'the received garbage is in the log');
  assert.deepEqual(summary(replay(log)), { score: bobEnd.me.score, lines: bobEnd.me.lines, level: bobEnd.me.level, frames: bobEnd.me.frame, over: true });
  await alice.screenshot({ path: screenshotPath('08-duo-alice-wins') });
  await bob.screenshot({ path: screenshotPath('09-duo-bob-loses'), fullPage: true });

  // Both duo scores are on the duo board, as the server recorded them.
  const board = await newPage(browser, errors);
  await board.goto(`${server.base}/scores`);
  for (const [name, end] of [['alice', aliceEnd], ['bob', bobEnd]]) {
    const row = board.locator('table[data-board="duo"] tr', { has: board.locator('td.name', { hasText: name }) });
    await row.waitFor();
    assert.ok((await row.innerText()).includes(String(end.me.score)), `${name}'s row shows the server's score ${end.me.score}`);
  }

  // Rematch: both ask, a second match starts with a fresh board.
  await alice.getByRole('button', { name: 'Ask for a rematch' }).click();
  await bob.getByRole('button', { name: 'Ask for a rematch' }).click();
  const again = await waitForSnapshot(alice, (s) => s.phase === 'playing' && s.me.frame >= 0 && s.me.lines === 0 && s.me.score === 0 && s.room, 'rematch');
  assert.equal(again.me.over, false);

  await waitForSnapshot(bob, playing, 'bob in the rematch');

  // Bob reloads his tab mid-match: within the grace period he resumes the same match and board.
  await bob.keyboard.press('ArrowLeft');
  const beforeReload = await snapshot(bob);
  await bob.reload();
  const resumed = await waitForSnapshot(bob, (s) => s.phase === 'playing' && s.me, 'bob resumed after reload', 15000);
  assert.equal(resumed.room.code, code);
  assert.ok(resumed.me.frame >= beforeReload.me.frame, `board restored from the log (frame ${resumed.me.frame} >= ${beforeReload.me.frame})`);
  assert.deepEqual(resumed.me.queue, beforeReload.me.queue.slice(0, resumed.me.queue.length), 'same pieces');
  await waitForSnapshot(alice, playing, 'alice playing again after bob came back', 10000);

  // Bob closes his tab for good: past the 5 s grace, Alice is told clearly and the room ends.
  await bob.context().close();
  await alice.getByText('Your opponent did not come back in time.').waitFor({ timeout: 15000 });
  await alice.getByText('Your opponent lost the connection and did not come back in time: the room is closed.').waitFor({ timeout: 5000 });
  await alice.screenshot({ path: screenshotPath('10-duo-opponent-gone') });
  assert.equal(await alice.locator('#banner').isHidden(), true, await alice.locator('#banner').textContent());

  // The server never had to answer a malformed or rate-limited message from either client.
  const metrics = await (await fetch(`${server.base}/metrics`)).text();
  const errorLines = metrics.split('\n').filter((l) => /^tetris_errors_total\{code="(bad_message|rate_limited|hello_required|not_in_ruleset)"\} [1-9]/.test(l));
  assert.deepEqual(errorLines, []);
  assert.deepEqual(errors, []);
});

test('duo quick match pairs the next two players with the same pieces', async () => {
  const p1 = await newPage(browser, errors);
  const p2 = await newPage(browser, errors);
  for (const [page, name] of [[p1, 'carol'], [p2, 'dave']]) {
    await page.goto(`${server.base}/duo`);
    await page.getByRole('textbox', { name: 'Your name' }).fill(name);
  }
  // A wrong code is refused with the server's message, in the lobby.
  await p1.getByRole('textbox', { name: 'Room code' }).fill('ZZZZZZ');
  await p1.getByRole('button', { name: 'Join the room with this code' }).click();
  await p1.getByRole('alert').filter({ hasText: /room/ }).waitFor();
  assert.equal((await snapshot(p1)).phase, 'lobby');
  // Leaving the queue returns to the lobby (and stays there).
  await p1.getByRole('button', { name: 'Quick match with the next player' }).click();
  await p1.getByText('Looking for an opponent').waitFor();
  await p1.getByRole('button', { name: 'Leave the room' }).click();
  await p1.getByRole('button', { name: 'Quick match with the next player' }).waitFor();
  await p1.waitForTimeout(300);
  assert.equal((await snapshot(p1)).phase, 'lobby');

  await p1.getByRole('button', { name: 'Quick match with the next player' }).click();
  await p1.getByText('Looking for an opponent').waitFor();
  await p2.getByRole('button', { name: 'Quick match with the next player' }).click();
  const playing = (s) => s.phase === 'playing' && s.me && s.me.frozen.length === 0;
  const s1 = await waitForSnapshot(p1, playing, 'carol playing');
  const s2 = await waitForSnapshot(p2, playing, 'dave playing');
  assert.equal(s1.room.code, s2.room.code);
  assert.deepEqual(s1.me.queue, s2.me.queue);
  assert.match(await p1.locator('main').textContent(), /carol vs dave/);
  await p2.getByRole('button', { name: 'Leave the match' }).click();
  await p2.getByRole('button', { name: 'Leave and lose' }).click();
  await p1.locator('[data-result="won"]').waitFor({ timeout: 10000 });
  await p1.getByText('Your opponent left the room.').waitFor();
  await p1.context().close();
  await p2.context().close();
  assert.deepEqual(errors, []);
});
