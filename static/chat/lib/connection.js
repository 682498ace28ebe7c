// The connection and its resume: one WebSocket on /ws/chat/ (session cookie)
// that answers heartbeats, treats a socket silent for 2.5 heartbeats as dead,
// and comes back with exponential back-off and jitter. What to do after each
// `hello` (sync, resend) is the caller's: see views/conversation.js.

import { gettext } from "./util.js";

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;

const STATE_TEXT = {
  connecting: () => gettext("Connecting…"),
  connected: () => gettext("Connected"),
  reconnecting: () => gettext("Reconnecting…"),
  offline: () => gettext("Offline: waiting for the network"),
  closed: () => gettext("Signed out: log in again"),
};

/**
 * One WebSocket that comes back: answers and watches heartbeats, reconnects
 * with exponential back-off and jitter, and says what state it is in.
 */
export class Connection {
  constructor({ onFrame, onHello, onState }) {
    this.onFrame = onFrame;
    this.onHello = onHello;
    this.onState = onState;
    this.ws = null;
    this.ready = false; // hello received on the current socket
    this.attempt = 0;
    this.heartbeatMs = 25000;
    this.lastHeard = Date.now();
    this.retryTimer = null;
    this.state = null;
    this.sessions = 0; // sockets that got as far as hello
    this.stopped = false;
    setInterval(() => this.watch(), 1000);
    window.addEventListener("online", () => this.reconnectNow());
    window.addEventListener("offline", () => {
      this.drop();
      this.setState("offline");
    });
  }

  get url() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/ws/chat/`;
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state, this.sessions);
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.setState(this.attempt === 0 && !this.everReady ? "connecting" : "reconnecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.ready = false;
    this.lastHeard = Date.now();
    ws.onmessage = (event) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      const text = event.data;
      if (typeof text !== "string") return;
      if (text === "ping") {
        ws.send("pong");
        return;
      }
      if (text === "pong") return;
      let frame;
      try {
        frame = JSON.parse(text);
      } catch {
        return;
      }
      if (frame.type === "hello") {
        this.heartbeatMs = Math.max(1, Number(frame.heartbeat) || 25) * 1000;
        this.ready = true;
        this.everReady = true;
        this.attempt = 0;
        this.sessions += 1;
        this.state = null; // a new session is news even if the state looks the same
        this.setState("connected");
        this.onHello(frame);
        return;
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.ready = false;
      if (event.code === 4401) {
        this.stopped = true;
        this.setState("closed");
        return;
      }
      this.scheduleReconnect();
    };
  }

  /** Forget the current socket (it is dead or the network is gone). */
  drop() {
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      try {
        ws.close();
      } catch {
        // already closing
      }
    }
  }

  scheduleReconnect() {
    if (this.stopped) return;
    if (navigator.onLine === false) {
      this.setState("offline");
      return;
    }
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt += 1;
    this.setState("reconnecting");
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.stopped || this.ws) return;
    this.attempt = 0;
    this.connect();
  }

  /**
   * A socket silent for 2.5 heartbeats is dead, even if the browser thinks not;
   * so is one that has not said hello within 10 seconds of opening.
   */
  watch() {
    if (!this.ws) return;
    const limit = this.ready ? this.heartbeatMs * 2.5 : 10000;
    if (Date.now() - this.lastHeard > limit) {
      this.drop();
      this.scheduleReconnect();
    }
  }

  send(frame) {
    if (!this.ws || !this.ready || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }
}

export function showState(state, sessions) {
  const node = document.getElementById("connection-state");
  if (!node) return;
  node.dataset.state = state;
  node.dataset.sessions = String(sessions); // how many sockets said hello
  node.textContent = STATE_TEXT[state]();
}

