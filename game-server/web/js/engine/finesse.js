// Finesse: the fewest button presses that put a piece where it locked, counted from its spawn on an
// empty field (what sprint players train: each press beyond it is a "finesse fault"). A held
// direction that slides to the wall (DAS) is one press. Pure; it never changes a game.
//
// The search runs on a scratch Game with the same rules, so rotations use the same kicks. Tucks and
// spins (moves under the stack after a soft drop) cannot be done from the spawn row; a trainer
// counts them as faults too, and so does this.

import { Game, WIDTH } from './game.js';

const cache = new Map();

/** Cells of a piece normalised to its top row, as one string (shapes that look alike compare equal). */
function footprint(game, piece) {
  const cells = game.cellsOf(piece);
  const top = Math.min(...cells.map(([, y]) => y));
  return cells.map(([x, y]) => `${x},${y - top}`).sort().join(' ');
}

/** Fewest presses to reach {type, x, rot} for `game`'s rules (-1 if unreachable from spawn). */
export function minimalInputs(game, type, x, rot) {
  const rules = game.rules;
  const key = `${rules.name}/${rules.rotate180}/${type}`;
  let table = cache.get(key);
  if (!table) {
    table = searchFrom(rules, type);
    cache.set(key, table);
  }
  const scratch = scratchGame(rules);
  const target = footprint(scratch, { type, rot, x, y: 2 });
  return table.get(target) ?? -1;
}

function scratchGame(rules) {
  const g = new Game({ ruleset: rules.name, seed: 0, version: rules.version });
  g.board.fill(0);
  return g;
}

/** Breadth-first search over (x, rot) from the spawn position; footprint -> presses. */
function searchFrom(rules, type) {
  const g = scratchGame(rules);
  g.spawnPiece(type);
  const start = { ...g.active, y: 2 };
  const moves = [
    (p) => shift(g, p, -1, false), (p) => shift(g, p, 1, false),
    (p) => shift(g, p, -1, true), (p) => shift(g, p, 1, true),
    (p) => turn(g, p, 1), (p) => turn(g, p, -1),
  ];
  if (rules.rotate180) moves.push((p) => turn(g, p, 2));
  const best = new Map([[footprint(g, start), 0]]);
  const seen = new Set([`${start.x}/${start.rot}`]);
  let frontier = [start];
  for (let depth = 1; frontier.length && depth <= 8; depth++) {
    const next = [];
    for (const p of frontier) {
      for (const move of moves) {
        const q = move(p);
        if (!q || seen.has(`${q.x}/${q.rot}`)) continue;
        seen.add(`${q.x}/${q.rot}`);
        const f = footprint(g, q);
        if (!best.has(f)) best.set(f, depth);
        next.push(q);
      }
    }
    frontier = next;
  }
  return best;
}

function shift(g, p, dx, toWall) {
  let x = p.x;
  while (!g.collides(p.type, p.rot, x + dx, p.y)) {
    x += dx;
    if (!toWall) break;
  }
  return x === p.x || x < -3 || x > WIDTH ? null : { ...p, x };
}

function turn(g, p, dir) {
  g.active = { ...p };
  g.rotate(dir);
  const q = g.active;
  return q.rot === p.rot ? null : { ...q, y: 2 };
}
