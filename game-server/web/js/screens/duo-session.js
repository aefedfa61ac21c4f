// Pure parts of a duo session, kept out of duo.js so node tests cover them: the post-match numbers
// and the running set score of a room.

/** A set is won by the first player to win this many matches in the room (counted by the clients). */
export const FIRST_TO = 3;

/**
 * Post-match numbers for a finished local game: lines sent, pieces per second, attack per minute
 * and the best combo. PPS counts locked pieces (not the one left falling at the end).
 */
export function matchStats(game, sentGarbage, maxCombo) {
  const seconds = Math.max(game.frame / 60, 1 / 60);
  const locked = Math.max(0, game.pieces - (game.active && !game.over ? 1 : 0));
  return {
    sent: sentGarbage, pps: (locked / seconds).toFixed(2), apm: ((sentGarbage * 60) / seconds).toFixed(1), combo: maxCombo,
  };
}

/** The running score of a first-to-FIRST_TO set in one room; a finished set starts over. */
export class SetTally {
  constructor(code) {
    this.code = code;
    this.wins = [0, 0];
    this.done = false;
  }

  /** Counts a match won by seat `winner`; returns the score as `seat` sees it. */
  record(winner, seat) {
    this.wins[winner]++;
    const mine = this.wins[seat];
    const theirs = this.wins[1 - seat];
    this.done = mine >= FIRST_TO || theirs >= FIRST_TO;
    return { mine, theirs, done: this.done, won: this.done && mine > theirs };
  }
}
