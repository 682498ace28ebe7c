// One open conversation: history, live messages, sending with pending /
// failed / retry until the `ack`, `sync` after every hello from the newest id
// seen (and the newest change id: edits, deletions, reactions) and a resend of
// what was never acknowledged (same client_id), read positions, members and
// typing. How messages change is views/message-changes.js's.

import {
  el,
  getJson,
  gettext,
  interpolate,
  newClientId,
} from "../lib/util.js";
import { ChangeCursor } from "../lib/changes.js";
import { MentionCompleter } from "./mentions.js";
import { MessageChanges } from "./message-changes.js";
import { AttachmentTray } from "./attachments.js";
import { MessageList } from "./messages.js";
import { showMuted } from "./muted.js";
import { ReplyBar } from "./reply.js";

const TYPING_SEND_EVERY_MS = 2000; // the server relays one per ~2 s anyway
const TYPING_SHOWN_MS = 6000;
const ACK_TIMEOUT_MS = 15000;
const PAGE_SIZE = 50;

/** The message a search result opened the page at (?around=<id>), or null. */
function aroundId() {
  const value = new URLSearchParams(window.location.search).get("around");
  return value && /^\d{1,19}$/.test(value) ? value : null;
}

const ERROR_TEXT = {
  empty: () => gettext("Write something first."),
  too_long: () => gettext("Too long: at most 4,000 characters."),
  forbidden: () => gettext("You cannot write here."),
  not_found: () => gettext("This conversation no longer exists."),
  unavailable: () => gettext("The server cannot store messages right now."),
  muted: () => gettext("You are muted in this room."),
};

export class ConversationView {
  constructor(data, { connection, store, announce }) {
    this.data = data;
    this.me = data.me;
    this.room = data.room; // slug, or null in a direct conversation
    this.to = data.to; // the other username, or null in a room
    this.key = this.room ? `room:${this.room}` : `dm:${this.to}`;
    this.cursor = data.cursor || 0; // the newest id seen, for `sync`
    this.connection = connection;
    this.store = store;
    this.announce = announce;
    this.log = document.getElementById("log");
    this.changeCursor = new ChangeCursor(data.last_change_id);
    this.changes = new MessageChanges(this, {
      moderator: Boolean(data.moderator),
      editWindow: Number(data.edit_window) || 0,
    });
    this.messages = new MessageList({
      list: document.getElementById("messages"),
      log: this.log,
      jump: document.getElementById("jump-latest"),
      me: this.me,
      parts: this.changes.parts(),
    });
    this.replyBar = null; // views/reply.js, made with the composer
    this.byId = new Map(); // message id -> <li>
    this.pending = new Map(); // client_id -> {body, li, state, sentAt}
    this.oldestId = null;
    this.hasOlder = false;
    this.loadingOlder = false;
    this.readAtOpen = data.read_id || 0;
    this.readSent = data.read_id || 0;
    this.typers = new Map(); // username -> timer
    this.lastTypingSent = 0;
    this.members = new Set();
    this.memberListeners = new Set();
    this.syncing = false;
    this.isMember = true;
  }

  start() {
    this.bindComposer();
    this.changes.bind(this.messages.list);
    this.bindLog();
    this.restoreOutbox();
    this.loadHistory();
    if (this.room) this.loadMembers();
    if (this.data.muted) showMuted(this.data.muted);
    document.addEventListener("visibilitychange", () => this.markRead());
    window.addEventListener("focus", () => this.markRead());
    window.addEventListener("pagehide", () => this.flushRead());
  }

  // --- what belongs here

