// Random games for the differential test (tests/server/differential.rs): generates `count` input
// logs per rules version and ruleset, replays each with the JavaScript engine (the reference) and
// prints one JSON line per game: {log, expect}, where `expect` is the final state or {error: true}
// for a log the engine refuses. One node process for every game, so the test costs one start-up.
//
//   node game-server/tests/differential/games.mjs <count> <seed>
//
// Drivers: the placement bot of web/test/bot.js with random mistakes (clears lines, levels up,
// T-spins now and then), and plain button mashing (DAS, rotation at the walls, lock delay, hold).
// A few logs are corrupted on purpose, so both engines must also refuse the same logs.

import { Game, HIDDEN, HEIGHT, WIDTH, INPUT, inputMaskFor } from '../../web/js/engine/game.js';
import { InputRecorder, replay } from '../../web/js/engine/replay.js';
import { HANDLING_LIMITS, RULES_VERSIONS } from '../../web/js/engine/rules.js';
import { plan, nextMask } from '../../web/test/bot.js';
import { lcg } from '../../web/test/helpers.js';

const count = Number(process.argv[2] ?? 100);
const rand = lcg(Number(process.argv[3] ?? 1));
const pick = (n) => rand() % n;
const chance = (percent) => pick(100) < percent;

function randomHandling() {
  const out = {};
  for (const [key, { min, max }] of Object.entries(HANDLING_LIMITS)) if (chance(80)) out[key] = min + pick(max - min + 1);
  return out;
}

function options(version, ruleset) {
  const o = { ruleset, version, startLevel: chance(70) ? pick(10) : pick(30), seed: chance(50) ? rand() : `d-${rand().toString(36)}` };
  if (version >= 2 && ruleset === 'modern' && chance(70)) o.handling = randomHandling();
  if (version >= 2 && chance(20)) o.mode = chance(50) ? 'sprint' : 'blitz';
  return o;
}

/** Plays one random game and returns its log. */
function play(version, ruleset) {
  const o = options(version, ruleset);
  const g = new Game(o);
  const rec = new InputRecorder(o);
  const frames = 200 + pick(o.mode ? 8000 : 2000);
  const bot = chance(50);
  const noise = pick(25);
  const maskAll = inputMaskFor(version);
  let mask = 0;
  let hold = 0;
  let target = null;
  let piece = -1;
  while (g.frame < frames && !g.over) {
    if (ruleset === 'modern' && chance(1)) {
      const lines = 1 + pick(chance(10) ? 20 : 4);
      const hole = pick(10);
      rec.addGarbage(g.frame, lines, hole);
      g.addGarbage(lines, hole);
    }
    if (hold > 0) hold--;
    else if (bot && !chance(noise)) {
      if (g.active && g.pieces !== piece) {
        piece = g.pieces;
        target = plan(g, { preferMulti: chance(30) });
      }
      mask = g.active && target ? nextMask(g, target, mask) : 0;
      if (chance(2)) mask |= [INPUT.HOLD, INPUT.CCW, INPUT.ROT180, INPUT.DOWN][pick(4)];
    } else {
      mask = rand() & maskAll;
      hold = pick(bot ? 4 : 25);
    }
    mask &= maskAll;
    rec.input(g.frame, mask);
    g.step(mask);
  }
  return rec.toLog(g.frame);
}

/** Breaks one rule of validateLog. */
function corrupt(log) {
  const bad = structuredClone(log);
  switch (pick(7)) {
    case 0: bad.v = 3; break;
    case 1: bad.inputs.push([bad.frames + 1, 1]); break;
    case 2: bad.inputs.push([Math.max(bad.frames - 1, 0), log.v === 1 ? 128 : 256]); break;
    case 3: bad.garbage.push([bad.frames, 21, 0]); break;
    case 4: bad.garbage.push([bad.frames, 1, 10]); break;
    case 5: bad.startLevel = 30; break;
    default: bad.frames = -1;
  }
  return bad;
}

function finalState(g) {
  const rows = [];
  for (let y = HIDDEN; y < HEIGHT; y++) rows.push(Array.from(g.board.subarray(y * WIDTH, (y + 1) * WIDTH)).join(''));
  const a = g.active;
  return {
    score: g.score, lines: g.lines, level: g.level, frames: g.frame, over: g.over, pieces: g.pieces,
    stats: g.stats, hold: g.hold, next: g.queue.slice(0, 5).join(''), board: rows,
    active: a ? { kind: a.type, x: a.x, y: a.y, rot: a.rot } : null,
    b2b: g.b2b, combo: g.combo, pending: g.pendingLines(),
    // replay() never drains events, so they are all still there: the garbage the game sent.
    sent: g.events.filter((e) => e.type === 'attack').reduce((a, e) => a + e.lines, 0),
  };
}

for (const version of RULES_VERSIONS) {
  for (const ruleset of ['classic', 'modern']) {
    for (let i = 0; i < count; i++) {
      let log = play(version, ruleset);
      if (chance(5)) log = corrupt(log);
      let expect;
      try {
        expect = finalState(replay(log));
      } catch {
        expect = { error: true };
      }
      process.stdout.write(`${JSON.stringify({ log, expect })}\n`);
    }
  }
}
