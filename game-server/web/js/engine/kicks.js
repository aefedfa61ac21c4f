// SRS wall-kick tests. Offsets are (dx, dy) with y growing DOWNWARDS (the guideline tables are
// usually written with y up; here the sign of dy is already flipped for the board's orientation).
// Key: `${from}${to}` with states 0, 1 (R), 2, 3 (L). Test 0 is always (0, 0).

const JLSTZ = {
  '01': [[0, 0], [-1, 0], [-1, -1], [0, 2], [-1, 2]],
  '10': [[0, 0], [1, 0], [1, 1], [0, -2], [1, -2]],
  '12': [[0, 0], [1, 0], [1, 1], [0, -2], [1, -2]],
  '21': [[0, 0], [-1, 0], [-1, -1], [0, 2], [-1, 2]],
  '23': [[0, 0], [1, 0], [1, -1], [0, 2], [1, 2]],
  '32': [[0, 0], [-1, 0], [-1, 1], [0, -2], [-1, -2]],
  '30': [[0, 0], [-1, 0], [-1, 1], [0, -2], [-1, -2]],
  '03': [[0, 0], [1, 0], [1, -1], [0, 2], [1, 2]],
};

const I = {
  '01': [[0, 0], [-2, 0], [1, 0], [-2, 1], [1, -2]],
  '10': [[0, 0], [2, 0], [-1, 0], [2, -1], [-1, 2]],
  '12': [[0, 0], [-1, 0], [2, 0], [-1, -2], [2, 1]],
  '21': [[0, 0], [1, 0], [-2, 0], [1, 2], [-2, -1]],
  '23': [[0, 0], [2, 0], [-1, 0], [2, -1], [-1, 2]],
  '32': [[0, 0], [-2, 0], [1, 0], [-2, 1], [1, -2]],
  '30': [[0, 0], [1, 0], [-2, 0], [1, 2], [-2, -1]],
  '03': [[0, 0], [-1, 0], [2, 0], [-1, -2], [2, 1]],
};

const NONE = [[0, 0]];

/**
 * 180-degree turns (rules version 2; SRS itself has none): in place, then one cell up, one to
 * either side, one down. Short on purpose, so a 180 never teleports a piece through the stack.
 */
const HALF_TURN = [[0, 0], [0, -1], [1, 0], [-1, 0], [0, 1]];

/** The kick tests to try, in order, when `type` rotates from state `from` to state `to`. */
export function srsKicks(type, from, to) {
  if (type === 'O') return NONE;
  if ((from + 2) % 4 === to) return HALF_TURN;
  const table = type === 'I' ? I : JLSTZ;
  return table[`${from}${to}`];
}