  isHere(frame) {
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

  onState() {
    for (const entry of this.pending.values()) this.drawStatus(entry);
  }

  onHello(hello) {
    // Everything after the newest id this page has seen, in every conversation:
    // what came while it was away, and what it sent and never heard back about;
    // then every change after the newest change id it has seen.
    this.helloChangeId = hello?.last_change_id;
    this.changeCursor.noteHello(hello || {});
    this.sync(this.cursor);
  }

  sync(after) {
    this.syncing = true;
    this.connection.send({ type: "sync", after, limit: 200, ...this.changeCursor.syncFields() });
  }

  /**
   * The changes this page missed are kept no more (sync.reset): draw the
   * history again from the server, and count changes from this session's hello.
   */
  reloadHistory() {
    this.changeCursor = new ChangeCursor(this.helloChangeId);
    for (const li of this.byId.values()) li.remove();
    this.byId.clear();
    this.changes.state.clear();
    this.oldestId = null;
    this.loadHistory();
  }

  onFrame(frame) {
    switch (frame.type) {
      case "message":
        this.cursor = Math.max(this.cursor, frame.id);
        if (this.isHere(frame)) this.addMessage(frame, { live: true });
        break;
      case "ack":
        this.acknowledged(frame.client_id, frame.id);
        break;
      case "sync.done":
        this.cursor = Math.max(this.cursor, frame.last_id);
        this.changeCursor.note(frame.last_change_id);
        if (frame.more) {
          this.sync(frame.last_id);
        } else {
          this.syncing = false;
          this.flushOutbox();
          this.markRead();
        }
        break;
      case "message.edited":
      case "message.deleted":
      case "message.reactions":
        this.changeCursor.note(frame.change_id);
        this.changes.apply(frame);
        break;
      case "sync.reset":
        this.reloadHistory();
        break;
      case "typing":
        this.onTyping(frame);
        break;
      case "read":
        if (this.room ? frame.room === this.room : frame.with?.username === this.to) {
          this.readSent = Math.max(this.readSent, frame.id);
        }
        break;
      case "room.joined":
        if (frame.room === this.room) this.setMember(true);
        break;
      case "room.left":
        if (frame.room === this.room) this.setMember(false, frame.reason);
        break;
      case "error":
        if (frame.code === "muted") showMuted({ until: frame.until, reason: this.data.muted?.reason });
        if (frame.client_id && this.pending.has(frame.client_id)) {
          this.failed(frame.client_id, frame.code);
        }
        break;
      default:
        break;
    }
  }

  setMember(isMember, reason = null) {
    this.isMember = isMember;
    const composer = document.getElementById("composer");
    for (const control of composer.querySelectorAll("textarea, button")) {
      control.disabled = !isMember;
    }
    const note = document.getElementById("history-note");
    if (isMember) {
      note.textContent = "";
      return;
    }
    let text = gettext("You are no longer a member of this room.");
    if (reason === "kicked") text = gettext("You were removed from this room.");
    if (reason === "banned") text = gettext("You were banned from this room.");
    if (reason === "deleted") text = gettext("This room was deleted.");
    note.replaceChildren(
      el("span", { className: "left-notice", role: "alert", text }),
      " ",
      el("a", { href: "/", text: gettext("Back to your conversations") }),
    );
    this.log.scrollTop = 0;
  }

  // --- messages in the page

  addMessage(message, { live = false } = {}) {
    if (this.byId.has(message.id)) {
      // Seen already (live and sync overlap): its time and state may be news.
      if (message.created_at) this.messages.setTimeOf(this.byId.get(message.id), message.created_at);
      this.changes.refresh(message);
      return;
    }
    if (message.sender.id === this.me.id && this.pending.has(message.client_id)) {
      this.acknowledged(message.client_id, message.id, message);
      return;
    }
    const stick = this.messages.nearBottom();
    const stored = this.changes.remember(message);
    const li = this.messages.drawMessage(stored);
    this.byId.set(message.id, li);
    this.messages.place(li, message.id);
    if (this.messages.list.querySelector(`li.message[data-reply-to="${message.id}"]`)) {
      this.changes.redraw(message.id); // replies drawn before it quote it now
    }
    if (this.oldestId === null || message.id < this.oldestId) this.oldestId = message.id;
    if (!this.members.has(message.sender.username)) this.noteSender(message.sender.username);
    const fromOthers = message.sender.id !== this.me.id;
    if (fromOthers && !live && message.id > this.readAtOpen) {
      this.messages.markFirstUnread(message.id);
    }
    if (live) {
      this.stopTyping(message.sender.username);
      if (fromOthers) {
        if (document.visibilityState !== "visible" || !stick) {
          this.messages.markFirstUnread(message.id);
        }
        this.announce(
          interpolate(gettext("%(name)s: %(text)s"), {
            name: message.sender.username,
            text: message.body.slice(0, 200),
          }),
        );
      }
      if (stick) this.messages.scrollToBottom();
      this.markRead();
    }
  }

  /** Scroll to a message and highlight it, loading older pages until it is there. */
  async showMessage(id) {
    while (!this.byId.has(id) && this.hasOlder && this.oldestId !== null && id < this.oldestId) {
      const oldest = this.oldestId;
      await this.loadOlder();
      if (this.oldestId === oldest) break; // nothing more came
    }
    const li = this.byId.get(id);
    if (!li) return;
    li.scrollIntoView({ block: "center" });
    li.classList.remove("highlight");
    void li.offsetWidth; // start the highlight again if it is still on
    li.classList.add("highlight");
    setTimeout(() => li.classList.remove("highlight"), 2500);
    this.messages.showJump();
  }

  // --- history

  async loadHistory() {
    const note = document.getElementById("history-note");
    const around = aroundId();
    const query = around ? `around=${around}&limit=${PAGE_SIZE}` : `limit=${PAGE_SIZE}`;
    try {
      const page = await getJson(`${this.apiBase()}/messages/?${query}`);
      for (const message of page.messages) this.addMessage(message);
      this.hasOlder = page.more;
      this.showOlderButton();
      this.messages.layout();
      if (around) this.showFound(around, page.more_after);
      else this.scrollToFirstUnread();
      this.markRead();
      if (!page.messages.length && !this.pending.size) {
        note.textContent = gettext("No messages yet. Say hello!");
      }
    } catch {
      note.textContent = gettext("Could not load the history. It will come with the connection.");
    }
  }

  /** Scroll to the message a search result named and highlight it; say so if
   * newer messages are left out (the page is centred on it). */
  showFound(id, newerLeftOut) {
    const item = this.messages.list.querySelector(`li[data-id="${id}"]`);
    if (item) {
      item.classList.add("found");
      item.setAttribute("aria-current", "true");
      item.scrollIntoView({ block: "center" });
    }
    if (newerLeftOut) {
      const latest = el("a", { href: window.location.pathname, id: "open-latest" });
      latest.textContent = gettext("Newer messages are not shown: open the latest");
      document.getElementById("history-note").append(latest);
    }
  }

  /** Open at the divider if there is one above the fold, else at the end. */
  scrollToFirstUnread() {
    const divider = this.messages.list.querySelector("li.unread-divider");
    this.messages.scrollToBottom();
    if (divider && divider.offsetTop < this.log.scrollTop) {
      this.log.scrollTop = Math.max(0, divider.offsetTop - 40);
      this.messages.showJump();
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
      this.messages.layout();
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
      if (this.messages.nearBottom()) this.markRead();
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
    if (document.visibilityState !== "visible" || !this.messages.nearBottom()) return;
    const newest = this.newestId();
    if (newest <= this.readSent) return;
    if (this.connection.send({ type: "read", ...this.target(), id: newest })) {
      this.readSent = newest;
    }
  }

  // --- members and typing

  onMembers(listener) {
    this.memberListeners.add(listener);
  }

  async loadMembers() {
    try {
      const members = await getJson(`${this.apiBase()}/members/`);
      this.members = new Set(members.map((m) => m.user.username));
      for (const member of members) this.changes.notePerson(member.user);
      for (const listener of this.memberListeners) listener(members);
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
      node.textContent = interpolate(gettext("%(name)s is typing…"), { name: names[0] });
    else if (names.length === 2)
      node.textContent = interpolate(gettext("%(first)s and %(second)s are typing…"), {
        first: names[0],
        second: names[1],
      });
    else node.textContent = gettext("Several people are typing…");
  }

  // --- sending

  bindComposer() {
    const form = document.getElementById("composer");
    const box = document.getElementById("message-body");
    this.replyBar = new ReplyBar(form);
    this.completer = new MentionCompleter(box, {
      names: () => this.changes.names(),
      room: Boolean(this.room),
    });
    this.attachments = new AttachmentTray({ form, box, dropZone: form.closest("main") || form });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit(box);
    });
    box.addEventListener("keydown", (event) => {
      if (this.completer.handleKey(event)) return;
      // Up on an empty composer edits my last message; Escape drops a reply.
      if (event.key === "ArrowUp" && !box.value && !event.shiftKey && !event.isComposing) {
        if (this.changes.editLast()) event.preventDefault();
        return;
      }
      if (event.key === "Escape" && this.replyBar.replyTo !== null) {
        this.replyBar.clear();
        return;
      }
      // Enter sends; Shift+Enter is a new line; Enter that ends an input
      // method's composition (Chinese, Japanese) only confirms the characters.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        this.submit(box);
      }
    });
    box.addEventListener("input", () => {
      this.fitBox(box);
      const now = Date.now();
      if (box.value.trim() && now - this.lastTypingSent > TYPING_SEND_EVERY_MS) {
        if (this.connection.send({ type: "typing", ...this.target() })) this.lastTypingSent = now;
      }
    });
  }

