// The list of messages of one conversation: each drawn once (its Markdown
// rendered once), kept in id order, grouped by sender within a few minutes,
// with day separators in the reader's zone, a "new messages" divider at the
// first unread one, and a jump-to-latest button when scrolled up.
//
// Later issues add to a message here: `drawMessage` builds it, `update`
// redraws a body (edits), and `.message .extras` is where reactions go.

import { renderMarkdown } from "../lib/markdown.js";
import { avatar, dayKey, dayLabel, el, gettext, setTime, timeElement } from "../lib/util.js";

const GROUP_WITHIN_MS = 5 * 60 * 1000;

export class MessageList {
  constructor({ list, log, jump, me }) {
    this.list = list;
    this.log = log;
    this.jump = jump;
    this.me = me;
    this.dividerAt = null; // id of the first unread message, or null
    this.layoutQueued = false;
    this.jump.addEventListener("click", () => {
      this.scrollToBottom();
      this.log.focus({ preventScroll: true });
    });
    this.log.addEventListener("scroll", () => this.showJump());
  }

  nearBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
  }

  scrollToBottom() {
    this.log.scrollTop = this.log.scrollHeight;
    this.showJump();
  }

  showJump() {
    this.jump.hidden = this.nearBottom();
  }

  drawMessage(message, { pending = false } = {}) {
    const mine = message.sender.id === this.me.id;
    const at = message.created_at || new Date().toISOString();
    const li = el("li", {
      className: mine ? "message mine" : "message",
      "data-sender": message.sender.id,
      "data-at": at,
    });
    const meta = el(
      "div",
      { className: "meta" },
      el("span", { className: "sender", text: message.sender.username }),
      mine ? el("span", { className: "visually-hidden", text: gettext("(you)") }) : null,
      timeElement(at, { timeOnly: true }),
    );
    const body = el("div", { className: "body" });
    body.append(renderMarkdown(message.body));
    const content = el("div", { className: "content" }, meta, body);
    if (pending) content.append(el("span", { className: "status", role: "status" }));
    li.append(avatar(message.sender), content);
    return li;
  }

  /** Put a stored message in its place by id (pending ones stay last). */
  place(li, id) {
    li.dataset.id = String(id);
    delete li.dataset.pending;
    let before = null;
    for (const other of this.list.querySelectorAll("li.message")) {
      if (other.dataset.pending !== undefined || Number(other.dataset.id) > id) {
        before = other;
        break;
      }
    }
    if (before) this.list.insertBefore(li, before);
    else this.list.append(li);
    this.queueLayout();
  }

  appendPending(li) {
    this.list.append(li);
    this.queueLayout();
  }

  setTimeOf(li, iso) {
    li.dataset.at = iso;
    const time = li.querySelector(".meta time");
    if (time) setTime(time, new Date(iso));
    this.queueLayout();
  }

  /** The divider goes before this message (the first one not read yet). */
  markFirstUnread(id) {
    if (this.dividerAt !== null && this.dividerAt <= id) return;
    this.dividerAt = id;
    this.queueLayout();
  }

  clearDivider() {
    if (this.dividerAt === null) return;
    this.dividerAt = null;
    this.queueLayout();
  }

  /** Separators and grouping, once after a batch of changes. */
  queueLayout() {
    if (this.layoutQueued) return;
    this.layoutQueued = true;
    queueMicrotask(() => {
      this.layoutQueued = false;
      this.layout();
    });
  }

  layout() {
    const stick = this.nearBottom();
    for (const node of this.list.querySelectorAll("li.day-separator, li.unread-divider")) {
      node.remove();
    }
    let previous = null;
    let previousDay = null;
    let dividerPlaced = false;
    for (const li of [...this.list.querySelectorAll("li.message")]) {
      const at = new Date(li.dataset.at);
      const day = dayKey(at);
      let breakGroup = false;
      if (day !== previousDay) {
        li.before(
          el(
            "li",
            { className: "day-separator", role: "separator", "aria-label": dayLabel(at) },
            el("span", { text: dayLabel(at), "aria-hidden": "true" }),
          ),
        );
        previousDay = day;
        breakGroup = true;
      }
      const id = li.dataset.id === undefined ? null : Number(li.dataset.id);
      if (!dividerPlaced && this.dividerAt !== null && id !== null && id >= this.dividerAt) {
        li.before(
          el(
            "li",
            { className: "unread-divider", role: "separator", "aria-label": gettext("New messages") },
            el("span", { text: gettext("New messages"), "aria-hidden": "true" }),
          ),
        );
        dividerPlaced = true;
        breakGroup = true;
      }
      const continued =
        !breakGroup &&
        previous !== null &&
        previous.dataset.sender === li.dataset.sender &&
        at - new Date(previous.dataset.at) < GROUP_WITHIN_MS;
      li.classList.toggle("continued", continued);
      previous = li;
    }
    if (stick) this.log.scrollTop = this.log.scrollHeight;
    this.showJump();
  }
}
