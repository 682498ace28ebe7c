// The sidebar's lists of conversations, redrawn from the store (the same
// markup as templates/chat/_conversations.html).

import { avatar, el, gettext, ngettext, setListTime } from "../lib/util.js";

function badge(count, muted) {
  if (!count) return null;
  return el(
    "span",
    { className: muted ? "badge muted" : "badge", "data-unread": count },
    String(count),
    el("span", {
      className: "visually-hidden",
      text: ` ${ngettext("unread", "unread", count)}`,
    }),
  );
}

/** "@2" beside the unread count: messages not read yet that mention me. */
function mentionBadge(count) {
  if (!count) return null;
  return el(
    "span",
    { className: "badge mention", "data-mentions": count },
    `@${count}`,
    el("span", {
      className: "visually-hidden",
      text: ` ${ngettext("mention", "mentions", count)}`,
    }),
  );
}

function item(conversation, { current, muted }) {
  const link = el("a", { href: conversation.href, "aria-current": current ? "page" : null });
  if (conversation.kind === "direct") link.append(avatar(conversation.user, "small"));
  else link.append(el("span", { className: "room-icon", "aria-hidden": "true", text: "#" }));
  link.append(el("span", { className: "name", text: conversation.name }));
  // A second line: private, muted, the last activity.
  const sub = el("span", { className: "sub" });
  if (conversation.private) sub.append(el("span", { className: "tag", text: gettext("private") }), " ");
  if (muted) sub.append(el("span", { className: "tag muted-tag", text: gettext("muted") }), " ");
  if (conversation.lastAt) {
    const when = el("time", { className: "when list-when" });
    setListTime(when, new Date(conversation.lastAt));
    sub.append(when);
  }
  link.append(sub);
  const mentions = mentionBadge(conversation.mentions);
  if (mentions) link.append(" ", mentions);
  const count = badge(conversation.unread, muted);
  if (count) link.append(" ", count);
  return el("li", { "data-key": conversation.key, className: muted ? "muted" : null }, link);
}

function fill(list, items) {
  if (!list) return;
  if (items.length === 0) {
    list.replaceChildren(el("li", { className: "empty", text: list.dataset.empty }));
  } else {
    list.replaceChildren(...items);
  }
}

export function bindSidebar(store, currentKey) {
  const draw = () => {
    if (!store.loaded) return;
    const options = (c) => ({ current: c.key === currentKey, muted: store.isMuted(c.key) });
    fill(document.getElementById("room-list"), store.rooms.map((c) => item(c, options(c))));
    fill(document.getElementById("direct-list"), store.directs.map((c) => item(c, options(c))));
  };
  store.subscribe(draw);
}
