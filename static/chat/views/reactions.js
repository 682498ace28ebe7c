// Reactions under a message: a chip per emoji with its count (mine pressed,
// who reacted in its tooltip), and the picker of common emoji. Clicking a chip
// toggles my reaction; the server answers with the message's whole reaction
// state (`message.reactions`), live to everyone.

import { el, gettext, interpolate } from "../lib/util.js";

export const COMMON_EMOJI = ["👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👀", "🔥", "✅", "👎", "🚀"];

/** Who reacted, as a tooltip: "alice, bob reacted with 👍". */
function whoReacted(reaction, nameOf) {
  const names = (reaction.users || []).map((id) => nameOf(id));
  return interpolate(gettext("%(names)s reacted with %(emoji)s"), {
    names: names.join(", "),
    emoji: reaction.emoji,
  });
}

/** The chips of a message's reactions, or null when it has none. */
export function drawReactions(message, { me, nameOf }) {
  const reactions = message.deleted ? [] : message.reactions || [];
  if (!reactions.length) return null;
  const row = el("div", { className: "reactions", role: "group", "aria-label": gettext("Reactions") });
  for (const reaction of reactions) {
    const mine = (reaction.users || []).includes(me.id);
    const title = whoReacted(reaction, nameOf);
    row.append(
      el(
        "button",
        {
          type: "button",
          className: mine ? "reaction mine" : "reaction",
          "data-action": "toggle-reaction",
          "data-emoji": reaction.emoji,
          "aria-pressed": mine ? "true" : "false",
          "aria-label": `${reaction.emoji} ${reaction.count}: ${title}`,
          title,
        },
        el("span", { className: "emoji", "aria-hidden": "true", text: reaction.emoji }),
        el("span", { className: "count", "aria-hidden": "true", text: String(reaction.count) }),
      ),
    );
  }
  return row;
}

/** Whether I reacted to a message with this emoji. */
export function reactedWith(message, emoji, me) {
  return (message.reactions || []).some((r) => r.emoji === emoji && (r.users || []).includes(me.id));
}

/**
 * The picker: one popover at a time, inside the message it is for. Escape or
 * a click elsewhere closes it; a choice calls `onPick(id, emoji)`.
 */
export class ReactionPicker {
  constructor({ onPick }) {
    this.onPick = onPick;
    this.node = null;
    this.opener = null;
    document.addEventListener("click", (event) => {
      if (!this.node) return;
      if (this.node.contains(event.target) || this.opener?.contains(event.target)) return;
      this.close();
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.node) {
        this.close();
        this.opener?.focus();
      }
    });
  }

  get isOpen() {
    return this.node !== null;
  }

  toggle(li, opener) {
    if (this.node && this.node.parentNode === li) {
      this.close();
      return;
    }
    this.open(li, opener);
  }

  open(li, opener) {
    this.close();
    const id = Number(li.dataset.id);
    const node = el("div", {
      className: "reaction-picker",
      role: "dialog",
      "aria-label": gettext("Add a reaction"),
    });
    for (const emoji of COMMON_EMOJI) {
      const button = el("button", {
        type: "button",
        className: "pick",
        "aria-label": interpolate(gettext("React with %(emoji)s"), { emoji }),
        text: emoji,
      });
      button.addEventListener("click", () => {
        this.close();
        this.onPick(id, emoji);
      });
      node.append(button);
    }
    li.append(node);
    li.classList.add("picking");
    this.node = node;
    this.opener = opener;
    node.querySelector("button")?.focus();
  }

  close() {
    if (!this.node) return;
    this.node.parentNode?.classList.remove("picking");
    this.node.remove();
    this.node = null;
  }
}
