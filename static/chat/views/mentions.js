// @mentions in the pages: completion of members' names in the composer (type
// @, the list narrows as you type, Up/Down move, Tab or Enter picks, Escape
// closes), and mentions in a rendered body marked, those of me highlighted.

import { el, gettext } from "../lib/util.js";

const EVERYONE = ["all", "room"];
const MAX_SHOWN = 8;
// What a username may hold (Django's default validator): letters, digits, @.+-_
const NAME = "[\\p{L}\\p{N}_.+@-]";
const TYPED = new RegExp(`(?:^|\\s)@(${NAME}*)$`, "u");
const MENTION = new RegExp(`(^|[^\\p{L}\\p{N}_])@(${NAME}+)`, "gu");

/**
 * The completion list under a textarea. `names()` gives the usernames that
 * may be mentioned here (mine left out by the caller if it wishes).
 */
export class MentionCompleter {
  constructor(box, { names, room }) {
    this.box = box;
    this.names = names;
    this.room = room; // @all / @room only make sense in a room
    this.items = [];
    this.active = 0;
    this.list = el("ul", {
      className: "mention-list",
      id: `${box.id}-mentions`,
      role: "listbox",
      "aria-label": gettext("Members to mention"),
      hidden: true,
    });
    box.after(this.list);
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-controls", this.list.id);
    box.addEventListener("input", () => this.update());
    box.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    this.list.addEventListener("mousedown", (event) => {
      const option = event.target.closest("li[data-name]");
      if (!option) return;
      event.preventDefault(); // keep the focus in the box
      this.pick(option.dataset.name);
    });
  }

  get isOpen() {
    return !this.list.hidden;
  }

  /** The @word being typed before the caret, or null. */
  typed() {
    const before = this.box.value.slice(0, this.box.selectionStart);
    const match = before.match(TYPED);
    return match ? match[1] : null;
  }

  update() {
    const query = this.typed();
    if (query === null) {
      this.close();
      return;
    }
    const lower = query.toLowerCase();
    const candidates = [...this.names(), ...(this.room ? EVERYONE : [])];
    this.items = [...new Set(candidates)]
      .filter((name) => name.toLowerCase().startsWith(lower))
      .sort((a, b) => a.localeCompare(b))
      .slice(0, MAX_SHOWN);
    if (!this.items.length) {
      this.close();
      return;
    }
    this.active = Math.min(this.active, this.items.length - 1);
    this.draw();
  }

  draw() {
    this.list.replaceChildren(
      ...this.items.map((name, index) =>
        el(
          "li",
          {
            id: `${this.list.id}-${index}`,
            role: "option",
            "data-name": name,
            "aria-selected": index === this.active ? "true" : "false",
            className: index === this.active ? "active" : null,
          },
          `@${name}`,
          EVERYONE.includes(name)
            ? el("span", { className: "hint", text: ` ${gettext("everyone here")}` })
            : null,
        ),
      ),
    );
    this.list.hidden = false;
    this.box.setAttribute("aria-expanded", "true");
    this.box.setAttribute("aria-activedescendant", `${this.list.id}-${this.active}`);
  }

  close() {
    this.list.hidden = true;
    this.active = 0;
    this.box.setAttribute("aria-expanded", "false");
    this.box.removeAttribute("aria-activedescendant");
  }

  /** Handles the key if the list is open: true when it did. */
  handleKey(event) {
    if (!this.isOpen || event.isComposing) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.items.length) % this.items.length;
      this.draw();
    } else if (event.key === "Tab" || event.key === "Enter") {
      this.pick(this.items[this.active]);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  /** Put `@name ` in place of the @word being typed. */
  pick(name) {
    const caret = this.box.selectionStart;
    const before = this.box.value.slice(0, caret);
    const after = this.box.value.slice(caret);
    const start = before.lastIndexOf("@");
    const inserted = `@${name} `;
    this.box.value = before.slice(0, start) + inserted + after.replace(/^\S*\s?/, "");
    const at = start + inserted.length;
    this.box.setSelectionRange(at, at);
    this.close();
    this.box.dispatchEvent(new Event("input"));
  }
}

/**
 * Mark the @names of a rendered body that name someone who may be mentioned
 * (or everyone): `span.mention`, with `.me` where it is me. Code and links
 * are left as they are.
 */
export function markMentions(fragment, { known, me, mentionsMe }) {
  const walker = document.createTreeWalker(fragment, NodeFilter.SHOW_TEXT);
  const texts = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement?.closest("code, pre, a")) continue;
    if (node.textContent.includes("@")) texts.push(node);
  }
  for (const node of texts) {
    const text = node.textContent;
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(MENTION)) {
      const name = match[2].replace(/[.]+$/, ""); // a sentence's full stop is not the name's
      const everyone = EVERYONE.includes(name.toLowerCase());
      if (!everyone && !known(name)) continue;
      const start = match.index + match[1].length;
      parts.push(text.slice(last, start));
      const isMe = everyone ? mentionsMe : name === me.username;
      parts.push(el("span", { className: isMe ? "mention me" : "mention", text: `@${name}` }));
      last = start + 1 + name.length;
    }
    if (!parts.length) continue;
    parts.push(text.slice(last));
    node.replaceWith(...parts);
  }
  return fragment;
}
