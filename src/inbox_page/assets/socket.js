// The inbox WebSocket (docs/inbox-protocol.md): one connection at a time, each with a fresh
// one-time ticket (browsers cannot set headers on a WebSocket). After a drop it reconnects with
// exponential backoff and resumes from the last `seq` it saw, so no event is missed and none is
// applied twice. Commands return promises settled by their `ack` or `error`.

const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 15000;
const COMMAND_TIMEOUT_MS = 15000;

/** A command refused by the server ({type: 'error', code, message}). */
export class CommandError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class InboxSocket {
  /**
   * onEvent(event): each event once, in `seq` order. onStatus(status): 'connecting',
   * 'connected', 'reconnecting' or 'offline'. onReady({first}): subscribed (again).
   */
  constructor({ api, onEvent, onStatus, onReady }) {
    this.api = api;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onReady = onReady;
    this.ws = null;
    this.connecting = false;
    this.status = 'offline';
    this.lastSeq = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.everReady = false;
    this.nextId = 1;
    this.pending = new Map();
    this.subscribeId = null;
    this.handleOnline = () => this.reconnectNow();
    this.handleOffline = () => this.wentOffline();
  }

  get connected() {
    return this.status === 'connected';
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.handleOnline);
    window.addEventListener('offline', this.handleOffline);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.handleOnline);
    window.removeEventListener('offline', this.handleOffline);
    clearTimeout(this.timer);
    this.close();
    this.setStatus('offline');
  }

  /** Drops the connection as a network failure would (it reconnects by itself). */
  drop() {
    if (this.ws) this.ws.close(4000, 'dropped by the client');
  }

  /** Sends a command; resolves with its ack, rejects with a CommandError. */
  command(type, fields = {}) {
    if (!this.connected || !this.ws) {
      return Promise.reject(new CommandError('not_connected', 'The live connection is down.'));
    }
    const id = `c${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandError('timeout', 'The server did not answer in time.'));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ type, id, ...fields }));
    });
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.onStatus(status);
  }

  async connect() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.setStatus('offline');
      return;
    }
    if (this.connecting || this.ws) return;
    this.setStatus(this.everReady ? 'reconnecting' : 'connecting');
    this.connecting = true;
    let ticket;
    try {
      ticket = (await this.api.post('/api/v1/inbox/tickets')).ticket;
    } catch (error) {
      this.connecting = false;
      if (error.status === 401 || error.status === 403) return; // the session is over
      this.retry();
      return;
    }
    this.connecting = false;
    if (this.stopped || this.ws) return;
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}/ws/inbox?ticket=${encodeURIComponent(ticket)}`);
    this.ws = ws;
    ws.onmessage = (message) => {
      if (this.ws === ws) this.receive(message.data);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.failPending();
      this.retry();
    };
  }

  receive(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    if (frame.type === 'hello') {
      if (this.lastSeq === null) this.lastSeq = frame.cursor;
      this.subscribeId = `s${this.nextId++}`;
      this.ws.send(JSON.stringify({ type: 'subscribe', id: this.subscribeId, cursor: this.lastSeq }));
      return;
    }
    if (frame.type === 'ack' && frame.id === this.subscribeId) {
      if (typeof frame.cursor === 'number') this.lastSeq = Math.max(this.lastSeq, frame.cursor);
      const first = !this.everReady;
      this.everReady = true;
      this.attempt = 0;
      this.setStatus('connected');
      this.onReady({ first });
      return;
    }
    if (frame.type === 'ack' || frame.type === 'error') {
      const waiting = frame.id && this.pending.get(frame.id);
      if (!waiting) return;
      this.pending.delete(frame.id);
      clearTimeout(waiting.timer);
      if (frame.type === 'ack') waiting.resolve(frame);
      else waiting.reject(new CommandError(frame.code, frame.message));
      return;
    }
    if (typeof frame.seq === 'number') {
      if (frame.seq <= this.lastSeq) return;
      this.lastSeq = frame.seq;
      this.onEvent(frame);
    }
  }

  failPending() {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new CommandError('disconnected', 'The connection dropped before the server answered.'));
      this.pending.delete(id);
    }
  }

  retry() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    if (!navigator.onLine) {
      this.setStatus('offline');
      return;
    }
    this.setStatus(this.everReady ? 'reconnecting' : 'connecting');
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** this.attempt);
    this.attempt += 1;
    const delay = base * (0.75 + Math.random() * 0.5);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.ws || this.connecting) return;
    this.attempt = 0;
    this.connect();
  }

  wentOffline() {
    this.setStatus('offline');
    this.close();
  }

  close() {
    const ws = this.ws;
    this.ws = null;
    this.failPending();
    if (ws) ws.close(1000, 'bye');
  }
}
