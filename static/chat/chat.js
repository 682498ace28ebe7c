// The browser client of the chat: one ES module, no build step, no libraries.
//
// It talks to the server as docs/protocol.md says: one WebSocket on /ws/chat/
// authenticated by the session cookie, `sync` after every (re)connect, sends
// with a client_id that a retry repeats, and the HTTP API for history and the
// conversation lists. Every string a user wrote is put in the page as text
// (textContent), never as HTML. Translations come from Django's JavaScript
// catalog (/jsi18n/), loaded before this module.

const gettext = window.gettext || ((text) => text);
const ngettext =
  window.ngettext || ((one, many, count) => (count === 1 ? one : many));
const interpolate =
  window.interpolate ||
  ((format, values) => format.replace(/%\((\w+)\)s/g, (_, key) => values[key]));

const TYPING_SEND_EVERY_MS = 2000; // the server relays one per ~2 s anyway
const TYPING_SHOWN_MS = 6000;
const ACK_TIMEOUT_MS = 15000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const PAGE_SIZE = 50;

// --- small helpers -------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

function pageLocale() {
  const lang = document.documentElement.lang || "en";
  return lang.toLowerCase() === "zh-hans" ? "zh-Hans-CN" : lang;
}

const timeFormat = new Intl.DateTimeFormat(pageLocale(), {
  hour: "2-digit",
  minute: "2-digit",
});
const dateTimeFormat = new Intl.DateTimeFormat(pageLocale(), {
  dateStyle: "medium",
  timeStyle: "short",
});
const fullFormat = new Intl.DateTimeFormat(pageLocale(), {
  dateStyle: "full",
  timeStyle: "long",
});

function sameDay(a, b) {
  return (
    a.getFullYear() === b.getFullYear() &&
    a.getMonth() === b.getMonth() &&
    a.getDate() === b.getDate()
  );
}

/** A <time> element in the reader's time zone and language. */
function timeElement(iso, className = "when") {
  const date = new Date(iso);
  const node = el("time", { className, datetime: iso });
  setTime(node, date);
  return node;
}

function setTime(node, date) {
  if (Number.isNaN(date.getTime())) return;
  node.textContent = sameDay(date, new Date())
    ? timeFormat.format(date)
    : dateTimeFormat.format(date);
  node.title = fullFormat.format(date);
  node.setAttribute("datetime", date.toISOString());
}

/** Times the server rendered (in UTC) shown again in the reader's zone. */
function localizeTimes(root = document) {
  for (const node of root.querySelectorAll("time[datetime]")) {
    setTime(node, new Date(node.getAttribute("datetime")));
  }
}

function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const LINK = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"。，；：！？）]+$/;

/**
 * A message body as text nodes and links. Only http(s) URLs become links,
 * built as elements (never parsed from HTML), opening in a new tab without
 * giving it this page.
 */
function renderBody(body) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of body.matchAll(LINK)) {
    let text = match[0];
    const trailing = text.match(TRAILING);
    if (trailing) text = text.slice(0, -trailing[0].length);
    let url = null;
    try {
      url = new URL(text);
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:")) continue;
    fragment.append(document.createTextNode(body.slice(last, match.index)));
    fragment.append(
      el("a", {
        href: url.href,
        rel: "noopener noreferrer nofollow",
        target: "_blank",
        text,
      }),
    );
    last = match.index + text.length;
  }
  fragment.append(document.createTextNode(body.slice(last)));
  return fragment;
}

