// The store of my conversations: rooms and direct conversations with their
// unread counts, unread mentions of me and last activity (from /api/rooms/ and /api/dm/, the source
// of truth), and which of them I muted. Views subscribe and redraw.
//
// Mutes are kept in this browser's localStorage, per user: a mute silences
// the tab title, the favicon count and desktop notifications here.

import { debounce, getJson } from "./util.js";

export function roomKey(slug) {
  return `room:${slug}`;
}

export function directKey(username) {
  return `dm:${username}`;
}

export class ConversationStore {
  constructor(me) {
    this.me = me;
    this.rooms = []; // {key, slug, title, private, unread, lastAt, lastId, href}
    this.directs = []; // {key, user, unread, lastAt, lastId, href}
    this.loaded = false;
    this.listeners = new Set();
    this.asked = 0;
    this.muted = new Set(this.readMutes());
    this.refreshSoon = debounce(() => this.refresh(), 300);
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit() {
    for (const listener of this.listeners) listener(this);
  }

  all() {
    return [...this.rooms, ...this.directs];
  }

  find(key) {
    return this.all().find((c) => c.key === key) || null;
  }

  /** Unread messages in conversations that are not muted. */
  unreadTotal() {
    return this.all().reduce((sum, c) => sum + (this.isMuted(c.key) ? 0 : c.unread), 0);
  }

  async refresh() {
    const asked = ++this.asked;
    try {
      const [rooms, directs] = await Promise.all([getJson("/api/rooms/"), getJson("/api/dm/")]);
      if (asked !== this.asked) return; // a later answer is on its way
      this.rooms = rooms
        .filter((room) => room.member)
        .sort((a, b) => b.last_id - a.last_id || a.slug.localeCompare(b.slug))
        .map((room) => ({
          key: roomKey(room.slug),
          kind: "room",
          slug: room.slug,
          name: room.title || room.slug,
          private: room.private,
          unread: room.unread,
          mentions: room.mentions || 0,
          lastAt: room.last_message_at,
          lastId: room.last_id,
          href: `/rooms/${encodeURIComponent(room.slug)}/`,
        }));
      this.directs = directs.map((direct) => ({
        key: directKey(direct.user.username),
        kind: "direct",
        user: direct.user,
        name: direct.user.username,
        unread: direct.unread,
        mentions: direct.mentions || 0,
        lastAt: direct.last_message_at,
        lastId: direct.last_id,
        href: `/dm/${encodeURIComponent(direct.user.username)}/`,
      }));
      this.loaded = true;
      this.emit();
    } catch {
      // Offline or logged out: the lists stay as they were.
    }
  }

  /** Drop a conversation at once (room.left), before the API says so. */
  forget(key) {
    this.rooms = this.rooms.filter((c) => c.key !== key);
    this.directs = this.directs.filter((c) => c.key !== key);
    this.emit();
  }

  /** A room's new title or privacy (room.updated), in place. */
  updateRoom(room) {
    const found = this.find(roomKey(room.slug));
    if (!found) return;
    if (room.title !== undefined) found.name = room.title || room.slug;
    if (room.private !== undefined) found.private = room.private;
    this.emit();
  }

  // --- mutes

  mutesKey() {
    return `chat-muted:${this.me.id}`;
  }

  readMutes() {
    try {
      const saved = JSON.parse(localStorage.getItem(this.mutesKey()) || "[]");
      return Array.isArray(saved) ? saved.filter((k) => typeof k === "string") : [];
    } catch {
      return [];
    }
  }

  isMuted(key) {
    return this.muted.has(key);
  }

  setMuted(key, muted) {
    if (muted) this.muted.add(key);
    else this.muted.delete(key);
    try {
      localStorage.setItem(this.mutesKey(), JSON.stringify([...this.muted]));
    } catch {
      // Storage disabled: the mute lasts as long as the page.
    }
    this.emit();
  }
}
