// The ban and mute dialog: a duration from presets (1 hour, 1 day, 1 week,
// forever) and a reason. Used by the member list and the reports queue.

import { gettext, interpolate } from "../lib/util.js";

/**
 * Ask for how long to ban or mute `name`. Resolves to
 * `{ expires_in, reason }` (expires_in null: until lifted), or null if the
 * dialog was cancelled.
 */
export function askRestriction(kind, name) {
  const dialog = document.getElementById("restrict-dialog");
  if (!dialog) return Promise.resolve(null);
  const form = document.getElementById("restrict-form");
  const title = document.getElementById("restrict-title");
  const confirm = document.getElementById("restrict-confirm");
  const cancel = document.getElementById("restrict-cancel");
  const reason = document.getElementById("restrict-reason");
  const ban = kind === "ban";
  title.textContent = interpolate(ban ? gettext("Ban %(name)s") : gettext("Mute %(name)s"), { name });
  confirm.textContent = ban ? gettext("Ban now") : gettext("Mute now");
  dialog.dataset.kind = kind;
  form.reset();
  return new Promise((resolve) => {
    const done = (answer) => {
      form.removeEventListener("submit", onSubmit);
      cancel.removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onCancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const chosen = form.querySelector("input[name=duration]:checked")?.value || "";
      done({ expires_in: chosen ? Number(chosen) : null, reason: reason.value.trim() });
    };
    const onCancel = (event) => {
      event?.preventDefault();
      done(null);
    };
    form.addEventListener("submit", onSubmit);
    cancel.addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    form.querySelector("input[name=duration]:checked")?.focus();
  });
}