async function getJson(url) {
  const response = await fetch(url, {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) {
    const error = new Error(`HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// --- the connection ------------------------------------------------------------

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
class Connection {
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

function showState(state, sessions) {
  const node = document.getElementById("connection-state");
  if (!node) return;
  node.dataset.state = state;
  node.dataset.sessions = String(sessions); // how many sockets said hello
  node.textContent = STATE_TEXT[state]();
}

// --- my conversations, with unread counts ---------------------------------------

function unreadBadge(count) {
  if (!count) return null;
  return el("span", {
    className: "badge",
    "data-unread": count,
    text: interpolate(
      ngettext("%(count)s unread", "%(count)s unread", count),
      { count },
      true,
    ),
  });
}

function listItem({ key, href, name, isPrivate, unread, lastAt, current }) {
  const link = el(
    "a",
    { href, "aria-current": current ? "page" : null },
    el("span", { className: "name", text: name }),
  );
  if (isPrivate) link.append(" ", el("span", { className: "tag", text: gettext("private") }));
  const badge = unreadBadge(unread);
  if (badge) link.append(" ", badge);
  const item = el("li", { "data-key": key }, link);
  if (lastAt) item.append(" ", timeElement(lastAt));
  return item;
}

function fillList(list, items) {
  if (!list) return;
  if (items.length === 0) {
    list.replaceChildren(el("li", { className: "empty", text: list.dataset.empty }));
  } else {
    list.replaceChildren(...items);
  }
}

let listsAsked = 0;

/** Redraw my rooms and direct conversations from the API (the source of truth). */
async function refreshLists(data) {
  const roomList = document.getElementById("room-list");
  const directList = document.getElementById("direct-list");
  if (!roomList && !directList) return;
  const asked = ++listsAsked;
  try {
    const [rooms, directs] = await Promise.all([getJson("/api/rooms/"), getJson("/api/dm/")]);
    if (asked !== listsAsked) return; // a later answer is on its way
    const mine = rooms.filter((room) => room.member);
    mine.sort((a, b) => b.last_id - a.last_id || a.slug.localeCompare(b.slug));
    fillList(
      roomList,
      mine.map((room) =>
        listItem({
          key: `room:${room.slug}`,
          href: `/rooms/${encodeURIComponent(room.slug)}/`,
          name: room.title || room.slug,
          isPrivate: room.private,
          unread: room.unread,
          lastAt: room.last_message_at,
          current: data.room === room.slug,
        }),
      ),
    );
    fillList(
      directList,
      directs.map((direct) =>
        listItem({
          key: `dm:${direct.user.username}`,
          href: `/dm/${encodeURIComponent(direct.user.username)}/`,
          name: direct.user.username,
          unread: direct.unread,
          lastAt: direct.last_message_at,
          current: data.to === direct.user.username,
        }),
      ),
    );
  } catch {
    // Offline or logged out: the lists stay as they were.
  }
}

// --- one conversation ------------------------------------------------------------

const ERROR_TEXT = {
  empty: () => gettext("Write something first."),
  too_long: () => gettext("Too long: at most 4,000 characters."),
  forbidden: () => gettext("You cannot write here."),
  not_found: () => gettext("This conversation no longer exists."),
  unavailable: () => gettext("The server cannot store messages right now."),
};

class ConversationView {
  constructor(data) {
    this.data = data;
    this.me = data.me;
    this.room = data.room; // slug, or null in a direct conversation
    this.to = data.to; // the other username, or null in a room
    this.key = this.room ? `room:${this.room}` : `dm:${this.to}`;
    this.cursor = data.cursor || 0; // the newest id seen, for `sync`
    this.list = document.getElementById("messages");
    this.log = document.getElementById("log");
    this.byId = new Map(); // message id -> <li>
    this.pending = new Map(); // client_id -> {body, li, state, sentAt}
    this.oldestId = null;
    this.hasOlder = false;
    this.loadingOlder = false;
    this.readSent = data.read_id || 0;
    this.typers = new Map(); // username -> timer
    this.lastTypingSent = 0;
    this.members = new Set();
    this.syncing = false;
    this.refreshLists = debounce(() => refreshLists(this.data), 300);
    this.connection = new Connection({
      onHello: (hello) => this.onHello(hello),
      onFrame: (frame) => this.onFrame(frame),
      onState: (state, sessions) => this.onState(state, sessions),
    });
  }

  start() {
    this.bindComposer();
    this.bindLog();
    this.restoreOutbox();
    this.loadHistory();
    if (this.room) this.loadMembers();
    this.connection.connect();
    document.addEventListener("visibilitychange", () => this.markRead());
    window.addEventListener("focus", () => this.markRead());
    window.addEventListener("pagehide", () => this.flushRead());
  }

  // --- what belongs here

  isMine(frame) {
    if (this.room) return frame.room === this.room;
    if (frame.room !== null || !frame.recipient) return false;
    const names = [frame.sender.username, frame.recipient.username];
    return names.includes(this.to) && names.includes(this.me.username);
  }

  target() {
    return this.room ? { room: this.room } : { to: this.to };
  }

  apiBase() {
    return this.room
      ? `/api/rooms/${encodeURIComponent(this.room)}`
      : `/api/dm/${encodeURIComponent(this.to)}`;
  }

  // --- the socket

  onState(state, sessions) {
    showState(state, sessions);
    for (const entry of this.pending.values()) this.drawStatus(entry);
  }

  onHello() {
    // Everything after the newest id this page has seen, in every conversation:
    // what came while it was away, and what it sent and never heard back about.
    this.sync(this.cursor);
    this.refreshLists();
  }

  sync(after) {
    this.syncing = true;
    this.connection.send({ type: "sync", after, limit: 200 });
  }

  onFrame(frame) {
    switch (frame.type) {
      case "message":
        this.cursor = Math.max(this.cursor, frame.id);
        if (this.isMine(frame)) this.addMessage(frame, { live: true });
        else this.refreshLists();
        break;
      case "ack":
        this.acknowledged(frame.client_id, frame.id);
        break;
      case "sync.done":
        this.cursor = Math.max(this.cursor, frame.last_id);
        if (frame.more) {
          this.sync(frame.last_id);
        } else {
          this.syncing = false;
          this.flushOutbox();
          this.markRead();
        }
        break;
      case "typing":
        this.onTyping(frame);
        break;
      case "read":
        // From this tab or another one: the lists' unread counts follow.
        if (this.room ? frame.room === this.room : frame.with?.username === this.to) {
          this.readSent = Math.max(this.readSent, frame.id);
        }
        this.refreshLists();
        break;
      case "room.joined":
      case "room.left":
        if (frame.room === this.room) this.setMember(frame.type === "room.joined");
        this.refreshLists();
        break;
      case "error":
        if (frame.client_id && this.pending.has(frame.client_id)) {
          this.failed(frame.client_id, frame.code);
        }
        break;
      default:
        break;
    }
  }

  setMember(isMember) {
    const composer = document.getElementById("composer");
    for (const control of composer.querySelectorAll("textarea, button")) {
      control.disabled = !isMember;
    }
    const note = document.getElementById("history-note");
    note.textContent = isMember ? "" : gettext("You are no longer a member of this room.");
  }

  // --- messages in the page

  nearBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
  }

  scrollToBottom() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  drawMessage(message, { pendingEntry = null } = {}) {
    const mine = message.sender.id === this.me.id;
    const li = el("li", { className: mine ? "message mine" : "message" });
    const meta = el(
      "div",
      { className: "meta" },
      el("span", { className: "sender", text: message.sender.username }),
      timeElement(message.created_at || new Date().toISOString()),
    );
    const body = el("p", { className: "body" });
    body.append(renderBody(message.body));
    li.append(meta, body);
    if (pendingEntry) li.append(el("span", { className: "status", role: "status" }));
    return li;
  }

  /** Put a stored message in its place by id, once. */
  place(li, id) {
    li.dataset.id = String(id);
    delete li.dataset.pending;
    for (const other of this.list.children) {
      if (other.dataset.pending !== undefined || Number(other.dataset.id) > id) {
        this.list.insertBefore(li, other);
        return;
      }
    }
    this.list.append(li);
  }

  addMessage(message, { live = false } = {}) {
    if (this.byId.has(message.id)) {
      // Seen already (live and sync overlap): only the server's time is news.
      const time = this.byId.get(message.id).querySelector("time");
      if (time && message.created_at) setTime(time, new Date(message.created_at));
      return;
    }
    if (message.sender.id === this.me.id && this.pending.has(message.client_id)) {
      this.acknowledged(message.client_id, message.id, message);
      return;
    }
    const stick = this.nearBottom();
    const li = this.drawMessage(message);
    this.byId.set(message.id, li);
    this.place(li, message.id);
    if (this.oldestId === null || message.id < this.oldestId) this.oldestId = message.id;
    if (!this.members.has(message.sender.username)) this.noteSender(message.sender.username);
    if (live) {
      this.stopTyping(message.sender.username);
      if (stick) this.scrollToBottom();
      this.markRead();
    }
  }

  // --- history

  async loadHistory() {
    const note = document.getElementById("history-note");
    try {
      const page = await getJson(`${this.apiBase()}/messages/?limit=${PAGE_SIZE}`);
      for (const message of page.messages) this.addMessage(message);
      this.hasOlder = page.more;
      this.showOlderButton();
      this.scrollToBottom();
      this.markRead();
      if (!page.messages.length && !this.pending.size) {
        note.textContent = gettext("No messages yet. Say hello!");
      }
    } catch {
      note.textContent = gettext("Could not load the history. It will come with the connection.");
    }
  }

  showOlderButton() {
    document.getElementById("load-older").hidden = !this.hasOlder;
  }

  async loadOlder() {
    if (!this.hasOlder || this.loadingOlder || this.oldestId === null) return;
    this.loadingOlder = true;
    const before = this.log.scrollHeight;
    const top = this.log.scrollTop;
    try {
      const page = await getJson(
        `${this.apiBase()}/messages/?before=${this.oldestId}&limit=${PAGE_SIZE}`,
      );
      for (const message of page.messages) this.addMessage(message);
      this.hasOlder = page.more;
      this.showOlderButton();
      // Keep the messages being read where they were.
      this.log.scrollTop = top + (this.log.scrollHeight - before);
    } catch {
      // Tried again on the next scroll.
    } finally {
      this.loadingOlder = false;
    }
  }

  bindLog() {
    this.log.addEventListener("scroll", () => {
      if (this.log.scrollTop < 60) this.loadOlder();
      if (this.nearBottom()) this.markRead();
    });
    document.getElementById("load-older").addEventListener("click", () => this.loadOlder());
  }

  // --- read positions

  newestId() {
    let newest = 0;
    for (const id of this.byId.keys()) newest = Math.max(newest, id);
    return newest;
  }

  /** Send the read position now, and at most twice a second after that. */
  markRead() {
    if (this.readTimer) {
      this.readAgain = true;
      return;
    }
    this.flushRead();
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      if (this.readAgain) {
        this.readAgain = false;
        this.flushRead();
      }
    }, 500);
  }

  flushRead() {
    if (document.visibilityState !== "visible" || !this.nearBottom()) return;
    const newest = this.newestId();
    if (newest <= this.readSent) return;
    if (this.connection.send({ type: "read", ...this.target(), id: newest })) {
      this.readSent = newest;
    }
  }

  // --- members and typing

  async loadMembers() {
    try {
      const members = await getJson(`${this.apiBase()}/members/`);
      this.members = new Set(members.map((m) => m.user.username));
      const list = document.getElementById("members");
      list.replaceChildren(
        ...members.map((m) =>
          el(
            "li",
            {},
            m.user.username,
            m.role === "owner" ? el("span", { className: "tag", text: gettext("owner") }) : null,
          ),
        ),
      );
      for (const tag of list.querySelectorAll(".tag")) tag.before(" ");
    } catch {
      // Not a member (any more), or offline: the list stays.
    }
  }

  noteSender(username) {
    if (this.room) {
      this.members.add(username);
      this.loadMembers();
    }
  }

  onTyping(frame) {
    const inHere = this.room
      ? frame.room === this.room
      : frame.room === null && frame.user.username === this.to;
    if (!inHere || frame.user.id === this.me.id) return;
    const name = frame.user.username;
    clearTimeout(this.typers.get(name));
    this.typers.set(
      name,
      setTimeout(() => this.stopTyping(name), TYPING_SHOWN_MS),
    );
    this.drawTyping();
  }

  stopTyping(name) {
    if (!this.typers.has(name)) return;
    clearTimeout(this.typers.get(name));
    this.typers.delete(name);
    this.drawTyping();
  }

  drawTyping() {
    const names = [...this.typers.keys()];
    const node = document.getElementById("typing");
    if (names.length === 0) node.textContent = "";
    else if (names.length === 1)
      node.textContent = interpolate(gettext("%(name)s is typing…"), { name: names[0] }, true);
    else if (names.length === 2)
      node.textContent = interpolate(
        gettext("%(first)s and %(second)s are typing…"),
        { first: names[0], second: names[1] },
        true,
      );
    else node.textContent = gettext("Several people are typing…");
  }

  // --- sending

  bindComposer() {
    const form = document.getElementById("composer");
    const box = document.getElementById("message-body");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit(box);
    });
    box.addEventListener("keydown", (event) => {
      // Enter sends; Shift+Enter is a new line; Enter that ends an input
      // method's composition (Chinese, Japanese) only confirms the characters.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        this.submit(box);
      }
    });
    box.addEventListener("input", () => {
      const now = Date.now();
      if (box.value.trim() && now - this.lastTypingSent > TYPING_SEND_EVERY_MS) {
        if (this.connection.send({ type: "typing", ...this.target() })) this.lastTypingSent = now;
      }
    });
  }

  submit(box) {
    const body = box.value;
    if (!body.trim()) return;
    box.value = "";
    document.getElementById("history-note").textContent = "";
    const entry = { clientId: newClientId(), body, state: "pending", sentAt: 0 };
    this.addPending(entry);
    this.saveOutbox();
    this.transmit(entry);
    this.scrollToBottom();
  }

  addPending(entry) {
    entry.li = this.drawMessage(
      { sender: this.me, body: entry.body, created_at: new Date().toISOString() },
      { pendingEntry: entry },
    );
    entry.li.dataset.pending = entry.clientId;
    this.pending.set(entry.clientId, entry);
    this.list.append(entry.li);
    this.drawStatus(entry);
  }

  transmit(entry) {
    entry.state = "pending";
    // While syncing, wait: the sync may show it was stored already.
    if (!this.syncing) {
      const frame = {
        type: "message.send",
        ...this.target(),
        body: entry.body,
        client_id: entry.clientId,
      };
      if (this.connection.send(frame)) {
        entry.sentAt = Date.now();
        clearTimeout(entry.timer);
        entry.timer = setTimeout(() => {
          // No ack on an open socket: it is not working. A new one syncs and
          // sends this again with the same client_id (stored at most once).
          if (this.pending.get(entry.clientId) === entry && entry.state === "pending") {
            this.connection.drop();
            this.connection.scheduleReconnect();
          }
        }, ACK_TIMEOUT_MS);
      }
    }
    this.drawStatus(entry);
  }

  drawStatus(entry) {
    const status = entry.li.querySelector(".status");
    if (!status) return;
    entry.li.classList.toggle("failed", entry.state === "failed");
    if (entry.state === "failed") {
      const retry = el("button", {
        type: "button",
        className: "link-button retry",
        text: gettext("Retry"),
      });
      retry.addEventListener("click", () => this.transmit(entry));
      status.replaceChildren(
        interpolate(gettext("Not sent: %(reason)s"), { reason: entry.reason }, true),
        " ",
        retry,
      );
    } else if (this.connection.state === "connected") {
      status.textContent = gettext("Sending…");
    } else {
      status.textContent = gettext("Waiting for the connection…");
    }
  }

  failed(clientId, code) {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    clearTimeout(entry.timer);
    entry.state = "failed";
    entry.reason = (ERROR_TEXT[code] || (() => gettext("the server refused it.")))();
    this.drawStatus(entry);
  }

  /** The server holds it: the pending line becomes the stored message. */
  acknowledged(clientId, id, message = null) {
    const entry = this.pending.get(clientId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(clientId);
    this.saveOutbox();
    this.cursor = Math.max(this.cursor, id);
    if (this.byId.has(id)) {
      entry.li.remove();
      return;
    }
    entry.li.querySelector(".status")?.remove();
    entry.li.classList.remove("failed");
    if (message?.created_at) setTime(entry.li.querySelector("time"), new Date(message.created_at));
    this.byId.set(id, entry.li);
    this.place(entry.li, id);
    this.markRead();
  }

  flushOutbox() {
    for (const entry of this.pending.values()) {
      if (entry.state === "pending") this.transmit(entry);
    }
  }

  // Un-acked messages survive a reload of the page (same tab).
  outboxKey() {
    return `chat-outbox:${this.me.id}:${this.key}`;
  }

  saveOutbox() {
    const entries = [...this.pending.values()].map((e) => ({ clientId: e.clientId, body: e.body }));
    try {
      if (entries.length) sessionStorage.setItem(this.outboxKey(), JSON.stringify(entries));
      else sessionStorage.removeItem(this.outboxKey());
    } catch {
      // Storage full or disabled: the page still works, a reload may lose it.
    }
  }

  restoreOutbox() {
    let saved = [];
    try {
      saved = JSON.parse(sessionStorage.getItem(this.outboxKey()) || "[]");
    } catch {
      saved = [];
    }
    for (const { clientId, body } of saved) {
      if (typeof clientId === "string" && typeof body === "string") {
        this.addPending({ clientId, body, state: "pending", sentAt: 0 });
      }
    }
  }
}

// --- the home page ------------------------------------------------------------------

function startHome(data) {
  const refresh = debounce(() => refreshLists(data), 300);
  const connection = new Connection({
    onHello: () => refresh(),
    onFrame: (frame) => {
      if (["message", "read", "room.joined", "room.left"].includes(frame.type)) refresh();
    },
    onState: showState,
  });
  connection.connect();
}

// --- start ----------------------------------------------------------------------

function start() {
  localizeTimes();
  const script = document.getElementById("page-data");
  if (!script) return;
  const data = JSON.parse(script.textContent);
  if (data.page === "conversation") {
    const view = new ConversationView(data);
    window.chatView = view; // for the browser tests and the curious
    view.start();
  } else if (data.page === "home") {
    startHome(data);
  }
}

start();
