import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Game, INPUT } from '../js/engine/game.js';
import { PIECES } from '../js/engine/pieces.js';
import { stateMessage } from '../js/net/wire.js';
import { viewFromGame, viewFromState } from '../js/render/view.js';
import { lcg } from './helpers.js';

// Bounds from PROTOCOL.md, "state".
function assertWithinProtocol(msg) {
  assert.equal(msg.type, 'state');
  assert.match(msg.board, /^[.IJLOSTZG]{200}$/);
  if (msg.piece) {
    assert.ok(PIECES.includes(msg.piece.kind));
    assert.ok(msg.piece.x >= -4 && msg.piece.x <= 13, `x ${msg.piece.x}`);
    assert.ok(msg.piece.y >= -4 && msg.piece.y <= 23, `y ${msg.piece.y}`);
    assert.ok(msg.piece.rot >= 0 && msg.piece.rot <= 3);
  }
  assert.match(msg.next, /^[IJLOSTZ]{0,5}$/);
  assert.ok(msg.hold === null || PIECES.includes(msg.hold));
  assert.ok(JSON.stringify(msg).length < 4096, 'fits in one WebSocket message');
}

for (const ruleset of ['classic', 'modern']) {
  test(`${ruleset}: the relayed state stays inside the protocol bounds and draws the same board`, () => {
    const g = new Game({ ruleset, seed: 'wire', startLevel: 5 });
    const rand = lcg(3);
    let mask = 0;
    for (let i = 0; i < 6000 && !g.over; i++) {
      if (rand() % 3 === 0) mask = rand() & 127;
      if (ruleset === 'modern' && i % 700 === 699) g.addGarbage(2, i % 10);
      g.step(mask);
      if (i % 7 === 0 || g.over) {
        const msg = stateMessage(g);
        assertWithinProtocol(msg);
        const local = viewFromGame(g);
        const remote = viewFromState(g.rules.rotation, JSON.parse(JSON.stringify(msg)));
        assert.deepEqual(Array.from(remote.cells), Array.from(local.cells));
        if (!g.over) assert.deepEqual(remote.piece, local.piece);
      }
    }
  });
}

test('every piece in every rotation at the walls and in the hidden rows fits the protocol bounds', () => {
  for (const ruleset of ['classic', 'modern']) {
    const g = new Game({ ruleset, seed: 1 });
    for (const type of PIECES) {
      for (let rot = 0; rot < 4; rot++) {
        for (let x = -3; x < 13; x++) {
          for (let y = 0; y < 24; y++) {
            if (g.collides(type, rot, x, y)) continue;
            g.active = { type, rot, x, y };
            assertWithinProtocol(stateMessage(g));
          }
        }
      }
    }
  }
});

test('garbage shows as G in the relayed board', () => {
  const g = new Game({ ruleset: 'modern', seed: 2 });
  g.addGarbage(1, 4);
  g.step(INPUT.HARD);
  g.step(0);
  assert.equal(stateMessage(g).board.slice(190), 'GGGG.GGGGG');
});

test('a malformed relayed state draws an empty board instead of throwing', () => {
  const v = viewFromState('srs', { board: 42, piece: { kind: 'Q', x: 1, y: 1, rot: 0 } });
  assert.equal(v.cells.length, 200);
  assert.equal(v.piece, null);
  assert.equal(viewFromState('nrs', null).cells.every((c) => c === 0), true);
});

test('a new piece is drawn whole: its cells are in the buffer row or the field (issue 16)', () => {
  for (const ruleset of ['modern', 'classic']) {
    for (const type of PIECES) {
      const g = new Game({ ruleset, seed: 'spawn' });
      g.spawnPiece(type);
      const view = viewFromGame(g);
      const ys = view.piece.cells.map(([, y]) => y);
      assert.ok(Math.min(...ys) >= -1, `${ruleset} ${type} spawns with a cell above the buffer row: ${ys}`);
      const relayed = viewFromState(g.rules.rotation, stateMessage(g));
      assert.deepEqual(relayed.piece.cells, view.piece.cells, 'the opponent draws the same cells');
    }
  }
  const g = new Game({ ruleset: 'modern', seed: 'buffer' });
  g.board[3 * 10 + 4] = 5; // a block in the buffer row (engine row HIDDEN - 1)
  assert.equal(viewFromGame(g).buffer[4], 5);
});
