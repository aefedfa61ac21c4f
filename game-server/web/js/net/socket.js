// The page's one WebSocket (PROTOCOL.md section 3): connects, says hello (with the duo resume token
// when there is one), reconnects with backoff after a drop, and dispatches messages by type.

const PROTOCOL = 1;
const RESUME_KEY = 'tetris.resume';

export class Connection {
  constructor() {
    this.ws = null;
    this.handlers = new Map();
    this.ready = false; // welcome received on the current socket
    this.wanted = false;
    this.backoff = 500;
    this.queue = [];
    this.timer = 0;
    this.watchScores = false;
  }

  /** Registers `fn` for messages of `type` ('*' for all, 'open'/'close' for the socket); returns an unsubscribe function. */
  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(fn);
    return () => this.handlers.get(type)?.delete(fn);
  }

  emit(type, msg) {
    for (const fn of this.handlers.get(type) || []) fn(msg);
    if (type !== 'open' && type !== 'close') for (const fn of this.handlers.get('*') || []) fn(msg);
  }

  get resumeToken() {
    try {
      return sessionStorage.getItem(RESUME_KEY);
    } catch {
      return null;
    }
  }

  set resumeToken(token) {
    try {
      if (token) sessionStorage.setItem(RESUME_KEY, token);
      else sessionStorage.removeItem(RESUME_KEY);
    } catch {
      // Storage can be disabled (private mode): reconnecting then simply cannot resume.
    }
  }

  connect() {
    this.wanted = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) return;
    clearTimeout(this.timer);
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    const ws = new WebSocket(url);
    this.ws = ws;
    this.ready = false;
    ws.addEventListener('open', () => {
      const hello = { type: 'hello', protocol: PROTOCOL };
      const token = this.resumeToken;
      if (token) hello.resumeToken = token;
      ws.send(JSON.stringify(hello));
    });
    ws.addEventListener('message', (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (!msg || typeof msg.type !== 'string') return;
      if (msg.type === 'welcome') {
        this.ready = true;
        this.backoff = 500;
        if (this.watchScores) this.sendNow({ type: 'watch_scores' });
        const pending = this.queue;
        this.queue = [];
        for (const m of pending) this.sendNow(m);
        this.emit('open', msg);
      }
      if (msg.type === 'room_joined' && msg.resumeToken) this.resumeToken = msg.resumeToken;
      if (msg.type === 'room_closed') this.resumeToken = null;
      if (msg.type === 'error' && msg.code === 'bad_resume_token') this.resumeToken = null;
      this.emit(msg.type, msg);
    });
    ws.addEventListener('close', (ev) => {
      if (this.ws !== ws) return;
      this.ready = false;
      this.emit('close', { code: ev.code, reason: ev.reason });
      if (this.wanted && ev.code !== 4001) {
        this.timer = setTimeout(() => this.connect(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, 5000);
      }
    });
  }

  /** Sends now if the socket is ready, otherwise after the next welcome. */
  send(msg) {
    if (this.ready) this.sendNow(msg);
    else {
      this.queue.push(msg);
      this.connect();
    }
  }

  /** Sends only if connected; for messages that are useless later (live board states). */
  sendIfOpen(msg) {
    if (this.ready) this.sendNow(msg);
  }

  sendNow(msg) {
    try {
      this.ws.send(JSON.stringify(msg));
    } catch {
      // The close handler reconnects.
    }
  }

  setWatchScores(on) {
    this.watchScores = on;
    if (this.ready) this.sendNow({ type: on ? 'watch_scores' : 'unwatch_scores' });
    else if (on) this.connect();
  }
}

/** The shared connection of this page. */
export const connection = new Connection();
