// The messages of one conversation as they change: each message's current
// state (body, edited, deleted, reactions, reply, mentions), the change frames
// applied to it live and after a `sync`, and my actions on it (react, reply,
// edit, delete), sent over HTTP (PATCH/DELETE /api/messages/<id>/, PUT/DELETE
// reactions/<emoji>/): the answer, or the live frame, whichever comes first,
// draws the new state, and every page that shows the message gets the frame.

import { applyChange, withState } from "../lib/changes.js";
import { gettext, sendJson } from "../lib/util.js";
import { confirmDeletion, drawActions, showActionError, withinEditWindow } from "./actions.js";
import { MessageEditor } from "./editor.js";
import { markMentions } from "./mentions.js";
import { ReactionPicker, drawReactions, reactedWith } from "./reactions.js";
import { drawQuote } from "./reply.js";
import { openReportBox } from "./report-box.js";

const ERROR_TEXT = {
  edit_window: () => gettext("Too late to edit this message."),
  forbidden: () => gettext("You cannot change this message."),
  not_found: () => gettext("This message no longer exists."),
  invalid: () => gettext("The server refused it."),
  empty: () => gettext("Write something first."),
  too_long: () => gettext("Too long: at most 4,000 characters."),
  muted: () => gettext("You are muted in this room."),
};

function errorText(error) {
  if (error.status === undefined) return gettext("Not sent: the connection is down.");
  return (ERROR_TEXT[error.code] || ERROR_TEXT.invalid)();
}

export class MessageChanges {
  constructor(view, { moderator = false, editWindow = 0 } = {}) {
    this.view = view;
    this.me = view.me;
    this.moderator = moderator;
    this.editWindow = editWindow;
    this.state = new Map(); // message id -> the message as it is now
    this.people = new Map([[view.me.id, view.me.username]]); // user id -> username
    this.picker = new ReactionPicker({ onPick: (id, emoji) => this.react(id, emoji, true) });
    this.editor = new MessageEditor({
      onSave: (id, body) => this.edit(id, body),
      onClose: (id) => this.redraw(id),
    });
  }

  /** What views/messages.js draws in a message from its state. */
  parts() {
    return {
      quote: (message) => drawQuote(this.state.get(message.reply_to), message.reply_to),
      reactions: (message) =>
        drawReactions(message, { me: this.me, nameOf: (id) => this.nameOf(id) }),
      actions: (message) =>
        message.id === undefined
          ? null
          : drawActions(message, {
              me: this.me,
              moderator: this.moderator,
              editWindow: this.editWindow,
            }),
      markBody: (fragment, message) =>
        markMentions(fragment, {
          known: (name) => this.knows(name),
          me: this.me,
          mentionsMe: (message.mentions || []).includes(this.me.id),
        }),
    };
  }

  // --- people

  notePerson(user) {
    if (user && typeof user.id === "number") this.people.set(user.id, user.username);
  }

  nameOf(id) {
    return this.people.get(id) || gettext("someone");
  }

  knows(name) {
    if (name === this.view.to) return true;
    for (const known of this.people.values()) if (known === name) return true;
    return false;
  }

  /** Who may be @-mentioned here: the members (a direct conversation's other person). */
  names() {
    const names = new Set(this.people.values());
    if (this.view.to) names.add(this.view.to);
    names.delete(this.me.username);
    return [...names];
  }

  // --- state

  /** A stored message as it is now (history, sync, live, or my acknowledged one). */
  remember(message) {
    const known = this.state.get(message.id);
    const next = withState({ ...known, ...message });
    if (known?.changeId !== undefined) next.changeId = known.changeId;
    this.state.set(message.id, next);
    this.notePerson(message.sender);
    this.notePerson(message.recipient);
    return next;
  }

  /** A message frame for a message the page has: redraw it if its state moved on. */
  refresh(message) {
    const known = this.state.get(message.id);
    const changed =
      !known ||
      known.body !== message.body ||
      known.edited_at !== message.edited_at ||
      known.deleted !== message.deleted ||
      JSON.stringify(known.reactions) !== JSON.stringify(message.reactions || []);
    this.remember(message);
    if (changed) this.redraw(message.id);
  }

