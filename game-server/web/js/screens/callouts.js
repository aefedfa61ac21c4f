// Action text for a clear ("T-SPIN DOUBLE", "B2B x3 TETRIS", "COMBO 4", "PERFECT CLEAR"): pure, so
// node tests cover it.

/** The callout for a clear event from the engine, or '' when nothing is worth announcing. */
export function describeClear(e) {
  const names = ['', 'SINGLE', 'DOUBLE', 'TRIPLE', 'TETRIS'];
  let text = '';
  if (e.tspin === 'full') text = `T-SPIN ${names[e.lines]}`.trim();
  else if (e.tspin === 'mini') text = `MINI T-SPIN ${names[e.lines]}`.trim();
  else if (e.lines >= 2) text = names[e.lines];
  if (e.b2b) text = `B2B${e.b2bChain > 1 ? ` x${e.b2bChain}` : ''} ${text}`;
  if (e.combo >= 1) text = `${text}${text ? ' · ' : ''}COMBO ${e.combo}`;
  if (e.perfect) text = `PERFECT CLEAR${text ? ` · ${text}` : ''}`;
  return text;
}
