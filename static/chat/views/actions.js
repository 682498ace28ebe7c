// What I can do with a message, shown on hover or focus: react, reply, and on
// my own (or, for a room's owners, moderators or staff, anyone's) edit and
// delete; on someone else's in a room, report. Each
// button names its action in `data-action`; views/conversation.js listens on
// the list once. Deleting asks first, in place.

import { el, gettext } from "../lib/util.js";

function action(name, label, icon) {
  return el(
    "button",
    { type: "button", className: `action ${name}`, "data-action": name, "aria-label": label, title: label },
    el("span", { "aria-hidden": "true", text: icon }),
  );
}

/** Whether a message is still within the edit window (0: no limit). */
export function withinEditWindow(message, windowSeconds, now = Date.now()) {
  if (!windowSeconds) return true;
  const at = new Date(message.created_at).getTime();
  return Number.isNaN(at) || now - at < windowSeconds * 1000;
}

export function drawActions(message, { me, moderator, editWindow }) {
  const mine = message.sender.id === me.id;
  const bar = el("div", {
    className: "actions",
    role: "toolbar",
    "aria-label": gettext("Message actions"),
  });
  bar.append(action("react", gettext("Add a reaction"), "☺+"));
  bar.append(action("reply", gettext("Reply"), "↩"));
  if (mine && withinEditWindow(message, editWindow)) bar.append(action("edit", gettext("Edit"), "✎"));
  if (mine || moderator) bar.append(action("delete", gettext("Delete"), "🗑"));
  if (!mine && message.room && !message.deleted) bar.append(action("report", gettext("Report"), "⚑"));
  return bar;
}

/** "Delete this message for everyone?" in the message, until answered. */
export function confirmDeletion(li, { onConfirm }) {
  li.querySelector(".confirm-delete")?.remove();
  const cancel = el("button", { type: "button", text: gettext("Cancel") });
  const confirm = el("button", { type: "button", className: "danger", text: gettext("Delete") });
  const box = el(
    "div",
    { className: "confirm-delete", role: "alertdialog", "aria-label": gettext("Delete this message?") },
    el("span", { text: gettext("Delete this message for everyone?") }),
    " ",
    confirm,
    " ",
    cancel,
  );
  const close = () => box.remove();
  cancel.addEventListener("click", close);
  confirm.addEventListener("click", () => {
    close();
    onConfirm();
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.stopPropagation();
      close();
    }
  });
  li.querySelector(".content").append(box);
  cancel.focus();
}

/** A short notice under a message when an action failed. */
export function showActionError(li, text) {
  li.querySelector(".action-error")?.remove();
  li.querySelector(".content").append(el("p", { className: "action-error", role: "alert", text }));
}
