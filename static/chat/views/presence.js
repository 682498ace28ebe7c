// Presence on the pages (docs/protocol.md, "Presence"): a dot on every avatar
// and in member lists, "last seen" on hover, live from `presence` frames; and
// this page's own status: `away` after a while without input, `online` on the
// next input.
//
// Avatars carry `data-user` (lib/util.js `avatar`, the templates); a
// MutationObserver dresses the ones views add later, so no view needs to know.

import { getJson, gettext, interpolate } from "../lib/util.js";

const INPUT_EVENTS = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart", "focus"];

const lastSeenFormat = new Intl.DateTimeFormat(document.documentElement.lang || "en", {
  dateStyle: "medium",
  timeStyle: "short",
});

export class PresenceStore {
  constructor(me) {
    this.me = me;
    this.users = new Map(); // id -> { status, last_active_at }
    // Ids seen on the page but not in the last answer (a new member, a
    // stranger): asked about once, with the next load.
    this.asked = new Set();
    this.reloading = null;
  }

  reloadSoon() {
    if (this.reloading) return;
    this.reloading = setTimeout(() => {
      this.reloading = null;
      this.load();
    }, 300);
  }

  async load() {
    try {
      const data = await getJson("/api/presence/");
      this.users.clear();
      for (const user of data.users) this.users.set(user.id, user);
      this.paint();
    } catch {
      /* the dots stay as they were; the next hello asks again */
    }
  }

  apply(frame) {
    this.users.set(frame.user.id, {
      id: frame.user.id,
      username: frame.user.username,
      status: frame.status,
      last_active_at: frame.last_active_at,
    });
    this.paint(frame.user.id);
  }

  statusOf(id) {
    return this.users.get(Number(id))?.status || "offline";
  }

  describe(id) {
    const user = this.users.get(Number(id));
    const status = user?.status || "offline";
    if (status === "online") return gettext("Online");
    const when = user?.last_active_at
      ? interpolate(gettext("last seen %(when)s"), {
          when: lastSeenFormat.format(new Date(user.last_active_at)),
        })
      : "";
    const label = status === "away" ? gettext("Away") : gettext("Offline");
    return when ? `${label} · ${when}` : label;
  }

  /** Dress every avatar of `id` (or all of them). */
  paint(id = null) {
    const selector = id === null ? "[data-user]" : `[data-user="${Number(id)}"]`;
    for (const node of document.querySelectorAll(selector)) this.dress(node);
  }

  dress(node) {
    const id = Number(node.dataset.user);
    if (!id || id === this.me.id) return;
    if (!this.users.has(id)) {
      // Someone new to me (asked about once), or a stranger: their presence
      // is not mine to see.
      if (!this.asked.has(id)) {
        this.asked.add(id);
        this.reloadSoon();
      }
      delete node.dataset.presence;
      node.removeAttribute("title");
      return;
    }
    node.dataset.presence = this.statusOf(id);
    node.title = this.describe(id);
  }

  /** Dress the avatars views add from now on. */
  observe(root = document.body) {
    new MutationObserver((changes) => {
      for (const change of changes) {
        for (const added of change.addedNodes) {
          if (added.nodeType !== Node.ELEMENT_NODE) continue;
          if (added.dataset?.user) this.dress(added);
          for (const node of added.querySelectorAll?.("[data-user]") || []) this.dress(node);
        }
      }
    }).observe(root, { childList: true, subtree: true });
  }
}

/** Sends `away` after `awayAfter` ms without input, `online` on the next input,
 * and the status again after each hello (a new connection starts online). */
export class IdleWatch {
  constructor(connection, awayAfter) {
    this.connection = connection;
    this.awayAfter = awayAfter;
    this.status = "online";
    this.timer = null;
    this.onInput = () => this.input();
  }

  start() {
    for (const name of INPUT_EVENTS) window.addEventListener(name, this.onInput, { passive: true, capture: true });
    this.arm();
  }

  arm() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.set("away"), this.awayAfter);
  }

  input() {
    if (this.status !== "online") this.set("online");
    this.arm();
  }

  set(status) {
    this.status = status;
    document.documentElement.dataset.presence = status; // for the tests
    this.connection.send({ type: "presence", status });
  }

  onHello() {
    if (this.status !== "online") this.connection.send({ type: "presence", status: this.status });
  }
}

export function bindPresence(data, connection) {
  const settings = data.presence;
  if (!settings?.enabled) return { onHello() {}, onFrame() {} };
  const store = new PresenceStore(data.me);
  const idle = new IdleWatch(connection, settings.away_after * 1000);
  store.observe();
  idle.start();
  window.chatPresence = store; // for the browser tests and the curious
  return {
    onHello() {
      idle.onHello();
      store.load();
    },
    onFrame(frame) {
      if (frame.type === "presence") store.apply(frame);
    },
  };
}
