// The list of messages of one conversation: each drawn once (its Markdown
// rendered once), kept in id order, grouped by sender within a few minutes,
// with day separators in the reader's zone, a "new messages" divider at the
// first unread one, and a jump-to-latest button when scrolled up.
//
// A message that changes (edits, deletion, reactions) is drawn again in place
// by `fill`: its body or tombstone, "(edited)", the quote of the message it
// replies to, its reactions and the actions it offers. What those parts hold
// comes from `parts` (views/conversation.js knows the people and the parents).

import { renderMarkdown } from "../lib/markdown.js";
import { renderAttachments } from "./attachments.js";
import { avatar, dayKey, dayLabel, el, gettext, setTime, timeElement } from "../lib/util.js";

const GROUP_WITHIN_MS = 5 * 60 * 1000;

export class MessageList {
  constructor({ list, log, jump, me, parts = {} }) {
    this.parts = parts; // {quote, reactions, actions, markBody}(message) -> node or null
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
    const content = el(
      "div",
      { className: "content" },
      meta,
      el("div", { className: "quote-slot" }),
      el("div", { className: "body" }),
      el("div", { className: "extras" }),
    );
    const files = renderAttachments(message.attachments);
    if (files) content.insertBefore(files, content.querySelector(".extras"));
    if (pending) content.append(el("span", { className: "status", role: "status" }));
    li.append(avatar(message.sender), content);
    this.fill(li, message, { pending });
    return li;
  }

  /** Draw again what may change in a message: after an edit, a deletion, a reaction. */
  fill(li, message, { pending = false } = {}) {
    const deleted = Boolean(message.deleted);
    li.classList.toggle("deleted", deleted);
    li.classList.toggle("mentions-me", !deleted && (message.mentions || []).includes(this.me.id));
    if (message.reply_to) li.dataset.replyTo = String(message.reply_to);
    else delete li.dataset.replyTo;
    const body = li.querySelector(".body");
    if (deleted) {
      body.replaceChildren(
        el("p", { className: "tombstone", text: gettext("This message was deleted") }),
      );
    } else {
      const fragment = renderMarkdown(message.body);
      body.replaceChildren(this.parts.markBody ? this.parts.markBody(fragment, message) : fragment);
      if (message.edited_at) {
        const last = body.lastElementChild;
        const holder = last?.tagName === "P" ? last : body;
        holder.append(" ", this.editedMark(message.edited_at));
      }
    }
    const slot = li.querySelector(".quote-slot");
    slot.replaceChildren();
    const quote = !deleted && message.reply_to && this.parts.quote?.(message);
    if (quote) slot.append(quote);
    const extras = li.querySelector(".extras");
    extras.replaceChildren();
    const reactions = !deleted && this.parts.reactions?.(message);
    if (reactions) extras.append(reactions);
    li.querySelector(".actions")?.remove();
    const actions = !deleted && !pending && this.parts.actions?.(message);
    if (actions) li.querySelector(".content").before(actions);
  }

  /** "(edited)" after the body, inside its last paragraph when it ends with one. */
  editedMark(iso) {
    const mark = el("span", { className: "edited", text: gettext("(edited)") });
    const date = new Date(iso);
    if (!Number.isNaN(date.getTime())) mark.title = date.toLocaleString();
    return mark;
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