  /** The box grows with its text, up to the CSS max-height. */
  fitBox(box) {
    box.style.height = "auto";
    box.style.height = `${box.scrollHeight + 2}px`;
  }

  submit(box) {
    const body = box.value;
    if (!body.trim() && !this.attachments.hasFiles()) return;
    const attachments = this.attachments.take();
    box.value = "";
    this.fitBox(box);
    document.getElementById("history-note").textContent = "";
    this.messages.clearDivider();
    const replyTo = this.replyBar.replyTo;
    this.replyBar.clear();
    const entry = { clientId: newClientId(), body, replyTo, attachments, state: "pending", sentAt: 0 };
    this.addPending(entry);
    this.saveOutbox();
    this.transmit(entry);
    this.messages.scrollToBottom();
  }

  addPending(entry) {
    entry.li = this.messages.drawMessage(
      {
        sender: this.me,
        body: entry.body,
        reply_to: entry.replyTo ?? null,
        attachments: entry.attachments,
        created_at: new Date().toISOString(),
      },
      { pending: true },
    );
    entry.li.dataset.pending = entry.clientId;
    this.pending.set(entry.clientId, entry);
    this.messages.appendPending(entry.li);
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
      if (entry.replyTo) frame.reply_to = entry.replyTo;
      if (entry.attachments?.length) frame.attachments = entry.attachments.map((file) => file.id);
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
        interpolate(gettext("Not sent: %(reason)s"), { reason: entry.reason }),
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
      this.messages.queueLayout();
      return;
    }
    entry.li.querySelector(".status")?.remove();
    entry.li.classList.remove("failed");
    if (message?.created_at) this.messages.setTimeOf(entry.li, message.created_at);
    const stored = this.changes.remember(
      message || {
        id,
        sender: this.me,
        body: entry.body,
        reply_to: entry.replyTo ?? null,
        created_at: entry.li.dataset.at,
      },
    );
    this.byId.set(id, entry.li);
    this.messages.place(entry.li, id);
    this.messages.fill(entry.li, stored);
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
    const entries = [...this.pending.values()].map((e) => ({
      clientId: e.clientId,
      body: e.body,
      replyTo: e.replyTo ?? null,
      attachments: e.attachments || [],
    }));
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
    for (const { clientId, body, replyTo, attachments } of saved) {
      if (typeof clientId === "string" && typeof body === "string") {
        const parent = typeof replyTo === "number" ? replyTo : null;
        const files = Array.isArray(attachments) ? attachments : [];
        this.addPending({ clientId, body, replyTo: parent, attachments: files, state: "pending", sentAt: 0 });
      }
    }
  }
}
