// The fixed-step clock: runs the engine at 60 frames per second of real time, independent of the
// display's refresh rate. The wall clock lives here, never inside the engine.

export const FRAME_MS = 1000 / 60;
/** Most time caught up after a stall (a background tab, a long GC): older time is dropped. */
const MAX_CATCH_UP_MS = 200;

export class FrameLoop {
  /** @param {() => void} onFrame one engine frame; @param {() => void} onRender once per display frame */
  constructor(onFrame, onRender) {
    this.onFrame = onFrame;
    this.onRender = onRender;
    this.running = false;
    this.raf = 0;
    this.tick = this.tick.bind(this);
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.last = performance.now();
    this.acc = 0;
    this.raf = requestAnimationFrame(this.tick);
  }

  stop() {
    this.running = false;
    cancelAnimationFrame(this.raf);
  }

  tick(now) {
    if (!this.running) return;
    this.acc = Math.min(this.acc + (now - this.last), MAX_CATCH_UP_MS);
    this.last = now;
    while (this.acc >= FRAME_MS && this.running) {
      this.acc -= FRAME_MS;
      this.onFrame();
    }
    this.onRender();
    if (this.running) this.raf = requestAnimationFrame(this.tick);
  }
}
