// Sound effects, synthesized with Web Audio (no files, nothing copied from any game): short
// oscillator and noise envelopes, one recipe per event. Volume and mute come from the settings.
// The AudioContext starts on the first key or tap (browsers refuse sound before a user gesture).
// Phones that support it also get a short vibration on hard drops, clears and incoming garbage.

import { loadSettings, saveSettings } from './settings.js';

/**
 * Each recipe is a list of tones: [type, startHz, endHz, seconds, gain, delaySeconds].
 * `noise` tones use filtered white noise (thuds, impacts).
 */
const RECIPES = {
  move: [['square', 660, 660, 0.025, 0.12, 0]],
  rotate: [['triangle', 520, 780, 0.05, 0.18, 0]],
  lock: [['noise', 900, 300, 0.05, 0.25, 0]],
  hard: [['noise', 500, 120, 0.09, 0.5, 0], ['sine', 160, 60, 0.1, 0.35, 0]],
  hold: [['triangle', 440, 330, 0.06, 0.18, 0]],
  clear1: [['square', 523, 523, 0.08, 0.18, 0]],
  clear2: [['square', 523, 523, 0.07, 0.18, 0], ['square', 659, 659, 0.09, 0.18, 0.06]],
  clear3: [['square', 523, 523, 0.06, 0.18, 0], ['square', 659, 659, 0.06, 0.18, 0.05], ['square', 784, 784, 0.1, 0.18, 0.1]],
  clear4: [['sawtooth', 392, 784, 0.25, 0.22, 0], ['square', 1047, 1047, 0.15, 0.16, 0.18]],
  tspin: [['sawtooth', 300, 900, 0.18, 0.2, 0], ['triangle', 1200, 1200, 0.12, 0.15, 0.15]],
  b2b: [['triangle', 880, 1320, 0.12, 0.18, 0.12]],
  perfect: [['triangle', 523, 1047, 0.4, 0.22, 0], ['triangle', 659, 1319, 0.4, 0.18, 0.05]],
  garbage: [['sawtooth', 110, 90, 0.18, 0.22, 0], ['sawtooth', 110, 90, 0.18, 0.22, 0.22]],
  levelup: [['square', 659, 659, 0.07, 0.15, 0], ['square', 880, 880, 0.07, 0.15, 0.08], ['square', 1319, 1319, 0.12, 0.15, 0.16]],
  gameover: [['sawtooth', 440, 110, 0.7, 0.22, 0]],
};

const VIBRATE = { hard: 12, clear4: [20, 30, 20], perfect: [30, 40, 30], garbage: [40, 30, 40] };

export class Sound {
  constructor(settings = loadSettings()) {
    this.settings = settings;
    this.ctx = null;
    this.noise = null;
    this.unlock = () => this.start();
    window.addEventListener('keydown', this.unlock, { once: true, capture: true });
    window.addEventListener('pointerdown', this.unlock, { once: true, capture: true });
    /** Names played so far (newest last, at most 50): read by tests through the debug snapshot. */
    this.played = [];
  }

  get muted() {
    return this.settings.muted || this.settings.volume === 0;
  }

  /** Turns sound on or off and remembers it. */
  setMuted(muted) {
    this.settings = saveSettings({ ...loadSettings(), muted });
  }

  start() {
    if (this.ctx || typeof AudioContext === 'undefined') return;
    this.ctx = new AudioContext();
    const len = Math.floor(this.ctx.sampleRate * 0.25);
    this.noise = this.ctx.createBuffer(1, len, this.ctx.sampleRate);
    const data = this.noise.getChannelData(0);
    let seed = 22222; // deterministic noise: no Math.random in the sound either
    for (let i = 0; i < len; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      data[i] = (seed / 0xffffffff) * 2 - 1;
    }
  }

  /** Plays `name` (a key of RECIPES) now, unless muted. */
  play(name) {
    const recipe = RECIPES[name];
    if (!recipe) return;
    this.played.push(name);
    if (this.played.length > 50) this.played.shift();
    if (VIBRATE[name] && !this.muted) navigator.vibrate?.(VIBRATE[name]);
    if (this.muted || !this.ctx) return;
    const master = (this.settings.volume / 100) * 0.6;
    const t0 = this.ctx.currentTime;
    for (const [type, f0, f1, dur, gain, delay] of recipe) this.tone(type, f0, f1, dur, gain * master, t0 + delay);
  }

  tone(type, f0, f1, dur, gain, at) {
    const { ctx } = this;
    const env = ctx.createGain();
    env.gain.setValueAtTime(0.0001, at);
    env.gain.exponentialRampToValueAtTime(Math.max(gain, 0.0002), at + 0.005);
    env.gain.exponentialRampToValueAtTime(0.0001, at + dur);
    env.connect(ctx.destination);
    let src;
    if (type === 'noise') {
      src = ctx.createBufferSource();
      src.buffer = this.noise;
      const filter = ctx.createBiquadFilter();
      filter.type = 'lowpass';
      filter.frequency.setValueAtTime(f0, at);
      filter.frequency.exponentialRampToValueAtTime(Math.max(f1, 20), at + dur);
      src.connect(filter);
      filter.connect(env);
    } else {
      src = ctx.createOscillator();
      src.type = type;
      src.frequency.setValueAtTime(f0, at);
      if (f1 !== f0) src.frequency.exponentialRampToValueAtTime(f1, at + dur);
      src.connect(env);
    }
    src.start(at);
    src.stop(at + dur + 0.02);
  }

  /** The sound of an engine event (see Game.events), or of a clear's kind. */
  event(e) {
    if (e.type === 'lock') this.play('lock');
    else if (e.type === 'clear') {
      if (e.perfect) this.play('perfect');
      else if (e.tspin !== 'none' && e.lines > 0) this.play('tspin');
      else if (e.lines > 0) this.play(`clear${Math.min(e.lines, 4)}`);
      if (e.b2b) this.play('b2b');
    } else if (e.type === 'levelup') this.play('levelup');
    else if (e.type === 'gameover') this.play('gameover');
  }

  detach() {
    window.removeEventListener('keydown', this.unlock, { capture: true });
    window.removeEventListener('pointerdown', this.unlock, { capture: true });
  }
}

/** The sound of pressing an engine button (INPUT bits), for Controls' onAction. */
export function buttonSound(bit) {
  if (bit & 32) return 'hard';
  if (bit & 64) return 'hold';
  if (bit & (8 | 16 | 128)) return 'rotate';
  if (bit & (1 | 2)) return 'move';
  return null;
}
