// Replies: the bar above the composer while I write one ("Replying to alice:
// first line", ×), and the quote of the parent in a reply, which scrolls to
// the parent and highlights it when clicked.

import { firstLine } from "../lib/changes.js";
import { el, gettext, interpolate } from "../lib/util.js";

export class ReplyBar {
  constructor(composer, { onChange = () => {} } = {}) {
    this.onChange = onChange;
    this.parentId = null;
    this.node = el("div", { className: "reply-bar", id: "reply-bar", hidden: true });
    composer.prepend(this.node);
  }

  get replyTo() {
    return this.parentId;
  }

  set(message) {
    this.parentId = message.id;
    const close = el("button", {
      type: "button",
      className: "link-button",
      "aria-label": gettext("Cancel the reply"),
      text: "×",
    });
    close.addEventListener("click", () => this.clear());
    this.node.replaceChildren(
      el("span", {
        className: "reply-to",
        text: interpolate(gettext("Replying to %(name)s: %(text)s"), {
          name: message.sender.username,
          text: firstLine(message.body, 80),
        }),
      }),
      " ",
      close,
    );
    this.node.hidden = false;
    this.onChange();
  }

  clear() {
    this.parentId = null;
    this.node.hidden = true;
    this.node.replaceChildren();
    this.onChange();
  }
}

/** The quote of a reply's parent (null: not loaded in the page yet). */
export function drawQuote(parent, parentId) {
  let text;
  if (!parent) text = gettext("an earlier message");
  else if (parent.deleted) text = gettext("This message was deleted");
  else text = firstLine(parent.body);
  return el(
    "button",
    {
      type: "button",
      className: "quote",
      "data-action": "show-parent",
      "data-parent": parentId,
      "aria-label": parent
        ? interpolate(gettext("In reply to %(name)s: %(text)s"), { name: parent.sender.username, text })
        : interpolate(gettext("In reply to %(text)s"), { text }),
    },
    el("span", { className: "quote-mark", "aria-hidden": "true", text: "↩" }),
    parent ? el("span", { className: "quote-sender", text: parent.sender.username }) : null,
    el("span", { className: "quote-text", text }),
  );
}
