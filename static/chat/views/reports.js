// The reports queue of a room (its moderators): each open report resolved in
// place through the API (dismiss, delete the message, mute or ban its sender,
// the last two through the duration dialog). Every open report of the same
// message goes with it, as the server resolves them together.

import { gettext, sendJson } from "../lib/util.js";
import { askRestriction } from "./restrict-dialog.js";

export function bindReports(data) {
  const list = document.getElementById("report-queue");
  if (!list) return;
  const error = document.getElementById("reports-error");
  const empty = document.getElementById("reports-empty");
  const base = `/api/rooms/${encodeURIComponent(data.room)}/reports`;

  list.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-action]");
    const item = button?.closest("li.report");
    if (!item) return;
    const action = button.dataset.action;
    const body = { action };
    if (action === "mute" || action === "ban") {
      const answer = await askRestriction(action, item.dataset.sender);
      if (!answer) return;
      Object.assign(body, answer);
    }
    error.textContent = "";
    for (const control of item.querySelectorAll("button")) control.disabled = true;
    try {
      const resolved = await sendJson("POST", `${base}/${item.dataset.id}/resolve/`, body);
      const messageId = String(resolved.message_id);
      for (const other of list.querySelectorAll("li.report")) {
        if (other === item || other.dataset.messageId === messageId) other.remove();
      }
      empty.hidden = list.querySelector("li.report") !== null;
    } catch (failure) {
      error.textContent = failure.detail || gettext("The server refused it.");
      for (const control of item.querySelectorAll("button")) control.disabled = false;
    }
  });
}