  /** A message.edited / .deleted / .reactions frame (live or from a sync). */
  apply(frame) {
    const known = this.state.get(frame.id);
    if (!known) return; // not in this page (another conversation, or not loaded)
    const next = applyChange(known, frame);
    if (!next) return;
    this.state.set(frame.id, next);
    if (frame.type === "message.deleted") {
      if (this.editor.isEditing(frame.id)) this.editor.cancel();
      if (this.view.replyBar?.replyTo === frame.id) this.view.replyBar.clear();
    }
    this.redraw(frame.id);
    const strangers = next.reactions.some((r) => (r.users || []).some((id) => !this.people.has(id)));
    // Someone the page has not met yet (joined since it loaded): ask who.
    if (strangers && this.view.room) this.view.loadMembers().then(() => this.redraw(frame.id));
  }

  redraw(id) {
    const li = this.view.byId.get(id);
    const message = this.state.get(id);
    if (li && message && !this.editor.isEditing(id)) this.view.messages.fill(li, message);
    // Replies quote it: their quotes follow.
    for (const reply of this.view.messages.list.querySelectorAll(`li.message[data-reply-to="${id}"]`)) {
      const replyId = Number(reply.dataset.id);
      const replyMessage = this.state.get(replyId);
      if (replyMessage && !this.editor.isEditing(replyId)) this.view.messages.fill(reply, replyMessage);
    }
  }

  /** The state an answer carries (the PATCH's message, the reactions PUT's list). */
  settle(id, patch) {
    const known = this.state.get(id);
    if (!known) return;
    this.state.set(id, { ...known, ...patch });
    this.redraw(id);
  }

  // --- my actions

  bind(list) {
    list.addEventListener("click", (event) => {
      const button = event.target.closest("[data-action]");
      const li = button?.closest("li.message[data-id]");
      if (!button || !li) return;
      const id = Number(li.dataset.id);
      const message = this.state.get(id);
      if (!message) return;
      switch (button.dataset.action) {
        case "react":
          this.picker.toggle(li, button);
          break;
        case "toggle-reaction": {
          const emoji = button.dataset.emoji;
          this.react(id, emoji, !reactedWith(message, emoji, this.me));
          break;
        }
        case "reply":
          this.view.replyBar.set(message);
          document.getElementById("message-body").focus();
          break;
        case "edit":
          this.startEditing(id);
          break;
        case "delete":
          confirmDeletion(li, { onConfirm: () => this.remove(id) });
          break;
        case "report":
          openReportBox(li, id);
          break;
        case "show-parent":
          this.view.showMessage(Number(button.dataset.parent));
          break;
        default:
          break;
      }
    });
  }

  startEditing(id) {
    const li = this.view.byId.get(id);
    const message = this.state.get(id);
    if (li && message && !message.deleted) this.editor.open(li, message);
  }

  /** The Up key on an empty composer: my newest message I may still edit. */
  editLast() {
    const mine = [...this.state.values()]
      .filter((m) => m.sender.id === this.me.id && !m.deleted && this.view.byId.has(m.id))
      .filter((m) => withinEditWindow(m, this.editWindow))
      .sort((a, b) => b.id - a.id);
    if (!mine.length) return false;
    this.startEditing(mine[0].id);
    return true;
  }

  async edit(id, body) {
    if (!body.trim()) throw { text: ERROR_TEXT.empty() };
    try {
      const message = await sendJson("PATCH", `/api/messages/${id}/`, { body });
      if (message && !this.isOlder(id, message)) this.settle(id, { body: message.body, edited_at: message.edited_at });
    } catch (error) {
      throw { text: errorText(error) };
    }
  }

  /** An answer that came after a newer frame (its change is already shown). */
  isOlder(id, message) {
    const known = this.state.get(id);
    return !known || known.deleted || (known.edited_at && message.edited_at && known.edited_at > message.edited_at);
  }

  async remove(id) {
    try {
      await sendJson("DELETE", `/api/messages/${id}/`);
      this.settle(id, { deleted: true, body: "", reactions: [] });
    } catch (error) {
      const li = this.view.byId.get(id);
      if (li) showActionError(li, errorText(error));
    }
  }

  async react(id, emoji, add) {
    const url = `/api/messages/${id}/reactions/${encodeURIComponent(emoji)}/`;
    try {
      await sendJson(add ? "PUT" : "DELETE", url);
      // The state comes with the live `message.reactions` frame, in change order.
    } catch (error) {
      const li = this.view.byId.get(id);
      if (li) showActionError(li, errorText(error));
    }
  }
}
