import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SRS, NRS, PIECES } from '../js/engine/pieces.js';
import { srsKicks } from '../js/engine/kicks.js';
import { INPUT, HEIGHT } from '../js/engine/game.js';
import { gameWith, tap } from './helpers.js';

const key = (cells) => cells.map(([x, y]) => `${x},${y}`).sort().join(' ');

test('SRS spawn shapes and T rotation states match the guideline', () => {
  assert.equal(key(SRS.T.states[0]), key([[1, 0], [0, 1], [1, 1], [2, 1]]));
  assert.equal(key(SRS.T.states[1]), key([[1, 0], [1, 1], [2, 1], [1, 2]]));
  assert.equal(key(SRS.T.states[2]), key([[0, 1], [1, 1], [2, 1], [1, 2]]));
  assert.equal(key(SRS.T.states[3]), key([[1, 0], [0, 1], [1, 1], [1, 2]]));
  assert.equal(key(SRS.I.states[1]), key([[2, 0], [2, 1], [2, 2], [2, 3]]));
  assert.equal(key(SRS.I.states[2]), key([[0, 2], [1, 2], [2, 2], [3, 2]]));
  for (const t of PIECES) for (const s of SRS[t].states) assert.equal(s.length, 4);
});

test('SRS kick tables: each reverse rotation uses the negated tests, test 0 is (0, 0)', () => {
  for (const t of ['T', 'I']) {
    for (let from = 0; from < 4; from++) {
      for (const to of [(from + 1) % 4, (from + 3) % 4]) {
        const fwd = srsKicks(t, from, to);
        const back = srsKicks(t, to, from);
        assert.equal(fwd.length, 5);
        assert.deepEqual(fwd[0], [0, 0]);
        fwd.forEach(([x, y], i) => assert.deepEqual([0 - back[i][0] + 0, 0 - back[i][1] + 0], [x + 0, y + 0], `${t} ${from}->${to} #${i}`));
      }
    }
  }
  assert.deepEqual(srsKicks('O', 0, 1), [[0, 0]]);
});

test('rotating clockwise then counter-clockwise in open space returns the same piece', () => {
  for (const type of PIECES) {
    const g = gameWith('modern', { type, rot: 0, x: 3, y: 10 });
    tap(g, INPUT.CW);
    assert.equal(g.active.rot, 1);
    tap(g, INPUT.CCW);
    assert.deepEqual([g.active.rot, g.active.x, g.active.y], [0, 3, 10]);
    tap(g, INPUT.CCW);
    assert.equal(g.active.rot, 3);
  }
});

test('SRS: I against the left wall kicks right (L->0 test 2)', () => {
  const g = gameWith('modern', { type: 'I', rot: 3, x: -1, y: 10 });
  tap(g, INPUT.CW);
  assert.deepEqual([g.active.rot, g.active.x, g.active.y], [0, 0, 10]);
  assert.equal(g.lastKick, 1);
});

test('SRS: T on the floor rotates clockwise with the upward kick (0->R test 3)', () => {
  const g = gameWith('modern', { type: 'T', rot: 0, x: 4, y: HEIGHT - 2 });
  tap(g, INPUT.CW);
  assert.deepEqual([g.active.rot, g.active.x, g.active.y], [1, 3, HEIGHT - 3]);
  assert.equal(g.lastKick, 2);
});

test('SRS: a rotation with every test blocked leaves the piece as it was', () => {
  const g = gameWith('modern', { type: 'I', rot: 0, x: 3, y: 10 });
  g.board.fill(8);
  for (const [x, y] of g.cellsOf(g.active)) g.board[y * 10 + x] = 0;
  tap(g, INPUT.CW);
  tap(g, INPUT.CCW);
  assert.deepEqual([g.active.rot, g.active.x, g.active.y], [0, 3, 10]);
});

test('NRS (classic): no kicks, so rotating into the wall fails; I, S, Z have two states', () => {
  assert.equal(NRS.I.length, 2);
  assert.equal(NRS.S.length, 2);
  assert.equal(NRS.Z.length, 2);
  assert.equal(NRS.O.length, 1);
  // Vertical I with its pivot at column 0: horizontal needs columns -2..1.
  const g = gameWith('classic', { type: 'I', rot: 1, x: 0, y: 10 });
  tap(g, INPUT.CW);
  assert.deepEqual([g.active.rot, g.active.x], [1, 0]);
  const t = gameWith('classic', { type: 'T', rot: 0, x: 4, y: 10 });
  tap(t, INPUT.CW);
  assert.equal(t.active.rot, 1);
  tap(t, INPUT.CCW);
  tap(t, INPUT.CCW);
  assert.equal(t.active.rot, 3);
});

test('classic has no hard drop and no hold', () => {
  const g = gameWith('classic', { type: 'T', rot: 0, x: 4, y: 10 });
  tap(g, INPUT.HARD | INPUT.HOLD);
  assert.equal(g.active.type, 'T');
  assert.equal(g.hold, null);
  assert.ok(g.active.y <= 11);
});
